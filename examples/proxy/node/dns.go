package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"
)

// Zone is an immutable table of the records the server answers with,
// keyed by lowercase fully qualified owner name. Build one with NewZone;
// the zero value answers REFUSED for everything. Safe for concurrent use.
type Zone struct {
	soas  []*dns.SOA // one per origin, longest origin first
	names map[string][]dns.RR
	// parents holds every proper ancestor (within its origin) of an owner
	// name: empty non-terminals answer NODATA, not NXDOMAIN (RFC 8020).
	parents map[string]bool
}

// ReverseOrigins are the reverse zones a cluster DNS server answers PTR
// queries in.
var reverseOrigins = []string{"in-addr.arpa.", "ip6.arpa."}

// NewZone returns a zone authoritative for origin and the reverse zones,
// holding rrs; owner names outside them are dropped. ttl is the SOA's
// negative-caching TTL.
func NewZone(origin string, ttl uint32, rrs []dns.RR) *Zone {
	origin = strings.ToLower(dns.Fqdn(origin))
	z := &Zone{names: make(map[string][]dns.RR), parents: make(map[string]bool)}
	for _, o := range append([]string{origin}, reverseOrigins...) {
		z.soas = append(z.soas, &dns.SOA{
			Hdr:     dns.RR_Header{Name: o, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
			Ns:      "ns.dns." + origin,
			Mbox:    "hostmaster." + origin,
			Serial:  1,
			Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl,
		})
	}
	sort.SliceStable(z.soas, func(i, j int) bool { return len(z.soas[i].Hdr.Name) > len(z.soas[j].Hdr.Name) })
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		soa := z.soaFor(name)
		if soa == nil {
			continue
		}
		z.names[name] = append(z.names[name], rr)
		for off, end := dns.NextLabel(name, 0); !end; off, end = dns.NextLabel(name, off) {
			p := name[off:]
			if p == soa.Hdr.Name {
				break
			}
			z.parents[p] = true
		}
	}
	return z
}

// soaFor returns the SOA of the origin name lies in, or nil.
func (z *Zone) soaFor(name string) *dns.SOA {
	for _, soa := range z.soas {
		if dns.IsSubDomain(soa.Hdr.Name, name) {
			return soa
		}
	}
	return nil
}

// Records returns every record, sorted by owner name then type, for
// printing.
func (z *Zone) Records() []dns.RR {
	var out []dns.RR
	for _, rrs := range z.names {
		out = append(out, rrs...)
	}
	sortRRs(out)
	return out
}

// Result names the outcome of a query for metrics.
type Result string

// Query outcomes.
const (
	ResultNoError  Result = "NOERROR"
	ResultNoData   Result = "NODATA"
	ResultNXDomain Result = "NXDOMAIN"
	ResultRefused  Result = "REFUSED"
	ResultFormErr  Result = "FORMERR"
)

// Answer fills m, a reply to req, and reports the outcome. A name holding
// a CNAME answers with it for every other type, without chasing the
// target outside the zone (the resolver does that).
func (z *Zone) Answer(req, m *dns.Msg) Result {
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = false
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeFormatError
		return ResultFormErr
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	var soa *dns.SOA
	if z != nil {
		soa = z.soaFor(name)
	}
	if soa == nil || q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		m.Authoritative = false
		return ResultRefused
	}
	if name == soa.Hdr.Name && q.Qtype == dns.TypeSOA {
		m.Answer = append(m.Answer, soa)
		return ResultNoError
	}
	rrs, ok := z.names[name]
	if !ok && !z.parents[name] && name != soa.Hdr.Name {
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, soa)
		return ResultNXDomain
	}
	for _, rr := range rrs {
		t := rr.Header().Rrtype
		if t == q.Qtype || q.Qtype == dns.TypeANY || t == dns.TypeCNAME {
			m.Answer = append(m.Answer, withName(rr, q.Name))
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, soa)
		return ResultNoData
	}
	if q.Qtype == dns.TypeSRV {
		// Kubernetes DNS returns the targets' addresses as additional records.
		for _, rr := range m.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				for _, a := range z.names[strings.ToLower(srv.Target)] {
					if t := a.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
						m.Extra = append(m.Extra, a)
					}
				}
			}
		}
	}
	return ResultNoError
}

// withName echoes the question's spelling of the owner name, as
// authoritative servers do (0x20 case randomisation relies on it).
func withName(rr dns.RR, name string) dns.RR {
	if rr.Header().Name == name {
		return rr
	}
	c := dns.Copy(rr)
	c.Header().Name = name
	return c
}

// DNSServer serves the current Zone over UDP and TCP. Build it with
// ListenDNS; swap zones with SetZone. Safe for concurrent use.
type DNSServer struct {
	zone    atomic.Pointer[Zone]
	udp     *dns.Server
	tcp     *dns.Server
	metrics *Metrics
	log     *slog.Logger
	addr    string
}

// ListenDNS opens UDP and TCP sockets on addr inside ns (switching an OS
// thread into ns only while the sockets are created) and returns a server
// ready to Serve. metrics and log may be nil.
func ListenDNS(ns netns.NsHandle, addr string, metrics *Metrics, log *slog.Logger) (*DNSServer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &DNSServer{metrics: metrics, log: log}
	var pc net.PacketConn
	var l net.Listener
	err := InNetNS(ns, func() error {
		var err error
		if pc, err = net.ListenPacket("udp", addr); err != nil {
			return err
		}
		// TCP on the port UDP got, so that ":0" gives one port for both.
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dns listen %q: %w", addr, err)
	}
	s.addr = pc.LocalAddr().String()
	s.udp = &dns.Server{PacketConn: pc, Handler: s}
	s.tcp = &dns.Server{Listener: l, Handler: s}
	return s, nil
}

// Addr is the address the server listens on (UDP and TCP).
func (s *DNSServer) Addr() string { return s.addr }

// SetZone swaps the zone queries are answered from.
func (s *DNSServer) SetZone(z *Zone) { s.zone.Store(z) }

// Serve answers queries until ctx is done, then shuts both servers down.
func (s *DNSServer) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	servers := []*dns.Server{s.udp, s.tcp}
	for i, srv := range servers {
		// Shutdown before the server has started fails and leaves it
		// running: wait for the start (or its failure) before shutting down.
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		exited := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(exited)
			errs[i] = srv.ActivateAndServe()
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-started:
			case <-exited:
				return
			}
			select {
			case <-ctx.Done():
				srv.Shutdown()
			case <-exited:
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("dns serve (%s): %w", []string{"udp", "tcp"}[i], err)
		}
	}
	return nil
}

// ServeDNS implements dns.Handler.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	res := s.zone.Load().Answer(req, m)
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := uint16(dns.MinMsgSize)
		if o := req.IsEdns0(); o != nil {
			size = o.UDPSize()
			m.SetEdns0(size, false)
		}
		m.Truncate(int(size))
	}
	if s.metrics != nil {
		s.metrics.DNSQueries.WithLabelValues(string(res)).Inc()
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns write", "remote", w.RemoteAddr().String(), "err", err)
	}
}

func sortRRs(rrs []dns.RR) {
	sort.SliceStable(rrs, func(i, j int) bool {
		a, b := rrs[i].Header(), rrs[j].Header()
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Rrtype != b.Rrtype {
			return a.Rrtype < b.Rrtype
		}
		return rrs[i].String() < rrs[j].String()
	})
}
