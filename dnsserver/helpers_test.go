package dnsserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
	"go.uber.org/goleak"
)

// Serve's goroutines, and the miekg/dns servers' per-query goroutines,
// must all have ended when a test's server is stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf is a concurrency-safe log sink for asserting what was logged.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// start serves cat on a loopback port with cfg and stops the server when
// the test ends, failing it if Serve returns an error. It returns the
// server and its address (UDP and TCP).
func start(t testing.TB, cat *dnsname.Catalog, cfg Config, prep ...func(*Server)) (*Server, string) {
	t.Helper()
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, pc, l, cat, cfg, prep...), pc.LocalAddr().String()
}

func startOn(t testing.TB, pc net.PacketConn, l net.Listener, cat *dnsname.Catalog, cfg Config, prep ...func(*Server)) *Server {
	t.Helper()
	s, err := New(cat, cfg)
	if err != nil {
		pc.Close()
		l.Close()
		t.Fatal(err)
	}
	for _, f := range prep {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v; want nil after cancel", err)
		}
	})
	return s
}

// testUpstream is a resolver for forwarding tests: a miekg/dns server on
// loopback, UDP and TCP, answering with answer and counting queries.
type testUpstream struct {
	addr     netip.AddrPort
	udp, tcp atomic.Int32
}

// startUpstream serves answer on a loopback port until the test ends.
func startUpstream(t testing.TB, answer func(w dns.ResponseWriter, req *dns.Msg)) *testUpstream {
	t.Helper()
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &testUpstream{addr: netip.MustParseAddrPort(pc.LocalAddr().String())}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
			u.tcp.Add(1)
		} else {
			u.udp.Add(1)
		}
		answer(w, req)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx, srv)
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return u
}

// answerA answers every question with one A record of addr, TTL 60.
func answerA(addr string) func(dns.ResponseWriter, *dns.Msg) {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.ParseIP(addr),
		})
		w.WriteMsg(m)
	}
}

// query sends one question over network ("udp" or "tcp") to addr with a
// real client; edns is the EDNS0 size to advertise, 0 for none.
func query(t testing.TB, network, addr, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return r
}

// rawUDP sends m over UDP and returns the answer's bytes as they came,
// to measure its size on the wire.
func rawUDP(t testing.TB, addr string, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func catalog(t testing.TB, services ...dnsname.Service) *dnsname.Catalog {
	t.Helper()
	c := dnsname.NewCatalog(dnsname.CatalogOptions{})
	if err := c.Replace(services); err != nil {
		t.Fatal(err)
	}
	return c
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
