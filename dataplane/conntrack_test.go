package dataplane

import (
	"net/netip"
	"testing"

	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

func udpFlow(proto uint8, dst, ep string) *conntrack.Flow {
	d, e := netip.MustParseAddrPort(dst), netip.MustParseAddrPort(ep)
	client := netip.MustParseAddrPort("10.244.9.9:5353")
	var f conntrack.Flow
	f.TupleOrig.IP = conntrack.IPTuple{SourceAddress: client.Addr(), DestinationAddress: d.Addr()}
	f.TupleOrig.Proto = conntrack.ProtoTuple{Protocol: proto, SourcePort: client.Port(), DestinationPort: d.Port()}
	f.TupleReply.IP = conntrack.IPTuple{SourceAddress: e.Addr(), DestinationAddress: client.Addr()}
	f.TupleReply.Proto = conntrack.ProtoTuple{Protocol: proto, SourcePort: e.Port(), DestinationPort: client.Port()}
	return &f
}

func TestStaleUDP(t *testing.T) {
	eps := func(as ...string) []Endpoint {
		var out []Endpoint
		for _, a := range as {
			out = append(out, Endpoint{Addr: netip.MustParseAddrPort(a)})
		}
		return out
	}
	old := ServicePort{Namespace: "ns", Name: "dns", Protocol: UDP, Port: 53, NodePort: 30053,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Endpoints:  eps("10.244.1.1:5353", "10.244.1.2:5353")}
	fewer := cloneSP(&old)
	fewer.Endpoints = fewer.Endpoints[1:]
	moved := cloneSP(&old)
	moved.ClusterIPs = []netip.Addr{netip.MustParseAddr("10.96.0.11")}
	tcp := cloneSP(&old)
	tcp.Protocol = TCP
	const udp, tcpProto = unix.IPPROTO_UDP, unix.IPPROTO_TCP
	tests := []struct {
		name     string
		old, now *ServicePort
		flow     *conntrack.Flow
		want     bool
	}{
		{"removed endpoint via ClusterIP", &old, &fewer, udpFlow(udp, "10.96.0.10:53", "10.244.1.1:5353"), true},
		{"removed endpoint via NodePort", &old, &fewer, udpFlow(udp, "192.168.1.5:30053", "10.244.1.1:5353"), true},
		{"kept endpoint", &old, &fewer, udpFlow(udp, "10.96.0.10:53", "10.244.1.2:5353"), false},
		{"TCP flow to a removed endpoint", &old, &fewer, udpFlow(tcpProto, "10.96.0.10:53", "10.244.1.1:5353"), false},
		{"not DNATed", &old, &fewer, udpFlow(udp, "10.244.1.1:5353", "10.244.1.1:5353"), false},
		{"other service port", &old, &fewer, udpFlow(udp, "10.96.0.10:54", "10.244.1.1:5353"), false},
		{"ClusterIP gone, endpoint kept", &old, &moved, udpFlow(udp, "10.96.0.10:53", "10.244.1.2:5353"), true},
		{"service gone", &old, nil, udpFlow(udp, "10.96.0.10:53", "10.244.1.2:5353"), true},
		{"nothing changed", &old, &old, udpFlow(udp, "10.96.0.10:53", "10.244.1.1:5353"), false},
		{"TCP service port changed", &tcp, nil, udpFlow(udp, "10.96.0.10:53", "10.244.1.1:5353"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stale := map[flowKey]bool{}
			staleUDP(stale, tc.old, tc.now)
			if got := isStale(stale, tc.flow); got != tc.want {
				t.Errorf("isStale(%v → %v) = %v; want %v (stale %v)", tc.flow.TupleOrig, tc.flow.TupleReply, got, tc.want, stale)
			}
		})
	}
}
