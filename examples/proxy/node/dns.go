package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/vishvananda/netns"
)

// Zone answers cluster DNS from a dnsname.Catalog, which holds the
// records of the Kubernetes DNS specification and is updated one service
// at a time; Zone adds what a server needs around it: SOA records for the
// cluster zone and the reverse zones, and the mapping to the wire. Build
// it with NewZone; a nil *Zone answers REFUSED for everything. Safe for
// concurrent use.
type Zone struct {
	cat  *dnsname.Catalog
	opts dnsname.CatalogOptions
	soas []*dns.SOA // one per origin, longest origin first

	mu   sync.Mutex // serialises Update
	svcs map[string]dnsname.Service
	pods map[string]dnsname.Pod // by "namespace/name", for verified pod records
}

// ReverseOrigins are the reverse zones a cluster DNS server answers PTR
// queries in.
var reverseOrigins = []string{"in-addr.arpa.", "ip6.arpa."}

// NewZone returns an empty zone authoritative for origin and the reverse
// zones; ttl is the TTL of every record and the SOA's negative-caching TTL;
// pods selects how pod names (a-b-c-d.<namespace>.pod.<zone>) answer.
func NewZone(origin string, ttl uint32, pods dnsname.PodMode) *Zone {
	origin = strings.ToLower(dns.Fqdn(origin))
	z := &Zone{
		opts: dnsname.CatalogOptions{Zone: origin, TTL: time.Duration(ttl) * time.Second, PodRecords: pods},
		svcs: map[string]dnsname.Service{},
		pods: map[string]dnsname.Pod{},
	}
	z.cat = dnsname.NewCatalog(z.opts)
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
	return z
}

// Update makes the zone publish exactly services, and know exactly pods
// for verified pod records: changed entries are replaced and removed ones
// deleted, one at a time, so that queries for the others never see a gap.
// It returns the services and pods the catalog refused.
func (z *Zone) Update(services []ServiceView, pods []dnsname.Pod) []error {
	z.mu.Lock()
	defer z.mu.Unlock()
	want := make(map[string]dnsname.Service, len(services))
	for i := range services {
		want[services[i].Key()] = dnsService(&services[i])
	}
	errs := mirror(z.svcs, want, "service", z.cat.SetService,
		func(s dnsname.Service) { z.cat.DeleteService(s.Namespace, s.Name) })
	wantPods := make(map[string]dnsname.Pod, len(pods))
	for _, p := range pods {
		wantPods[p.Namespace+"/"+p.Name] = p
	}
	return append(errs, mirror(z.pods, wantPods, "pod", z.cat.SetPod,
		func(p dnsname.Pod) { z.cat.DeletePod(p.Namespace, p.Name) })...)
}

// mirror makes have (what the catalog holds) equal want through set and
// del, leaving out what set refuses; kind names the entries in errors.
func mirror[V any](have, want map[string]V, kind string, set func(V) error, del func(V)) []error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(want)) {
		v := want[key]
		if old, ok := have[key]; ok && reflect.DeepEqual(old, v) {
			continue
		}
		if err := set(v); err != nil {
			errs = append(errs, fmt.Errorf("dns: %s %s: %w", kind, key, err))
			continue
		}
		have[key] = v
	}
	for key, v := range have {
		if _, ok := want[key]; !ok {
			del(v)
			delete(have, key)
		}
	}
	return errs
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

// Records returns every record the zone publishes, sorted by owner name
// then type, for printing.
func (z *Zone) Records() []dns.RR {
	z.mu.Lock()
	defer z.mu.Unlock()
	var out []dns.RR
	for _, ds := range z.svcs {
		rs, err := dnsname.RecordSet(ds, z.opts)
		if err != nil {
			continue // Update never stores a service the catalog refused
		}
		for _, r := range rs {
			out = append(out, toRR(r, r.Name))
		}
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
	ans, res := z.cat.Lookup(q.Name, dnsname.Type(q.Qtype))
	switch res {
	case dnsname.Success:
		for _, r := range ans.Records {
			owner := r.Name
			if strings.EqualFold(owner, q.Name) {
				// Echo the question's spelling: 0x20 case randomisation relies on it.
				owner = q.Name
			}
			m.Answer = append(m.Answer, toRR(r, owner))
		}
		for _, r := range ans.Extra {
			m.Extra = append(m.Extra, toRR(r, r.Name))
		}
		return ResultNoError
	case dnsname.NoData:
		m.Ns = append(m.Ns, soa)
		return ResultNoData
	case dnsname.NotOurs:
		if name == soa.Hdr.Name {
			m.Ns = append(m.Ns, soa)
			return ResultNoData
		}
	}
	// NXDomain, and reverse names of addresses no service holds: this
	// server is authoritative for the reverse zones it answers in.
	m.Rcode = dns.RcodeNameError
	m.Ns = append(m.Ns, soa)
	return ResultNXDomain
}

// toRR converts a catalog record to the wire library's form, owned by owner.
func toRR(r dnsname.Record, owner string) dns.RR {
	hdr := dns.RR_Header{Name: owner, Rrtype: uint16(r.Type), Class: dns.ClassINET, Ttl: r.TTL}
	switch r.Type {
	case dnsname.TypeA:
		return &dns.A{Hdr: hdr, A: r.Addr.AsSlice()}
	case dnsname.TypeAAAA:
		return &dns.AAAA{Hdr: hdr, AAAA: r.Addr.AsSlice()}
	case dnsname.TypeCNAME:
		return &dns.CNAME{Hdr: hdr, Target: r.Target}
	case dnsname.TypePTR:
		return &dns.PTR{Hdr: hdr, Ptr: r.Target}
	case dnsname.TypeSRV:
		return &dns.SRV{Hdr: hdr, Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: r.Target}
	case dnsname.TypeTXT:
		return &dns.TXT{Hdr: hdr, Txt: []string{r.Text}}
	}
	return &dns.RFC3597{Hdr: hdr}
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
