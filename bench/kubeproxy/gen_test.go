package kubeproxy

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/dataplane"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The node both proxies program, as kube-proxy's server would see it:
// pods come from clusterCIDR, ClusterIPs from serviceCIDR, and NodePorts
// answer on the node's primary address only (kube-proxy's nftables default,
// --nodeport-addresses=primary, which its server expands to nodeIP/32).
var (
	nodeName    = "node-a"
	nodeIP      = netip.MustParseAddr("192.168.0.10")
	clusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
	serviceCIDR = netip.MustParsePrefix("10.96.0.0/12")

	nodeAddrs    = []netip.Addr{nodeIP}
	clusterCIDRs = []netip.Prefix{clusterCIDR}
	serviceCIDRs = []netip.Prefix{serviceCIDR}
)

// nodePortServices is how many services (the first ones) are of type
// NodePort; the rest are ClusterIP. dataplane's own benchmarks use the same
// split, so their figures compare with these.
const nodePortServices = 20000

// service is one generated Service with its one EndpointSlice: exactly what
// kube-proxy's informers would hand its handlers.
type service struct {
	svc   *v1.Service
	slice *discovery.EndpointSlice
}

// genServices returns n services with one TCP port each and eps ready
// endpoints on another node. Service i has ClusterIP 10.96.0.0 + i + 1 and,
// for i < nodePortServices, NodePort 30000 + i; its endpoints are
// 10.244.j.(i mod 250) for j < eps, on port 8000 + i mod 1000.
func genServices(n, eps int) []service {
	out := make([]service, n)
	for i := range out {
		name := fmt.Sprintf("svc-%d", i)
		ip := addrAdd(serviceCIDR.Addr(), uint32(i+1))
		svc := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name},
			Spec: v1.ServiceSpec{
				Type:                  v1.ServiceTypeClusterIP,
				ClusterIP:             ip.String(),
				ClusterIPs:            []string{ip.String()},
				IPFamilies:            []v1.IPFamily{v1.IPv4Protocol},
				SessionAffinity:       v1.ServiceAffinityNone,
				InternalTrafficPolicy: ptr.To(v1.ServiceInternalTrafficPolicyCluster),
				Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80,
					TargetPort: intstr.FromString("http")}},
			},
		}
		if i < nodePortServices {
			svc.Spec.Type = v1.ServiceTypeNodePort
			svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
			svc.Spec.Ports[0].NodePort = int32(30000 + i)
		}
		slice := &discovery.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name + "-x1",
				Labels: map[string]string{discovery.LabelServiceName: name}},
			AddressType: discovery.AddressTypeIPv4,
			Ports: []discovery.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(v1.ProtocolTCP),
				Port: ptr.To(int32(8000 + i%1000))}},
		}
		for j := range eps {
			slice.Endpoints = append(slice.Endpoints, readyEndpoint(
				netip.AddrFrom4([4]byte{10, 244, byte(j), byte(i % 250)})))
		}
		out[i] = service{svc: svc, slice: slice}
	}
	return out
}

func readyEndpoint(a netip.Addr) discovery.Endpoint {
	return discovery.Endpoint{
		Addresses: []string{a.String()},
		Conditions: discovery.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true),
			Terminating: ptr.To(false)},
		NodeName: ptr.To("node-b"),
	}
}

// withEndpointReplaced returns a copy of s's slice whose first endpoint is
// replaced by a pod at the k-th address of 10.245.0.0/16: one pod gone, one
// new, as when a Deployment replaces a pod.
func withEndpointReplaced(s *discovery.EndpointSlice, k int) *discovery.EndpointSlice {
	c := s.DeepCopy()
	c.Endpoints[0] = readyEndpoint(addrAdd(netip.MustParseAddr("10.245.0.0"), uint32(k%65000+1)))
	return c
}

// servicePort is what a svcnet node agent programs for s: the same
// frontends, and the ready endpoints of its slice on the slice's port (all
// of them, as the policies are Cluster).
func servicePort(s service) dataplane.ServicePort {
	p := s.svc.Spec.Ports[0]
	sp := dataplane.ServicePort{
		Namespace: s.svc.Namespace, Name: s.svc.Name, PortName: p.Name, Protocol: dataplane.TCP,
		ClusterIPs: []netip.Addr{netip.MustParseAddr(s.svc.Spec.ClusterIP)},
		Port:       uint16(p.Port), NodePort: uint16(p.NodePort),
	}
	port := uint16(*s.slice.Ports[0].Port)
	for _, ep := range s.slice.Endpoints {
		if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
			sp.Endpoints = append(sp.Endpoints, dataplane.Endpoint{
				Addr: netip.AddrPortFrom(netip.MustParseAddr(ep.Addresses[0]), port)})
		}
	}
	return sp
}

func servicePorts(svcs []service) []dataplane.ServicePort {
	out := make([]dataplane.ServicePort, len(svcs))
	for i, s := range svcs {
		out[i] = servicePort(s)
	}
	return out
}

// addrAdd returns the IPv4 address n past a.
func addrAdd(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
