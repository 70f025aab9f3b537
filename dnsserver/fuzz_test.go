package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
)

// writer is a dns.ResponseWriter that keeps what it is given.
type writer struct {
	remote net.Addr
	msg    *dns.Msg
}

func (w *writer) LocalAddr() net.Addr         { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *writer) RemoteAddr() net.Addr        { return w.remote }
func (w *writer) WriteMsg(m *dns.Msg) error   { w.msg = m; return nil }
func (w *writer) Write(b []byte) (int, error) { return len(b), nil }
func (w *writer) Close() error                { return nil }
func (w *writer) TsigStatus() error           { return nil }
func (w *writer) TsigTimersOnly(bool)         {}
func (w *writer) Hijack()                     {}

var udpClient = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5353}

// FuzzHandle decodes arbitrary bytes as a query, as the server does with
// every packet, and checks the answer: never a panic, always one, and over
// UDP never larger than the query may get.
func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"api.prod.svc.cluster.local.", dns.TypeA, 0},
		{"big.prod.svc.cluster.local.", dns.TypeSRV, 65535},
		{"10.in-addr.arpa.", dns.TypePTR, 1232},
		{"example.com.", dns.TypeANY, 4096},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cat := dnsname.NewCatalog(dnsname.CatalogOptions{PodRecords: dnsname.PodsInsecure})
	big := headless(300)
	if err := cat.Replace([]dnsname.Service{api, big}); err != nil {
		f.Fatal(err)
	}
	s, err := New(cat, Config{NoForward: true})
	if err != nil {
		f.Fatal(err)
	}
	s.SetReady()
	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(dns.Msg)
		if req.Unpack(b) != nil || req.Response {
			return // the dns server drops these before the handler
		}
		w := &writer{remote: udpClient}
		s.handle(context.Background(), w, req)
		if w.msg == nil {
			t.Fatal("no answer written")
		}
		out, err := w.msg.Pack()
		if err != nil {
			t.Fatalf("answer does not pack: %v", err)
		}
		if limit := s.sizeFor(req, false); len(out) > limit {
			t.Fatalf("UDP answer of %d bytes; the query may get %d", len(out), limit)
		}
	})
}

// FuzzParseResolvConf checks that any resolv.conf yields valid, unique
// port-53 upstreams without IPv4-mapped addresses.
func FuzzParseResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 10.0.0.2\nsearch a.b\noptions ndots:5\n"))
	f.Add([]byte("nameserver fe80::1%eth0 # link-local\nnameserver ::ffff:1.2.3.4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ups := parseResolvConf(b)
		seen := map[netip.AddrPort]bool{}
		for _, u := range ups {
			if !u.IsValid() || u.Port() != 53 || u.Addr().Is4In6() || seen[u] {
				t.Fatalf("parseResolvConf(%q) = %v; bad or repeated %v", b, ups, u)
			}
			seen[u] = true
		}
	})
}
