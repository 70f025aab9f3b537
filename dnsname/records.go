package dnsname

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// group is the run of records one service contributes to one name:
// b.recs[start:end].
type group struct {
	name       string
	start, end int
	extra      []Record // additional records for SRV answers at this name
}

// builder collects a service's records in one flat slice, in runs of one
// name each. build emits every name's records together, so a run never
// restarts and no index is needed; a 1,000-endpoint service costs a few
// dozen allocations.
type builder struct {
	zone     string
	ttl      uint32
	podNames bool
	recs     []Record
	groups   []group
}

func (b *builder) add(name string, r Record) {
	r.Name, r.TTL = name, b.ttl
	if n := len(b.groups); n > 0 && b.groups[n-1].name == name {
		b.recs = append(b.recs, r)
		b.groups[n-1].end++
		return
	}
	b.groups = append(b.groups, group{name: name, start: len(b.recs), end: len(b.recs) + 1})
	b.recs = append(b.recs, r)
}

// setExtra attaches SRV additional records to the last group.
func (b *builder) setExtra(extra []Record) { b.groups[len(b.groups)-1].extra = extra }

// finish sorts each run by type, so that a catalog entry can use a run as
// is. Runs are usually sorted already.
func (b *builder) finish() {
	for _, g := range b.groups {
		if run := b.recs[g.start:g.end]; !slices.IsSortedFunc(run, byType) {
			slices.SortStableFunc(run, byType)
		}
	}
}

// span is a substring of a names buffer, resolved once the buffer becomes
// one string: building many names costs one allocation.
type span struct{ start, end int }

func addrRecord(a netip.Addr) Record {
	if a.Is4() {
		return Record{Type: TypeA, Addr: a}
	}
	return Record{Type: TypeAAAA, Addr: a}
}

// target is one name an SRV record can point at, with its addresses.
type target struct {
	name  string
	addrs []netip.Addr
}

// srvWeight splits 100 evenly over n records as CoreDNS does (integer
// division, so more than 100 records weigh 0 each).
func srvWeight(n int) uint16 {
	if n == 0 {
		return 0
	}
	return uint16(100 / n)
}

func lowerProto(p string) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(p)
}

// build adds every record of s, one name at a time. s must have been
// validated.
func (b *builder) build(s *Service) {
	svcName := ServiceFQDN(s.Name, s.Namespace, b.zone)
	var targets []target
	named := 0
	for _, p := range s.Ports {
		if p.Name != "" {
			named++
		}
	}
	switch s.Type {
	case ExternalName:
		ext := strings.TrimSuffix(s.ExternalName, ".")
		// An IP address is no CNAME target, so the name gets no record at
		// all (CoreDNS skips such services: NXDOMAIN).
		if _, err := netip.ParseAddr(ext); err == nil {
			return
		}
		b.add(svcName, Record{Type: TypeCNAME, Target: strings.ToLower(ext) + "."})
		b.finish()
		return
	case ClusterIP:
		ips := make([]netip.Addr, len(s.ClusterIPs))
		for i, ip := range s.ClusterIPs {
			ips[i] = ip.Unmap()
		}
		targets = []target{{name: svcName, addrs: ips}}
	case Headless:
		targets = b.endpoints(s)
		if len(targets) == 0 {
			// "If there are no ready endpoints for the service, the answer
			// should be NXDOMAIN" — so no SRV names either.
			return
		}
	}
	addrs := 0
	for _, t := range targets {
		addrs += len(t.addrs)
	}
	// Room for: service A/AAAA, endpoint A/AAAA and PTR per address, and
	// SRV records per port and target (twice for named ports).
	b.recs = make([]Record, 0, 3*addrs+(len(s.Ports)+named)*len(targets))
	b.groups = make([]group, 0, 1+2*addrs+named)

	// Extra records of an SRV answer: the addresses of every target.
	extra := make([]Record, 0, addrs)
	for _, t := range targets {
		for _, a := range t.addrs {
			r := addrRecord(a)
			r.Name, r.TTL = t.name, b.ttl
			extra = append(extra, r)
		}
	}

	for _, t := range targets {
		for _, a := range t.addrs {
			b.add(svcName, addrRecord(a))
		}
	}
	// A SRV query of the service name itself answers every port and
	// target, as CoreDNS does; only named ports get their own SRV names.
	all := srvWeight(len(s.Ports) * len(targets))
	for _, p := range s.Ports {
		for _, t := range targets {
			b.add(svcName, Record{Type: TypeSRV, Target: t.name, Weight: all, Port: p.Port})
		}
	}
	if len(s.Ports) > 0 {
		b.setExtra(extra)
	}
	if s.Type == Headless {
		for _, t := range targets {
			for _, a := range t.addrs {
				b.add(t.name, addrRecord(a))
			}
		}
	}
	// Reverse names, built in one buffer.
	buf := make([]byte, 0, addrs*len("255.255.255.255.in-addr.arpa."))
	spans := make([]span, 0, addrs)
	for _, t := range targets {
		for _, a := range t.addrs {
			start := len(buf)
			buf = AppendReverseName(buf, a)
			spans = append(spans, span{start, len(buf)})
		}
	}
	names := string(buf)
	i := 0
	for _, t := range targets {
		for range t.addrs {
			b.add(names[spans[i].start:spans[i].end], Record{Type: TypePTR, Target: t.name})
			i++
		}
	}
	w := srvWeight(len(targets))
	for _, p := range s.Ports {
		if p.Name == "" {
			continue
		}
		name := SRVName(p.Name, lowerProto(p.Protocol), s.Name, s.Namespace, b.zone)
		for _, t := range targets {
			b.add(name, Record{Type: TypeSRV, Target: t.name, Weight: w, Port: p.Port})
		}
		b.setExtra(extra)
	}
	b.finish()
}

// endpoints returns the names of the published endpoints of a headless
// service with their addresses: one per hostname (or pod name), else one
// per address. Endpoints sharing a hostname share its name.
func (b *builder) endpoints(s *Service) []target {
	total := 0
	for _, ep := range s.Endpoints {
		total += len(ep.Addrs)
	}
	suffix := "." + s.Name + "." + s.Namespace + ".svc." + b.zone + "."
	var (
		targets = make([]target, 0, total)
		spans   = make([]span, 0, total)
		flat    = make([]netip.Addr, 0, total)
		buf     = make([]byte, 0, total*(len("fd00-0-0-0-0-0-0-1")+len(suffix)))
		byLabel map[string]int
		seen    = make(map[netip.Addr]struct{}, total)
	)
	for _, ep := range s.Endpoints {
		if !ep.Ready && !s.PublishNotReadyAddresses {
			continue
		}
		label := ep.Hostname
		if label == "" && b.podNames && len(ep.PodName) < 64 && label1123(ep.PodName) {
			label = ep.PodName
		}
		named, first := -1, len(flat)
		for _, a := range ep.Addrs {
			a = a.Unmap()
			// The same address in two endpoint slices is one backend.
			if _, dup := seen[a]; dup {
				continue
			}
			seen[a] = struct{}{}
			flat = append(flat, a)
			if label == "" {
				start := len(buf)
				buf = AppendDashedAddr(buf, a)
				buf = append(buf, suffix...)
				spans = append(spans, span{start, len(buf)})
				targets = append(targets, target{addrs: flat[len(flat)-1:]})
				continue
			}
			if named < 0 {
				if byLabel == nil {
					byLabel = make(map[string]int)
				}
				i, ok := byLabel[label]
				if !ok {
					i = len(targets)
					byLabel[label] = i
					start := len(buf)
					buf = append(buf, label...)
					buf = append(buf, suffix...)
					spans = append(spans, span{start, len(buf)})
					targets = append(targets, target{})
				}
				named = i
			}
		}
		if named >= 0 {
			if t := &targets[named]; len(t.addrs) == 0 {
				t.addrs = flat[first:len(flat):len(flat)]
			} else {
				t.addrs = append(t.addrs, flat[first:]...)
			}
		}
	}
	names := string(buf)
	for i := range targets {
		targets[i].name = names[spans[i].start:spans[i].end]
		targets[i].addrs = slices.Clip(targets[i].addrs)
	}
	return targets
}

// validate checks s as the Kubernetes API server would, for the fields DNS
// uses.
func validate(s *Service) error {
	if err := IsDNS1123Label(s.Namespace); err != nil {
		return err
	}
	if err := IsDNS1035Label(s.Name); err != nil {
		return err
	}
	for i, p := range s.Ports {
		if p.Name != "" && slices.ContainsFunc(s.Ports[:i], func(q Port) bool { return q.Name == p.Name }) {
			return fmt.Errorf("%w: duplicate port name %q", ErrInvalidService, p.Name)
		}
		// Service port names are DNS labels in Kubernetes (the IANA rule
		// of IsPortName is for container ports).
		if p.Name != "" {
			if err := IsDNS1123Label(p.Name); err != nil {
				return err
			}
		}
		switch lowerProto(p.Protocol) {
		case "tcp", "udp", "sctp":
		default:
			return fmt.Errorf("%w: port %q: unsupported protocol %q", ErrInvalidService, p.Name, p.Protocol)
		}
	}
	switch s.Type {
	case ClusterIP:
		if len(s.ClusterIPs) == 0 {
			return fmt.Errorf("%w: ClusterIP service without cluster IPs", ErrInvalidService)
		}
		for _, ip := range s.ClusterIPs {
			if !ip.IsValid() {
				return fmt.Errorf("%w: invalid cluster IP", ErrInvalidService)
			}
		}
	case Headless:
		for _, ep := range s.Endpoints {
			if ep.Hostname != "" {
				if err := IsDNS1123Label(ep.Hostname); err != nil {
					return err
				}
			}
			for _, a := range ep.Addrs {
				if !a.IsValid() {
					return fmt.Errorf("%w: endpoint with an invalid address", ErrInvalidService)
				}
			}
		}
	case ExternalName:
		ext := strings.TrimSuffix(s.ExternalName, ".")
		if ext == "" {
			return fmt.Errorf("%w: ExternalName service without a target", ErrInvalidService)
		}
		if _, err := netip.ParseAddr(ext); err != nil {
			if err := IsDNS1123Subdomain(strings.ToLower(ext)); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: unknown type %v", ErrInvalidService, s.Type)
	}
	return nil
}

// RecordSet returns every record the Kubernetes DNS specification gives s in
// the zone and with the options of o, grouped by name in a stable order
// (service name, endpoint names, reverse names, SRV names), sorted by type
// within a name.
// Additional-section records are not included. It returns an error wrapping
// a sentinel of this package when s is invalid.
func RecordSet(s Service, o CatalogOptions) ([]Record, error) {
	if err := validate(&s); err != nil {
		return nil, fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err)
	}
	b := o.builder()
	b.build(&s)
	return b.recs, nil
}

func byType(a, b Record) int { return int(a.Type) - int(b.Type) }

// sortByType orders records by type, keeping their order within a type.
func sortByType(rs []Record) { slices.SortStableFunc(rs, byType) }
