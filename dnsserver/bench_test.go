package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
)

// benchConn is a client UDP socket to addr with a packed question ready.
type benchConn struct {
	conn *net.UDPConn
	q    []byte
	buf  []byte
}

func dialBench(b *testing.B, addr, name string) *benchConn {
	b.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	q, err := m.Pack()
	if err != nil {
		b.Fatal(err)
	}
	return &benchConn{conn: conn.(*net.UDPConn), q: q, buf: make([]byte, 4096)}
}

// ask sends the question and waits for an answer with rcode NOERROR.
func (c *benchConn) ask(b *testing.B) {
	if _, err := c.conn.Write(c.q); err != nil {
		b.Fatal(err)
	}
	n, err := c.conn.Read(c.buf)
	if err != nil {
		b.Fatal(err)
	}
	if n < 12 || c.buf[3]&0xf != 0 {
		b.Fatalf("answer of %d bytes, rcode %d", n, c.buf[3]&0xf)
	}
}

// BenchmarkServeUDP measures answers per second from the catalog over
// loopback UDP, one client and 16 clients in parallel.
func BenchmarkServeUDP(b *testing.B) {
	s, addr := start(b, catalog(b, api), Config{NoForward: true})
	s.SetReady()
	b.Run("serial", func(b *testing.B) {
		c := dialBench(b, addr, "api.prod.svc.cluster.local.")
		defer c.conn.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			c.ask(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
	})
	b.Run("parallel16", func(b *testing.B) {
		b.SetParallelism(8) // 16 clients on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := dialBench(b, addr, "api.prod.svc.cluster.local.")
			defer c.conn.Close()
			for pb.Next() {
				c.ask(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
	})
}

// BenchmarkForward compares a question asked of the upstream directly with
// the same question forwarded through the server (cache off): the
// difference is what forwarding adds.
func BenchmarkForward(b *testing.B) {
	up := startUpstream(b, answerA("192.0.2.1"))
	s, addr := start(b, catalog(b), Config{Upstreams: []netip.AddrPort{up.addr}, CacheSize: -1})
	s.SetReady()
	for _, bb := range []struct{ name, addr string }{{"upstream-direct", up.addr.String()}, {"forwarded", addr}} {
		b.Run(bb.name, func(b *testing.B) {
			c := dialBench(b, bb.addr, "example.com.")
			defer c.conn.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c.ask(b)
			}
		})
	}
}

// BenchmarkCacheHit measures answering a cached forwarded question in the
// handler, without sockets.
func BenchmarkCacheHit(b *testing.B) {
	up := startUpstream(b, answerA("192.0.2.1"))
	s, err := New(catalog(b), Config{Upstreams: []netip.AddrPort{up.addr}})
	if err != nil {
		b.Fatal(err)
	}
	s.SetReady()
	req := new(dns.Msg)
	req.SetQuestion("example.com.", dns.TypeA)
	w := &writer{remote: udpClient}
	s.handle(context.Background(), w, req) // fills the cache
	if n := up.udp.Load(); n != 1 {
		b.Fatalf("upstream saw %d queries; want 1", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.handle(context.Background(), w, req)
	}
	b.StopTimer()
	if n := up.udp.Load(); n != 1 || len(w.msg.Answer) != 1 {
		b.Fatalf("upstream saw %d queries, answer %v; want every answer from the cache", n, w.msg.Answer)
	}
}

// BenchmarkAnswer measures answering from the catalog in the handler,
// without sockets, at 10,000 services.
func BenchmarkAnswer(b *testing.B) {
	cat := dnsname.NewCatalog(dnsname.CatalogOptions{})
	svcs := make([]dnsname.Service, 10_000)
	for i := range svcs {
		svcs[i] = dnsname.Service{Namespace: "prod", Name: "svc" + strconv.Itoa(i),
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})}}
	}
	if err := cat.Replace(svcs); err != nil {
		b.Fatal(err)
	}
	s, err := New(cat, Config{NoForward: true})
	if err != nil {
		b.Fatal(err)
	}
	s.SetReady()
	req := new(dns.Msg)
	req.SetQuestion("svc4242.prod.svc.cluster.local.", dns.TypeA)
	w := &writer{remote: udpClient}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.handle(context.Background(), w, req)
	}
	if len(w.msg.Answer) != 1 {
		b.Fatalf("answer %v; want one A record", w.msg.Answer)
	}
}
