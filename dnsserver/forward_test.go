package dnsserver

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Names outside the zone and reverse names the catalog does not hold go
// to the upstream, as kubeadm's CoreDNS forwards them ("forward .
// /etc/resolv.conf"); the answer says recursion is available.
func TestForward(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.1"))
	s, addr := start(t, catalog(t, api), Config{Upstreams: []netip.AddrPort{up.addr}, CacheSize: -1})
	s.SetReady()
	for _, name := range []string{"example.com.", "8.8.8.8.in-addr.arpa."} {
		r := query(t, "udp", addr, name, dns.TypeA, 1232)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" || !r.RecursionAvailable {
			t.Errorf("%s: %v; want the upstream's A record with RA", name, r)
		}
		if o := r.IsEdns0(); o == nil || o.UDPSize() != DefaultMaxUDPSize {
			t.Errorf("%s: EDNS0 %v; want ours, size %d", name, o, DefaultMaxUDPSize)
		}
	}
	if r := query(t, "udp", addr, "api.prod.svc.cluster.local.", dns.TypeA, 0); len(r.Answer) != 1 || up.udp.Load() != 2 {
		t.Errorf("cluster name: %v, upstream saw %d queries; want the catalog's answer and no forward", r, up.udp.Load())
	}
}

// A truncated UDP answer from the upstream is asked again over TCP.
func TestForwardTruncatedRetriesTCP(t *testing.T) {
	up := startUpstream(t, func(w dns.ResponseWriter, req *dns.Msg) {
		if _, tcp := w.RemoteAddr().(*net.TCPAddr); !tcp {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
		answerA("192.0.2.7")(w, req)
	})
	s, addr := start(t, catalog(t), Config{Upstreams: []netip.AddrPort{up.addr}})
	s.SetReady()
	r := query(t, "udp", addr, "big.example.", dns.TypeA, 0)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.7" || r.Truncated {
		t.Errorf("answer %v; want the upstream's TCP answer, not truncated", r)
	}
	if up.udp.Load() != 1 || up.tcp.Load() != 1 {
		t.Errorf("upstream saw %d UDP and %d TCP queries; want 1 and 1", up.udp.Load(), up.tcp.Load())
	}
}

// A dead upstream (a socket that never answers) times out and the next
// one answers; the dead one is then tried last, so the next query does
// not wait for it.
func TestForwardFailover(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	live := startUpstream(t, answerA("192.0.2.2"))
	var log logBuf
	s, addr := start(t, catalog(t), Config{
		Upstreams:      []netip.AddrPort{netip.MustParseAddrPort(dead.LocalAddr().String()), live.addr},
		ForwardTimeout: 300 * time.Millisecond, CacheSize: -1, Logger: log.logger(),
	})
	s.SetReady()
	for i := range 2 {
		r := query(t, "udp", addr, "example.org.", dns.TypeA, 0)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.2" {
			t.Fatalf("query %d: %v; want the live upstream's answer", i, r)
		}
	}
	if n := strings.Count(log.String(), "upstream failed"); n != 1 {
		t.Errorf("dead upstream failed %d times; want once, then tried last (log %q)", n, log.String())
	}
}

// SERVFAIL from one upstream is not the answer while another answers.
func TestForwardServFailTriesNext(t *testing.T) {
	bad := startUpstream(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	good := startUpstream(t, answerA("192.0.2.3"))
	s, addr := start(t, catalog(t), Config{Upstreams: []netip.AddrPort{bad.addr, good.addr}})
	s.SetReady()
	if r := query(t, "udp", addr, "example.net.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("%v; want the second upstream's answer", r)
	}
	s2, addr2 := start(t, catalog(t), Config{Upstreams: []netip.AddrPort{bad.addr}})
	s2.SetReady()
	if r := query(t, "udp", addr2, "example.net.", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("only upstream fails: rcode %s; want its SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

// Cached answers: a repeated question is answered without the upstream,
// with TTLs lowered by the time spent in the cache, until the TTL ends.
func TestForwardCache(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.4"))
	var clock atomic.Int64 // seconds
	clock.Store(1_000_000)
	var mu sync.Mutex
	var outcomes []Outcome
	onAnswer := func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
	}
	s, addr := start(t, catalog(t), Config{Upstreams: []netip.AddrPort{up.addr}, OnAnswer: onAnswer}, func(s *Server) {
		s.fwd.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	})
	s.SetReady()
	query(t, "udp", addr, "cached.example.", dns.TypeA, 0)
	clock.Add(20)
	r := query(t, "udp", addr, "CACHED.example.", dns.TypeA, 0)
	if up.udp.Load() != 1 {
		t.Errorf("upstream saw %d queries; want 1, the second from the cache", up.udp.Load())
	}
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 40 {
		t.Errorf("cached answer %v; want TTL 60-20 = 40", r.Answer)
	}
	if r.Question[0].Name != "CACHED.example." {
		t.Errorf("question %q; want the query's spelling", r.Question[0].Name)
	}
	clock.Add(41)
	query(t, "udp", addr, "cached.example.", dns.TypeA, 0)
	if up.udp.Load() != 2 {
		t.Errorf("after the TTL: upstream saw %d queries; want 2", up.udp.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []Outcome{Forwarded, Cached, Forwarded}; len(outcomes) != 3 || outcomes[0] != want[0] || outcomes[1] != want[1] || outcomes[2] != want[2] {
		t.Errorf("outcomes %v; want %v", outcomes, want)
	}
}

// The cache holds at most CacheSize answers.
func TestCacheBounded(t *testing.T) {
	c := newCache(3, time.Minute)
	now := time.Unix(0, 0)
	for i := range 10 {
		m := new(dns.Msg)
		m.SetQuestion("x.", dns.TypeA)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.IPv4(1, 2, 3, byte(i))}}
		c.put(cacheKey{name: string(rune('a' + i)), qtype: dns.TypeA}, m, now)
	}
	if len(c.m) != 3 {
		t.Errorf("cache holds %d answers; want 3", len(c.m))
	}
	neg := new(dns.Msg)
	neg.Rcode = dns.RcodeServerFailure
	if _, ok := cacheTTL(neg); ok {
		t.Error("SERVFAIL is cacheable; want not")
	}
	neg.Rcode = dns.RcodeNameError
	neg.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Ttl: 300}, Minttl: 30}}
	if ttl, ok := cacheTTL(neg); !ok || ttl != 30 {
		t.Errorf("NXDOMAIN cache TTL = %d, %v; want the SOA minimum 30 (RFC 2308)", ttl, ok)
	}
}

// Loop protection: a resolv.conf naming this server itself is not
// forwarded to; a server that sends our queries back is detected, turned
// off and the next upstream answers.
func TestForwardLoop(t *testing.T) {
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := netip.MustParseAddrPort(pc.LocalAddr().String())
	var log logBuf
	s := startOn(t, pc, l, catalog(t), Config{Upstreams: []netip.AddrPort{self}, Logger: log.logger()})
	s.SetReady()
	if r := query(t, "udp", self.String(), "example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("only upstream is ourselves: rcode %s; want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if !strings.Contains(log.String(), "itself") {
		t.Errorf("log %q; want the self upstream reported", log.String())
	}

	// A relay that forwards every query to our server.
	pc, l, err = Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ours := pc.LocalAddr().String()
	relay := startUpstream(t, func(w dns.ResponseWriter, req *dns.Msg) {
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(req, ours)
		if err != nil {
			r = new(dns.Msg)
			r.SetRcode(req, dns.RcodeServerFailure)
		}
		w.WriteMsg(r)
	})
	good := startUpstream(t, answerA("192.0.2.5"))
	log = logBuf{}
	s = startOn(t, pc, l, catalog(t), Config{Upstreams: []netip.AddrPort{relay.addr, good.addr}, CacheSize: -1, Logger: log.logger()})
	s.SetReady()
	for i := range 2 {
		if r := query(t, "udp", ours, "loop.example.", dns.TypeA, 0); len(r.Answer) != 1 {
			t.Errorf("query %d: %v; want the good upstream's answer", i, r)
		}
	}
	if relay.udp.Load() != 1 {
		t.Errorf("relay saw %d queries; want 1, then turned off", relay.udp.Load())
	}
	if !strings.Contains(log.String(), "loop") {
		t.Errorf("log %q; want the loop reported", log.String())
	}
}

// Forwards in flight are bounded: over the bound, REFUSED at once.
func TestForwardBounded(t *testing.T) {
	up := startUpstream(t, answerA("192.0.2.6"))
	s, addr := start(t, catalog(t), Config{Upstreams: []netip.AddrPort{up.addr}, MaxForwards: 1})
	s.SetReady()
	s.fwd.slots <- struct{}{} // one forward in flight
	if r := query(t, "udp", addr, "busy.example.", dns.TypeA, 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("over the bound: rcode %s; want REFUSED", dns.RcodeToString[r.Rcode])
	}
	<-s.fwd.slots
	if r := query(t, "udp", addr, "busy.example.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("under the bound: rcode %s; want NOERROR", dns.RcodeToString[r.Rcode])
	}
}

func TestParseResolvConf(t *testing.T) {
	got := parseResolvConf([]byte(`# generated
search default.svc.cluster.local svc.cluster.local
nameserver 10.0.0.2
nameserver 10.0.0.2 ; repeated
nameserver fe80::1%eth0
nameserver not-an-address
options ndots:5
nameserver   ::ffff:192.0.2.9
`))
	want := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.2:53"),
		netip.MustParseAddrPort("[fe80::1%eth0]:53"),
		netip.MustParseAddrPort("192.0.2.9:53"),
	}
	if len(got) != len(want) {
		t.Fatalf("parseResolvConf = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parseResolvConf[%d] = %v; want %v", i, got[i], want[i])
		}
	}
}
