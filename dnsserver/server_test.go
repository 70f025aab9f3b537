package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
)

var api = dnsname.Service{Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10"),
	Ports: []dnsname.Port{{Name: "http", Port: 80}}}

// Answers from the catalog, checked over the wire with a real client on
// UDP and TCP: records, NXDOMAIN and NODATA with the zone's SOA (as
// CoreDNS 1.15 sends them), the question's letter case echoed (0x20).
func TestServeCatalog(t *testing.T) {
	kubeDNS := dnsname.Service{Namespace: "kube-system", Name: "kube-dns", ClusterIPs: addrs("10.96.0.53"),
		Ports: []dnsname.Port{{Name: "dns", Protocol: dnsname.UDP, Port: 53}, {Name: "dns-tcp", Protocol: dnsname.TCP, Port: 53}}}
	s, addr := start(t, catalog(t, api, kubeDNS), Config{NoForward: true})
	s.SetReady()
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range []struct {
			name  string
			qname string
			qtype uint16
			rcode int
			ans   []string
			soa   string
		}{
			{"A", "api.prod.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"api.prod.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}, ""},
			{"0x20 case echoed", "ApI.pROD.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"ApI.pROD.svc.cluster.local.\t5\tIN\tA\t10.96.0.10"}, ""},
			{"PTR", "10.0.96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, []string{"10.0.96.10.in-addr.arpa.\t5\tIN\tPTR\tapi.prod.svc.cluster.local."}, ""},
			{"NXDOMAIN", "nope.prod.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, "cluster.local."},
			{"NODATA", "api.prod.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil, "cluster.local."},
			{"empty non-terminal (RFC 8020)", "96.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, nil, "in-addr.arpa."},
			{"SRV protocol node (RFC 8020)", "_tcp.api.prod.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, nil, "cluster.local."},
			{"zone SOA", "cluster.local.", dns.TypeSOA, dns.RcodeSuccess, []string{"cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}, ""},
			{"one SRV record for 53 on UDP and TCP (RFC 2181 5.2)", "kube-dns.kube-system.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
				[]string{"kube-dns.kube-system.svc.cluster.local.\t5\tIN\tSRV\t0 50 53 kube-dns.kube-system.svc.cluster.local."}, ""},
			{"ANY is one RRset (RFC 8482)", "kube-dns.kube-system.svc.cluster.local.", dns.TypeANY, dns.RcodeSuccess,
				[]string{"kube-dns.kube-system.svc.cluster.local.\t5\tIN\tA\t10.96.0.53"}, ""},
			{"pod names disabled (RFC 8020)", "default.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, "cluster.local."},
			{"not ours without forwarding", "example.com.", dns.TypeA, dns.RcodeRefused, nil, ""},
			{"unknown reverse without forwarding", "8.8.8.8.in-addr.arpa.", dns.TypePTR, dns.RcodeRefused, nil, ""},
		} {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := query(t, network, addr, tt.qname, tt.qtype, 0)
				if r.Rcode != tt.rcode {
					t.Fatalf("rcode = %s; want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rr.String())
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.ans) {
					t.Errorf("answer = %q; want %q", got, tt.ans)
				}
				if r.Question[0].Name != tt.qname {
					t.Errorf("question = %q; want the query's spelling %q", r.Question[0].Name, tt.qname)
				}
				if tt.soa != "" && (len(r.Ns) != 1 || r.Ns[0].Header().Name != tt.soa) {
					t.Errorf("authority = %v; want the SOA of %s", r.Ns, tt.soa)
				}
			})
		}
	}
}

// SERVFAIL until the first sync, as a CoreDNS that has not synced with the
// API server: a client retries instead of caching NXDOMAIN.
func TestServFailUntilReady(t *testing.T) {
	s, addr := start(t, catalog(t, api), Config{NoForward: true})
	for _, name := range []string{"api.prod.svc.cluster.local.", "10.0.96.10.in-addr.arpa."} {
		if r := query(t, "udp", addr, name, dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("before SetReady: %s rcode = %s; want SERVFAIL", name, dns.RcodeToString[r.Rcode])
		}
	}
	s.SetReady()
	if r := query(t, "udp", addr, "api.prod.svc.cluster.local.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("after SetReady: %v; want one A record", r)
	}
}

// headless returns a headless service with n ready endpoints.
func headless(n int) dnsname.Service {
	s := dnsname.Service{Namespace: "prod", Name: "big", Type: dnsname.Headless, Ports: []dnsname.Port{{Name: "http", Port: 80}}}
	for i := range n {
		s.Endpoints = append(s.Endpoints, dnsname.Endpoint{Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})}, Ready: true})
	}
	return s
}

// Issue 13: a 58-byte query with EDNS0 buffer 65,535 drew a 43–64 KB
// answer. UDP answers are capped at 1,232 bytes (DNS Flag Day 2020) or the
// client's smaller size, 512 without EDNS0 (RFC 1035 §4.2.1), and cut with
// TC so the client retries over TCP, where the whole answer comes.
func TestUDPAnswerCap(t *testing.T) {
	s, addr := start(t, catalog(t, headless(1000)), Config{NoForward: true})
	s.SetReady()
	for _, tt := range []struct {
		name string
		edns uint16
		max  int
	}{
		{"EDNS0 65535 gets the Flag Day cap", 65535, 1232},
		{"smaller EDNS0 size honoured", 700, 700},
		{"EDNS0 under 512 means 512", 100, 512},
		{"no EDNS0", 0, 512},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion("big.prod.svc.cluster.local.", dns.TypeA)
			if tt.edns > 0 {
				m.SetEdns0(tt.edns, false)
			}
			b := rawUDP(t, addr, m)
			if len(b) > tt.max {
				t.Errorf("answer is %d bytes; want at most %d", len(b), tt.max)
			}
			r := new(dns.Msg)
			if err := r.Unpack(b); err != nil {
				t.Fatal(err)
			}
			if !r.Truncated || len(r.Answer) == 0 {
				t.Errorf("TC = %v with %d answers; want TC and as many records as fit", r.Truncated, len(r.Answer))
			}
			if (tt.edns > 0) != (r.IsEdns0() != nil) {
				t.Errorf("answer EDNS0 = %v; want it exactly when the query had it", r.IsEdns0())
			}
		})
	}
	if r := query(t, "tcp", addr, "big.prod.svc.cluster.local.", dns.TypeA, 0); r.Truncated || len(r.Answer) != 1000 {
		t.Errorf("TCP: TC = %v, %d answers; want all 1000", r.Truncated, len(r.Answer))
	}
}

// Issue 13: over TCP an answer over 64 KB was never sent (the client timed
// out). It is cut to what fits, with TC, and logged, as CoreDNS does.
func TestTCPAnswerOver64K(t *testing.T) {
	var log logBuf
	s, addr := start(t, catalog(t, headless(5000)), Config{NoForward: true, Logger: log.logger()})
	s.SetReady()
	r := query(t, "tcp", addr, "big.prod.svc.cluster.local.", dns.TypeSRV, 0)
	if !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= 5000 {
		t.Errorf("TC = %v, %d answers; want TC and the records that fit in 64 KiB", r.Truncated, len(r.Answer))
	}
	r.Compress = true // as it was sent
	if b, err := r.Pack(); err != nil || len(b) > dns.MaxMsgSize {
		t.Errorf("answer packs to %d bytes, %v; want at most 65535", len(b), err)
	}
	if !strings.Contains(log.String(), "truncated") || !strings.Contains(log.String(), "big.prod.svc.cluster.local.") {
		t.Errorf("log = %q; want the truncation logged with the name", log.String())
	}
}

func TestFormErrAndClass(t *testing.T) {
	s, addr := start(t, catalog(t, api), Config{NoForward: true})
	s.SetReady()
	m := new(dns.Msg)
	m.SetQuestion("api.prod.svc.cluster.local.", dns.TypeA)
	m.Question[0].Qclass = dns.ClassCHAOS
	r := new(dns.Msg)
	if err := r.Unpack(rawUDP(t, addr, m)); err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS class: rcode %s; want REFUSED", dns.RcodeToString[r.Rcode])
	}
	m.Question[0].Qclass = dns.ClassINET
	m.Question = append(m.Question, m.Question[0])
	if err := r.Unpack(rawUDP(t, addr, m)); err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: rcode %s; want FORMERR", dns.RcodeToString[r.Rcode])
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil catalog) = nil error; want an error")
	}
	if _, err := New(catalog(t), Config{ResolvConf: t.TempDir() + "/missing"}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("New with a missing resolv.conf = %v; want an error naming it", err)
	}
}

// Issue 13: a query flood dropped answers at the socket's default receive
// buffer. The buffer is sized as configured, past net.core.rmem_max for a
// privileged process: asked for more than twice rmem_max (what SO_RCVBUF
// alone could reach, Linux reporting it doubled), it gets it.
func TestReadBufferSized(t *testing.T) {
	if os.Geteuid() != 0 && os.Getenv("CI") == "" {
		t.Skip("needs root (CAP_NET_ADMIN) for SO_RCVBUFFORCE")
	}
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := 2*rmemMax + 1<<20
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startOn(t, pc, l, catalog(t), Config{NoForward: true, ReadBuffer: want})
	query(t, "udp", pc.LocalAddr().String(), "example.com.", dns.TypeA, 0) // Serve has sized it
	raw, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	raw.Control(func(fd uintptr) { got, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
	if err != nil || got < want {
		t.Errorf("SO_RCVBUF = %d, %v; want at least %d", got, err, want)
	}
}
