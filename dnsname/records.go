package dnsname

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
)

// The builder makes a service's records in as few allocations as it can,
// because a 1,000-endpoint headless service has about 7,000 of them and
// the runtime — clearing, collecting and faulting in memory — costs more
// than the record logic: every record is written once into a slice sized in
// advance, every name is a substring of a few strings (see nameBuf), and
// the bookkeeping in between (groups, ports, the hash sets of addresses
// and hostnames) is small and mostly holds no pointers, so the collector
// has little to scan.

// group is the run of records one service contributes to one name,
// recs[start:end]; extra indexes builder.extras, the additional records of
// an SRV answer at the name, or is -1.
type group struct {
	name       string
	start, end int32
	extra      int32
}

// target is one name SRV records point at — the service itself, or one
// endpoint name of a headless service — with its addresses
// addrs[addr.start:addr.end]. first and last are the endpoints behind the
// name (-1 for the service): more than one when endpoints share a
// hostname, chained through builder.next.
type target struct {
	name        string
	addr        ival
	first, last int32
}

// ival is the index interval [start, end) of a slice.
type ival struct{ start, end int32 }

// builder makes the record set of one service. Run build once, then read
// recs, and with catalog set groups and extras.
type builder struct {
	zone     string
	ttl      uint32
	podNames bool
	// ignoreEmpty leaves out the names of ClusterIP services without a
	// ready endpoint, keeping their PTR records.
	ignoreEmpty bool
	// catalog asks for groups and SRV additional records, which a Catalog
	// needs and RecordSet does not.
	catalog bool

	recs   []Record
	groups []group
	extras [][]Record

	// Scratch of build.
	names   nameBuf      // every owner and target name
	svc     string       // the service name, for the names that end in it
	addrs   []netip.Addr // published addresses, in target order
	targets []target
	next    []int32 // endpoint → next endpoint of its target; nil until a hostname repeats
	epAddr  []ival  // endpoint → its addresses, for endpoints chained by next
	// The SRV ports of target t for service port i are
	// ports[portOff[t*len(Ports)+i]:portOff[t*len(Ports)+i+1]].
	ports   []uint16
	portOff []int32
	// every is the address records of every target, in target order:
	// the SRV additional section when an answer points at all of them.
	every []Record
	// full is the index of every in extras, or -1 before its first use.
	full int32
	// sharedNames tells that a hostname is spelled like an address, so an
	// endpoint named by its address may share its name: two groups of one
	// name, which a lookup must answer together.
	sharedNames bool
}

// dashedLabel reports whether label reads as a dashed address, the name an
// endpoint without a hostname gets.
func dashedLabel(label string) bool {
	_, ok := parseDashed(label)
	return ok
}

// srvWeight splits 100 evenly over n records as CoreDNS does (integer
// division, so more than 100 records weigh 0 each).
func srvWeight(n int) uint16 {
	if n == 0 {
		return 0
	}
	return uint16(100 / n)
}

// cleanAddr drops what cannot appear in a DNS answer: the IPv4-in-IPv6
// wrapping and the zone.
func cleanAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

func addrType(a netip.Addr) Type {
	if a.Is4() {
		return TypeA
	}
	return TypeAAAA
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// published reports whether a headless service answers ep.
func published(s *Service, ep *Endpoint) bool { return ep.Ready || s.PublishNotReadyAddresses }

// label is the first label of ep's name under a headless service, or ""
// when ep is named by its addresses.
func (b *builder) label(ep *Endpoint) string { return hostLabel(ep, b.podNames) }

// hostLabel is the label an endpoint names itself with, as CoreDNS
// chooses it: its hostname; else, with podNames, its pod name if that is a
// label; else none, and its addresses name it.
func hostLabel(ep *Endpoint, podNames bool) string {
	if ep.Hostname != "" {
		return ep.Hostname
	}
	if podNames && len(ep.PodName) < 64 && label1123(ep.PodName) {
		return ep.PodName
	}
	return ""
}

// writeName writes "<label>.<service name>".
func (b *builder) writeName(label string) string {
	w := b.names.begin(len(label) + 1 + len(b.svc))
	w.WriteString(label)
	w.WriteByte('.')
	w.WriteString(b.svc)
	return b.names.end()
}

// build makes every record of s, one name at a time: the service name,
// endpoint names, reverse names, SRV names. Within a name, records are
// sorted by type. s must have been validated.
func (b *builder) build(s *Service) {
	b.full, b.sharedNames = -1, false
	if s.Type == ExternalName {
		b.externalName(s)
		return
	}
	// The service name is the catalog key looked up most: a string of its
	// own keeps it small and near the keys of other services.
	svc := fqdn(b.zone, s.Name, s.Namespace, "svc")
	b.svc = svc
	b.names.left = b.nameBytes(s) - len(svc)
	if s.Type == Headless {
		b.endpoints(s)
		if len(b.targets) == 0 {
			// "If there are no ready endpoints for the service, the answer
			// should be NXDOMAIN" — so no SRV names either.
			return
		}
	} else if !b.clusterTarget(s, svc) {
		return
	}
	b.srvPorts(s)

	np := len(s.Ports)
	b.reserve(s)

	// The service name answers every address, and for SRV every port of
	// every target, as CoreDNS does.
	start := len(b.recs)
	b.addrRecords(svc, ival{0, int32(len(b.addrs))})
	addrEnd := len(b.recs)
	// Weights count every (target, port) of every service port, as
	// CoreDNS's do, before a pair repeated under two service ports (53/UDP
	// and 53/TCP) is listed once (RFC 2181 §5.2: no duplicate records).
	all := srvWeight(len(b.ports))
	for i := range s.Ports {
		b.srvRecords(svc, i, np, all)
	}
	b.group(svc, start, -1)
	if s.Type == Headless {
		// The endpoint names' address records, back to back, are the
		// additional section of SRV answers that point at every endpoint.
		first := len(b.recs)
		for _, t := range b.targets {
			start := len(b.recs)
			b.addrRecords(t.name, t.addr)
			b.group(t.name, start, -1)
		}
		b.every = b.recs[first:len(b.recs):len(b.recs)]
	} else {
		// The service is its only target: its address records are the
		// additional section of its SRV answers.
		b.every = b.recs[start:addrEnd:addrEnd]
	}
	if b.catalog {
		b.groups[0].extra = b.extra(-1, np)
	}
	b.ptrRecords()
	for i, p := range s.Ports {
		count := b.srvCount(i, np)
		if p.Name == "" || count == 0 {
			continue
		}
		name, start := b.srvName(p), len(b.recs)
		b.srvRecords(name, i, np, srvWeight(count))
		b.group(name, start, b.extra(i, np))
	}
}

// reserve grows the records (and, for a catalog, the groups) to hold every
// record build will append for s, so that appending never reallocates.
func (b *builder) reserve(s *Service) {
	np := len(s.Ports)
	named, srvNamed := 0, 0
	for i, p := range s.Ports {
		if p.Name != "" {
			named++
			srvNamed += b.srvCount(i, np)
		}
	}
	n := 2*len(b.addrs) + len(b.ports) + srvNamed // service, PTR and SRV records
	groups := 1 + len(b.addrs) + named
	if s.Type == Headless {
		n += len(b.addrs)
		groups += len(b.targets)
	}
	if len(b.recs)+n <= cap(b.recs) {
		clear(b.recs[len(b.recs) : len(b.recs)+n]) // grow expects zero Records
	}
	b.recs = slices.Grow(b.recs, n)
	if b.catalog {
		b.groups = make([]group, 0, groups)
		b.extras = make([][]Record, 0, 1+named)
	}
}

// clusterTarget makes the service's ClusterIPs its one target. It reports
// false when, under ignore empty_service, a service without ready
// endpoints has nothing but its PTR records (already appended).
func (b *builder) clusterTarget(s *Service, svc string) bool {
	b.addrs = make([]netip.Addr, 0, len(s.ClusterIPs))
	for _, ip := range s.ClusterIPs {
		if ip = cleanAddr(ip); !slices.Contains(b.addrs, ip) {
			b.addrs = append(b.addrs, ip)
		}
	}
	b.targets = []target{{name: svc, addr: ival{0, int32(len(b.addrs))}, first: -1, last: -1}}
	if b.ignoreEmpty && !slices.ContainsFunc(s.Endpoints, func(ep Endpoint) bool { return ep.Ready && len(ep.Addrs) > 0 }) {
		b.recs = slices.Grow(b.recs, len(b.addrs))
		if b.catalog {
			b.groups = make([]group, 0, len(b.addrs))
		}
		b.ptrRecords()
		return false
	}
	return true
}

// ptrRecords appends the PTR record of every address of every target, each
// a name of its own.
func (b *builder) ptrRecords() {
	var scratch [maxReverseName]byte
	for _, t := range b.targets {
		for _, a := range b.addrs[t.addr.start:t.addr.end] {
			b.names.begin(maxReverseName).Write(AppendReverseName(scratch[:0], a))
			name, start := b.names.end(), len(b.recs)
			r := b.grow()
			r.Name, r.Type, r.TTL, r.Target = name, TypePTR, b.ttl, t.name
			b.group(name, start, -1)
		}
	}
}

// srvName writes "_<port>._<proto>.<service name>".
func (b *builder) srvName(p Port) string {
	w := b.names.begin(len(p.Name) + len("_._sctp.") + len(b.svc))
	w.WriteByte('_')
	w.WriteString(p.Name)
	w.WriteString("._")
	w.WriteString(p.Protocol.label())
	w.WriteByte('.')
	w.WriteString(b.svc)
	return b.names.end()
}

// nameBytes bounds the length of every name build writes (exactly for
// IPv4 addresses), so that the names of a small service take one
// allocation and those of a large one fill their chunks.
func (b *builder) nameBytes(s *Service) int {
	svc := len(s.Name) + len(s.Namespace) + len(b.zone) + len("..svc..")
	n := svc
	for _, p := range s.Ports {
		n += len(p.Name) + len("_._sctp.") + svc
	}
	// An IPv4 address's reverse name is its digits, four dots and
	// "in-addr.arpa."; its dashed form the digits and three dashes.
	digits := func(a netip.Addr) int {
		d := 0
		for _, o := range a.As4() {
			d += 1 + btoi(o >= 10) + btoi(o >= 100)
		}
		return d
	}
	if s.Type != Headless {
		for _, a := range s.ClusterIPs {
			if a = a.Unmap(); a.Is4() {
				n += digits(a) + len("....in-addr.arpa.")
			} else {
				n += maxReverseName
			}
		}
		return n
	}
	for i := range s.Endpoints {
		ep := &s.Endpoints[i]
		if !published(s, ep) {
			continue
		}
		label := b.label(ep)
		if label != "" {
			n += len(label) + 1 + svc
		}
		for _, a := range ep.Addrs {
			if a = a.Unmap(); a.Is4() {
				n += digits(a) + len("....in-addr.arpa.")
				if label == "" {
					n += digits(a) + len("---.") + svc
				}
			} else {
				n += maxReverseName
				if label == "" {
					n += maxDashed + 1 + svc
				}
			}
		}
	}
	return n
}

// endpoints collects the published endpoints of a headless service into
// targets: one per hostname (or pod name), else one per address. The same
// address in two endpoints (two slices) is one backend; endpoints sharing
// a hostname — one pod in the IPv4 and the IPv6 slice — share its name.
func (b *builder) endpoints(s *Service) {
	total, labels := 0, 0
	for i := range s.Endpoints {
		if ep := &s.Endpoints[i]; published(s, ep) {
			total += len(ep.Addrs)
			if b.label(ep) != "" {
				labels++
			}
		}
	}
	b.addrs = make([]netip.Addr, 0, total)
	b.targets = make([]target, 0, total)
	seed := maphash.MakeSeed()
	seen := newIndexSet(total)     // of addrs
	byLabel := newIndexSet(labels) // of targets named by a label
	for i := range s.Endpoints {
		ep := &s.Endpoints[i]
		if !published(s, ep) {
			continue
		}
		label, first := b.label(ep), len(b.addrs)
		for _, a := range ep.Addrs {
			a = cleanAddr(a)
			k := a.As16()
			slot := seen.lookup(maphash.Bytes(seed, k[:]), func(j int32) bool { return b.addrs[j] == a })
			if *slot >= 0 {
				continue
			}
			*slot = int32(len(b.addrs))
			b.addrs = append(b.addrs, a)
			if label == "" {
				var dashed [maxDashed]byte
				w := b.names.begin(maxDashed + 1 + len(b.svc))
				w.Write(AppendDashedAddr(dashed[:0], a))
				w.WriteByte('.')
				w.WriteString(b.svc)
				n := int32(len(b.addrs))
				b.targets = append(b.targets, target{name: b.names.end(), addr: ival{n - 1, n}, first: int32(i), last: int32(i)})
			}
		}
		if label == "" || len(b.addrs) == first {
			continue
		}
		addr := ival{int32(first), int32(len(b.addrs))}
		slot := byLabel.lookup(maphash.String(seed, label), func(j int32) bool {
			return b.label(&s.Endpoints[b.targets[j].first]) == label
		})
		t := *slot
		if t < 0 {
			*slot = int32(len(b.targets))
			b.targets = append(b.targets, target{name: b.writeName(label), addr: addr, first: int32(i), last: int32(i)})
			b.sharedNames = b.sharedNames || dashedLabel(label)
			continue
		}
		if b.next == nil {
			b.next = make([]int32, len(s.Endpoints))
			for j := range b.next {
				b.next[j] = -1
			}
			b.epAddr = make([]ival, len(s.Endpoints))
		}
		b.next[b.targets[t].last] = int32(i)
		b.targets[t].last = int32(i)
		b.epAddr[i] = addr
	}
	if b.next != nil {
		b.regroup()
	}
	if b.sharedNames {
		b.mergeNames(s)
	}
}

// mergeNames folds a target named by an address into the target of a
// hostname spelled the same way: CoreDNS answers that name with the
// addresses of both, and lists it once per port among SRV targets.
func (b *builder) mergeNames(s *Service) {
	if b.next == nil {
		b.next = make([]int32, len(s.Endpoints))
		for j := range b.next {
			b.next[j] = -1
		}
	}
	at := make(map[string]int, len(b.targets))
	out := b.targets[:0:0]
	var more [][]ival // per target of out: the addresses of the targets folded in
	for _, t := range b.targets {
		j, ok := at[t.name]
		if !ok {
			at[t.name] = len(out)
			out, more = append(out, t), append(more, nil)
			continue
		}
		o := &out[j]
		more[j] = append(more[j], t.addr)
		// An address-named target is one endpoint without a hostname:
		// keep it at the tail, so that its next is never set.
		if b.label(&s.Endpoints[o.first]) == "" {
			b.next[t.last], o.first = o.first, t.first
		} else {
			b.next[o.last], o.last = t.first, t.last
		}
	}
	addrs := make([]netip.Addr, 0, len(b.addrs))
	for j := range out {
		start := len(addrs)
		addrs = append(addrs, b.addrs[out[j].addr.start:out[j].addr.end]...)
		for _, iv := range more[j] {
			addrs = append(addrs, b.addrs[iv.start:iv.end]...)
		}
		out[j].addr = ival{int32(start), int32(len(addrs))}
	}
	b.addrs, b.targets = addrs, out
}

// regroup orders addrs by target, once endpoints sharing a hostname have
// made a target's addresses discontiguous.
func (b *builder) regroup() {
	addrs := make([]netip.Addr, 0, len(b.addrs))
	for i := range b.targets {
		t := &b.targets[i]
		start := len(addrs)
		addrs = append(addrs, b.addrs[t.addr.start:t.addr.end]...)
		for e := b.next[t.first]; e >= 0; e = b.next[e] {
			addrs = append(addrs, b.addrs[b.epAddr[e].start:b.epAddr[e].end]...)
		}
		t.addr = ival{int32(start), int32(len(addrs))}
	}
	b.addrs = addrs
}

// srvPorts lists the SRV ports of every target for every service port:
// the service port, or for a headless service the port of the same name
// and protocol of each endpoint that lists its own ports — once each, as
// CoreDNS answers a (target, port) pair once.
func (b *builder) srvPorts(s *Service) {
	np := len(s.Ports)
	b.portOff = make([]int32, 1, len(b.targets)*np+1)
	b.ports = make([]uint16, 0, len(b.targets)*np)
	for _, t := range b.targets {
		for _, p := range s.Ports {
			start := len(b.ports)
			// The service (first -1) has the service port; so has an
			// endpoint without ports of its own. b.next is only read
			// when a target has more than one endpoint.
			for e := t.first; ; e = b.next[e] {
				port, ok := p.Port, true
				if e >= 0 && len(s.Endpoints[e].Ports) > 0 {
					port, ok = endpointPort(s.Endpoints[e].Ports, p)
				}
				if ok && !slices.Contains(b.ports[start:], port) {
					b.ports = append(b.ports, port)
				}
				if e == t.last {
					break
				}
			}
			b.portOff = append(b.portOff, int32(len(b.ports)))
		}
	}
}

// endpointPort returns the port of eps matching service port p by name
// and protocol; p's own number when that port leaves it unset.
func endpointPort(eps []EndpointPort, p Port) (uint16, bool) {
	for _, ep := range eps {
		if ep.Name == p.Name && ep.Protocol == p.Protocol {
			if ep.Port == 0 {
				return p.Port, true
			}
			return ep.Port, true
		}
	}
	return 0, false
}

// srvOf returns the SRV ports of target t for service port i of np.
func (b *builder) srvOf(t, i, np int) []uint16 {
	k := t*np + i
	return b.ports[b.portOff[k]:b.portOff[k+1]]
}

// srvCount counts the SRV records of service port i of np.
func (b *builder) srvCount(i, np int) int {
	n := 0
	for t := range b.targets {
		n += len(b.srvOf(t, i, np))
	}
	return n
}

// srvRecords appends the SRV records at name for service port i of np:
// one per target and port of it, all of the given weight, leaving out a
// (target, port) pair an earlier service port already gave name — only
// the service name collects several service ports.
func (b *builder) srvRecords(name string, i, np int, weight uint16) {
	for t := range b.targets {
		target := b.targets[t].name
		for _, port := range b.srvOf(t, i, np) {
			if b.srvSeen(name, t, i, np, port) {
				continue
			}
			r := b.grow()
			r.Name, r.Type, r.TTL, r.Target, r.Weight, r.Port = name, TypeSRV, b.ttl, target, weight, port
		}
	}
}

// srvSeen reports whether name already has the SRV record of target t and
// port from a service port before i.
func (b *builder) srvSeen(name string, t, i, np int, port uint16) bool {
	if name != b.svc {
		return false
	}
	for j := range i {
		if slices.Contains(b.srvOf(t, j, np), port) {
			return true
		}
	}
	return false
}

// grow extends recs by one zero Record, within its capacity, for the
// caller to set field by field: only the fields set pass the collector's
// write barrier, rather than every pointer slot of a Record.
func (b *builder) grow() *Record {
	b.recs = b.recs[:len(b.recs)+1]
	return &b.recs[len(b.recs)-1]
}

// addrRecords appends the A records, then the AAAA records, of
// addrs[as.start:as.end] under name.
func (b *builder) addrRecords(name string, as ival) {
	for _, typ := range [2]Type{TypeA, TypeAAAA} {
		for _, a := range b.addrs[as.start:as.end] {
			if addrType(a) == typ {
				r := b.grow()
				r.Name, r.Type, r.TTL, r.Addr = name, typ, b.ttl, a
			}
		}
	}
}

// group closes the run of name's records that began at start.
func (b *builder) group(name string, start int, extra int32) {
	if b.catalog {
		b.groups = append(b.groups, group{name: name, start: int32(start), end: int32(len(b.recs)), extra: extra})
	}
}

// extra returns the index in extras of the additional records of an SRV
// answer — the addresses of its targets — for service port i of np, or
// for every port when i is -1; -1 when there is no SRV answer. Answers
// that point at every target share one slice.
func (b *builder) extra(i, np int) int32 {
	if !b.catalog {
		return -1
	}
	has := func(t int) bool {
		if i >= 0 {
			return len(b.srvOf(t, i, np)) > 0
		}
		k := t * np
		return b.portOff[k+np] > b.portOff[k]
	}
	in, addrs := 0, 0
	for t, tg := range b.targets {
		if has(t) {
			in++
			addrs += int(tg.addr.end - tg.addr.start)
		}
	}
	switch {
	case in == 0:
		return -1
	case in == len(b.targets):
		if b.full < 0 {
			b.extras = append(b.extras, b.every)
			b.full = int32(len(b.extras) - 1)
		}
		return b.full
	}
	// Only a headless service has several targets; its groups are the
	// service name's, then one per target.
	extra := make([]Record, 0, addrs)
	for t := range b.targets {
		if has(t) {
			g := b.groups[1+t]
			extra = append(extra, b.recs[g.start:g.end]...)
		}
	}
	b.extras = append(b.extras, extra)
	return int32(len(b.extras) - 1)
}

// externalName makes the CNAME of an ExternalName service, or nothing for
// an IP address target, which is no CNAME target (CoreDNS skips such
// services: NXDOMAIN).
func (b *builder) externalName(s *Service) {
	ext := strings.TrimSuffix(s.ExternalName, ".")
	if _, err := netip.ParseAddr(ext); err == nil {
		return
	}
	name, start := fqdn(b.zone, s.Name, s.Namespace, "svc"), len(b.recs)
	b.recs = append(b.recs, Record{Name: name, Type: TypeCNAME, TTL: b.ttl, Target: strings.ToLower(ext) + "."})
	b.group(name, start, -1)
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
		if !p.Protocol.valid() {
			return fmt.Errorf("%w: port %q: unsupported protocol %v", ErrInvalidService, p.Name, p.Protocol)
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
		for i := range s.Endpoints {
			ep := &s.Endpoints[i]
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
			if err := validateEndpointPorts(ep.Ports); err != nil {
				return err
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

// validateEndpointPorts checks an endpoint's ports as Kubernetes checks
// the ports of an EndpointSlice: names empty or DNS labels, unique; TCP,
// UDP or SCTP.
func validateEndpointPorts(ps []EndpointPort) error {
	for i, p := range ps {
		if p.Name != "" {
			if err := IsDNS1123Label(p.Name); err != nil {
				return err
			}
		}
		if slices.ContainsFunc(ps[:i], func(q EndpointPort) bool { return q.Name == p.Name }) {
			return fmt.Errorf("%w: duplicate endpoint port name %q", ErrInvalidService, p.Name)
		}
		if !p.Protocol.valid() {
			return fmt.Errorf("%w: endpoint port %q: unsupported protocol %v", ErrInvalidService, p.Name, p.Protocol)
		}
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
	return AppendRecordSet(nil, s, o)
}

// AppendRecordSet appends the records of [RecordSet] to dst and returns the
// extended slice, so that a caller rendering many services can reuse one
// slice rather than allocate about 90 bytes per record for each. On error
// it returns dst unchanged.
func AppendRecordSet(dst []Record, s Service, o CatalogOptions) ([]Record, error) {
	if err := validate(&s); err != nil {
		return dst, fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err)
	}
	b := o.builder()
	b.recs = dst
	b.build(&s)
	return b.recs, nil
}

func byType(a, b Record) int { return int(a.Type) - int(b.Type) }

// sortByType orders records by type, keeping their order within a type.
func sortByType(rs []Record) { slices.SortStableFunc(rs, byType) }
