package dataplane

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// maxSlots bounds the slots of a weighted service so that the per-N chains
// stay few and the endpoints map stays small.
const maxSlots = 256

// affinitySize is the explicit size of the affinity maps; a dynamic set
// without one is capped by the kernel at 65,535 entries.
const affinitySize = 1 << 20

// ruleset is the desired or committed content of our table.
type ruleset struct {
	table  string
	sets   map[string]*set
	chains map[string]*chain
}

// set is a named set or map. In a fragment or a materialized ruleset its
// elements are a plain slice, unique by key text: a cold start handles
// hundreds of thousands of them, and a map per set cost more than the
// kernel's own work.
type set struct {
	name      string
	keyTypes  []nftables.SetDatatype
	dataTypes []nftables.SetDatatype // empty for a set
	interval  bool
	dynamic   bool
	timeout   time.Duration
	size      uint32
	// shared marks a base set whose elements several service ports may
	// contribute (a ClusterIP with several ports, an endpoint behind
	// several services); the state counts references only for these.
	shared bool
	// dispatch marks a base map whose keys are frontends, each of which
	// only one service port may claim.
	dispatch bool
	elems    []elem
}

// elem is one element: its key and its data (an interval set's element,
// which has no data, holds its range's last key there; a verdict map's
// holds its verdict as nft spells it, which the batch encoder parses) in
// kernel layout, back to back in one string. A fragment keeps its
// elements packed in runs (see run), and an elem is made from a run while
// it is walked: a cold start makes hundreds of thousands of elements, and
// slices and strings of their own were most of its garbage. Their text,
// as nft lists it, is spelled from the bytes only to render a ruleset
// (see set.keyText): building it for every element cost a fresh process
// more than half of its memory for elements, and fresh memory is what a
// fresh process pays for most.
type elem struct {
	s string
	k uint16 // where the key ends in s
}

// newElem makes an element of its own, for the few that are not built
// into a fragment.
func newElem(key, data []byte) elem {
	return elem{s: string(key) + string(data), k: uint16(len(key))}
}

func (e elem) key() string  { return e.s[:e.k] }
func (e elem) data() string { return e.s[e.k:] }

type hook struct {
	typ  nftables.ChainType
	num  nftables.ChainHook
	prio int32
}

type chain struct {
	name  string
	hook  *hook
	rules []*rule
}

func (c *chain) text() string {
	var sb strings.Builder
	for _, r := range c.rules {
		sb.WriteString(r.text)
		sb.WriteByte('\n')
	}
	return sb.String()
}

func (s *set) keyType() nftables.SetDatatype { return concatType(s.keyTypes) }

// verdictMap reports whether the set maps keys to verdicts.
func (s *set) verdictMap() bool {
	return len(s.dataTypes) == 1 && s.dataTypes[0].Name == nftables.TypeVerdict.Name
}

func concatType(ts []nftables.SetDatatype) nftables.SetDatatype {
	if len(ts) == 1 {
		return ts[0]
	}
	t, err := nftables.ConcatSetType(ts...)
	if err != nil {
		panic(err) // our own fixed types never exceed the limit
	}
	return t
}

// addOnce adds an element of a base set, whose few elements come from
// options that may repeat themselves.
func (s *set) addOnce(e elem) {
	if !slices.ContainsFunc(s.elems, func(o elem) bool { return o.key() == e.key() }) {
		s.elems = append(s.elems, e)
	}
}

// keyb accumulates a key or data value in kernel layout.
type keyb struct {
	b []byte
}

func (k *keyb) addr(a netip.Addr) *keyb {
	k.b = appendAddr(k.b, a)
	return k
}

func (k *keyb) proto(p Protocol) *keyb {
	k.b = append(k.b, p.number(), 0, 0, 0)
	return k
}

func (k *keyb) port(p uint16) *keyb {
	k.b = append(binary.BigEndian.AppendUint16(k.b, p), 0, 0)
	return k
}

// appendAddr appends an address's bytes without AsSlice's allocation.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		a4 := a.As4()
		return append(b, a4[:]...)
	}
	a16 := a.As16()
	return append(b, a16[:]...)
}

// appendMark formats a mark as nft does, "0x%08x", without fmt.
func appendMark(b []byte, v uint32) []byte {
	b = append(b, "0x00000000"...)
	for i := len(b) - 1; i >= len(b)-8; i-- {
		b[i] = "0123456789abcdef"[v&0xf]
		v >>= 4
	}
	return b
}

func (k *keyb) prefix(p netip.Prefix) (start, end []byte) {
	p = p.Masked()
	return appendAddr(slices.Clone(k.b), p.Addr()), appendAddr(slices.Clone(k.b), lastAddr(p))
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// key returns the builder's scratch key, emptied, for an element that
// copies it out.
func (b *builder) key() *keyb {
	b.scratch.b = b.scratch.b[:0]
	return &b.scratch
}

func (p Protocol) number() byte {
	switch p {
	case UDP:
		return unix.IPPROTO_UDP
	case SCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

// scope tells frontends keyed by address from NodePorts keyed by port alone.
type scope string

const (
	scopeAddr     scope = ""
	scopeNodePort scope = "nodeport-"
)

// famNames are the names of the base sets of one family, spelled out so
// that building a service port formats none of them.
//
// NodePorts have endpoints maps of their own, a second copy of their
// service's endpoints (100,000 of 232,500 elements at 10,000 × 10, every
// service with a NodePort). Both ways of sharing the ClusterIP's copy were
// built and measured on kernel 6.18 with nft 1.0.6, and neither is
// acceptable: a lookup in a "NodePort → ClusterIP . protocol . port" map
// whose result becomes the first part of the endpoints key runs (every
// traffic test passed) but makes `nft list ruleset` abort (an assertion in
// netlink_parse_concat_expr: nft gives a map's result no length); a chain
// per NodePort with the ClusterIP key as constants lists fine but took the
// kernel floor of 10,000 × 10 from 0.64–0.95 s to 12–13.4 s (10,000 more
// chains binding the endpoints map). Operators' `nft list ruleset` and the
// floor both outweigh 100,000 elements.
type famNames struct {
	serviceIPs, serviceNodePorts, clusterIPs, hairpin, firewallIPs, firewallAllow, clusterCIDRs string
	endpoints                                                                                   [2][2]string // [nodeport][local]
}

var setNames = [2]famNames{
	{"service-ips4", "service-nodeports4", "cluster-ips4", "hairpin4", "firewall-ips4", "firewall-allow4", "cluster-cidrs4",
		[2][2]string{{"endpoints4", "local-endpoints4"}, {"nodeport-endpoints4", "nodeport-local-endpoints4"}}},
	{"service-ips6", "service-nodeports6", "cluster-ips6", "hairpin6", "firewall-ips6", "firewall-allow6", "cluster-cidrs6",
		[2][2]string{{"endpoints6", "local-endpoints6"}, {"nodeport-endpoints6", "nodeport-local-endpoints6"}}},
}

func (f IPFamily) names() *famNames {
	if f == 6 {
		return &setNames[1]
	}
	return &setNames[0]
}

// digit is the family's number in chain names, "4" or "6": chain names
// are built for every frontend of a cold start, and fmt cost it more than
// the names themselves.
func (f IPFamily) digit() string {
	if f == IPv6 {
		return "6"
	}
	return "4"
}

func epMap(s scope, local bool, f IPFamily) string {
	i, j := 0, 0
	if s == scopeNodePort {
		i = 1
	}
	if local {
		j = 1
	}
	return f.names().endpoints[i][j]
}

// pickName names the chain that picks one of n slots; services with
// ClientIP affinity use their own kind of pick chain per timeout.
func (b *builder) pickName(s scope, local bool, f IPFamily, n int) string {
	l := ""
	if local {
		l = "-local"
	}
	if b.aff > 0 {
		return b.chainName("sticky", l, f.digit(), "-", b.tag)
	}
	return b.chainName(string(s), "pick", l, f.digit(), "-", strconv.Itoa(n), b.hash.suffix())
}

// chainName returns the chain name its words spell. A name the state or
// this update has a chain of already is the chain's own string: building
// every name again for each service port was a third of a cold start's
// allocations.
func (b *builder) chainName(words ...string) string {
	b.nb = b.nb[:0]
	for _, w := range words {
		b.nb = append(b.nb, w...)
	}
	if c, ok := b.rs.chains[string(b.nb)]; ok {
		return c.name
	}
	if c, ok := b.known[string(b.nb)]; ok {
		return c.name
	}
	if c, ok := b.built[string(b.nb)]; ok {
		return c.name
	}
	return string(b.nb)
}

// affSuffix distinguishes the policy chains of affinity and Maglev
// services, whose picks differ from a random one's of the same size.
func (b *builder) affSuffix() string {
	if b.aff > 0 {
		return "-" + b.tag
	}
	return b.hash.suffix()
}

// builder turns the base or one service port into a ruleset.
type builder struct {
	o         *Options
	rs        *ruleset          // the base, or one service's fragment
	arena     []byte            // the fragment's elements of base sets, laid out as elem's
	pend      []pending         // where each of them is in arena, and its set
	partNames []string          // the base sets they are of, by pending.part
	cur       pending           // the element being written
	counts    []int             // scratch for elems
	out       []byte            // scratch for elems
	known     map[string]*chain // chains of the state the fragment joins
	built     map[string]*chain // chains built for other fragments of the same update
	scratch   keyb
	index     map[string]int // the base sets' indexes in the state
	frs       ruleset        // a fragment's own sets and chains, reused
	fkey      keyb           // a frontend's key, while its elements are built
	cl, lo    []netip.AddrPort
	nb        []byte // a chain name being spelled
	slabs     slabs
	hash      hashing  // Maglev hashing of the service being built; zero for none
	aff       int      // affinity timeout in seconds of the service being built
	tag       string   // short name of that service, for its own chains and sets
	proto     Protocol // and its protocol
}

func (o *Options) table() string {
	if o.Table == "" {
		return "svcnet"
	}
	return o.Table
}

func (o *Options) cidrs(f IPFamily) []netip.Prefix { return prefixesOf(o.ClusterCIDRs, f) }

// prefixesOf returns the prefixes of family f, unmapped.
func prefixesOf(ps []netip.Prefix, f IPFamily) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if IPFamilyOf(p.Addr()) == f {
			out = append(out, unmapPrefix(p))
		}
	}
	return out
}

func (o *Options) nodeAddrs(f IPFamily) []netip.Addr {
	var out []netip.Addr
	for _, a := range o.NodeAddresses {
		if IPFamilyOf(a) == f {
			out = append(out, a.Unmap())
		}
	}
	return out
}

func (o *Options) validate() error {
	for _, p := range slices.Concat(o.ClusterCIDRs, o.ServiceCIDRs) {
		if !p.IsValid() {
			return fmt.Errorf("options: cidr %v: %w", p, ErrInvalid)
		}
	}
	for _, a := range o.NodeAddresses {
		if !a.IsValid() {
			return fmt.Errorf("options: node address %v: %w", a, ErrInvalid)
		}
	}
	return nil
}

// ID names a service port in errors and logs: "namespace/name:port/proto".
func (sp *ServicePort) ID() string {
	// Concatenation allocates once, where fmt took three allocations per
	// service port of a cold start.
	return sp.Key().id()
}

func (k Key) id() string {
	return k.Namespace + "/" + k.Name + ":" + k.PortName + "/" + k.Protocol.nftName()
}

func (sp *ServicePort) validate() error {
	bad := func(what string, v any) error {
		return fmt.Errorf("service %q: %s %v: %w", sp.ID(), what, v, ErrInvalid)
	}
	if sp.Name == "" {
		return bad("name", `""`)
	}
	if sp.Protocol > SCTP {
		return bad("protocol", sp.Protocol)
	}
	if sp.Port == 0 && (len(sp.ClusterIPs)+len(sp.ExternalIPs)+len(sp.LoadBalancerIPs) > 0) {
		return bad("port", 0)
	}
	for _, as := range [...][]netip.Addr{sp.ClusterIPs, sp.ExternalIPs, sp.LoadBalancerIPs} {
		for _, a := range as {
			if !a.IsValid() || a.IsUnspecified() {
				return bad("address", a)
			}
		}
	}
	for _, p := range sp.LoadBalancerSourceRanges {
		if !p.IsValid() {
			return bad("source range", p)
		}
	}
	if len(sp.ClusterIPs)+len(sp.ExternalIPs)+len(sp.LoadBalancerIPs) == 0 && sp.NodePort == 0 {
		return bad("frontend", "none (want a ClusterIP, NodePort, external or LoadBalancer IP)")
	}
	for _, es := range [...][]Endpoint{sp.Endpoints, sp.LocalEndpoints} {
		for _, e := range es {
			if !e.Addr.IsValid() || e.Addr.Port() == 0 || e.Addr.Addr().IsUnspecified() {
				return bad("endpoint", e.Addr)
			}
		}
	}
	if sp.AffinityTimeout < 0 || sp.AffinityTimeout > 86400*time.Second {
		return bad("affinity timeout", sp.AffinityTimeout)
	}
	if sp.Balancing > Maglev {
		return bad("balancing", sp.Balancing)
	}
	if sp.Balancing == Maglev {
		return sp.validateMaglev()
	}
	return nil
}

// ofFamily returns the endpoints of family f, sorted by address and without
// repeats, so that equal sets give equal slots whatever the input order.
// The result is read only: a list that already is all of f, sorted and
// without repeats (the usual input) is returned as it is, and one with
// none of f as nil, without allocating.
func ofFamily(eps []Endpoint, f IPFamily) []Endpoint {
	n, sorted := 0, true
	for i, e := range eps {
		if IPFamilyOf(e.Addr.Addr()) == f {
			n++
		}
		if i > 0 && eps[i-1].Addr.Compare(e.Addr) >= 0 {
			sorted = false
		}
	}
	switch {
	case n == 0:
		return nil
	case n == len(eps) && sorted:
		return eps
	}
	out := make([]Endpoint, 0, n)
	for _, e := range eps {
		if IPFamilyOf(e.Addr.Addr()) == f {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return a.Addr.Compare(b.Addr) })
	return slices.CompactFunc(out, func(a, b Endpoint) bool { return a.Addr == b.Addr })
}

// slots spreads endpoints over the slots a pick chain chooses from: one
// each, in proportion to weight (reduced by their gcd, scaled down to at
// most maxSlots), or a Maglev table's.
func slots(out []netip.AddrPort, eps []Endpoint, sp *ServicePort) []netip.AddrPort {
	out = out[:0]
	switch {
	case len(eps) == 0:
		return out
	case sp.Balancing == Maglev:
		return append(out, maglevSlots(eps, sp.maglevSize())...)
	case sp.Balancing != Weighted:
		for _, e := range eps {
			out = append(out, e.Addr)
		}
		return out
	}
	ws := make([]uint64, len(eps))
	var g, sum uint64
	for i, e := range eps {
		ws[i] = uint64(max(e.Weight, 1))
		g = gcd(g, ws[i])
	}
	for i := range ws {
		ws[i] /= g
		sum += ws[i]
	}
	limit := uint64(max(maxSlots, len(eps)))
	for i, e := range eps {
		n := ws[i]
		if sum > limit {
			n = max(1, ws[i]*limit/sum)
		}
		for range n {
			out = append(out, e.Addr)
		}
	}
	return out
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (b *builder) newSet(name string, s set) *set {
	s.name = name
	p := &s
	b.rs.sets[name] = p
	return p
}

// span is where a fragment's run of elements of one base set ends in its
// elems, how many the run holds, and the set's index among the state's
// base sets.
type span struct{ set, end, n int32 }

// run is elements back to back, each a byte holding its key's length, a
// byte holding its data's length, then key and data: a fragment's elements
// of one base set. A service port adds elements to five or so base sets;
// an elem (24 bytes) for each element of a cold start of 10,000 service
// ports × 10 endpoints cost it 5.6 MB of fresh memory.
type run struct {
	s string
	n int
}

// runOf packs elements into a run, for the few elements (of a
// fragment's own sets) kept as elems.
func runOf(es []elem) run {
	var b []byte
	for _, e := range es {
		b = append(append(b, byte(e.k), byte(len(e.s)-int(e.k))), e.s...)
	}
	return run{string(b), len(es)}
}

func (r run) all(yield func(elem) bool) {
	for s := r.s; len(s) > 0; {
		var e elem
		e, s = cut(s)
		if !yield(e) {
			return
		}
	}
}

// cut returns the first element of a run's text s, and the rest.
func cut(s string) (elem, string) {
	k, d := int(s[0]), int(s[1])
	return elem{s: s[2 : 2+k+d], k: uint16(k)}, s[2+k+d:]
}

// pending is an element written into a builder's arena: where it starts,
// where its key ends, where it ends, and the index of its base set in
// partNames.
type pending struct {
	start, k, end uint32
	part          int
}

// begin starts an element in the arena: its key is appended to the arena,
// then keyEnd, then its data; put files it under a base set.
func (b *builder) begin()  { b.cur = pending{start: uint32(len(b.arena))} }
func (b *builder) keyEnd() { b.cur.k = uint32(len(b.arena)) }

func (b *builder) put(name string) {
	b.cur.end = uint32(len(b.arena))
	b.cur.part = slices.Index(b.partNames, name)
	if b.cur.part < 0 {
		b.cur.part = len(b.partNames)
		b.partNames = append(b.partNames, name)
	}
	b.pend = append(b.pend, b.cur)
}

// add puts an element into the fragment's part of a base set.
func (b *builder) add(name string, key, data []byte) {
	b.begin()
	b.arena = append(b.arena, key...)
	b.keyEnd()
	b.arena = append(b.arena, data...)
	b.put(name)
}

// resetElems empties the arena for the next fragment, keeping its memory.
func (b *builder) resetElems() {
	b.arena, b.pend, b.partNames = b.arena[:0], b.pend[:0], b.partNames[:0]
}

// elems returns the fragment's elements, one run per base set, back to
// back in one string followed by sp packed, and where the runs end. The
// string is cut from the builder's byte slab, written once and never
// again: a string allocated for each of a cold start's fragments was most
// of its allocations.
func (b *builder) elems(sp *ServicePort) (string, []span) {
	b.out = sp.pack(b.out[:0])
	if len(b.pend) == 0 {
		return b.frozen(nil, 0), nil
	}
	spans := b.slabs.spans.take(len(b.partNames))
	for i, name := range b.partNames {
		spans[i] = span{set: int32(b.index[name])}
	}
	for _, p := range b.pend {
		spans[p.part].end += int32(2 + p.end - p.start)
		spans[p.part].n++
	}
	b.counts = b.counts[:0]
	off := 0
	for i := range spans {
		b.counts = append(b.counts, off) // where the run's next element goes
		off += int(spans[i].end)
		spans[i].end = int32(off)
	}
	dst := b.slabs.bytes.take(off + len(b.out))
	for _, p := range b.pend {
		k, d := p.k-p.start, p.end-p.k
		if k > 255 || d > 255 {
			panic(fmt.Sprintf("dataplane: an element of %d key and %d data bytes", k, d))
		}
		at := b.counts[p.part]
		dst[at], dst[at+1] = byte(k), byte(d)
		b.counts[p.part] += 2 + copy(dst[at+2:], b.arena[p.start:p.end])
	}
	return b.frozen(dst, off), spans
}

// frozen copies the packed service port in b.out into dst at off (dst
// taken from the slab when nil) and returns dst as a string, which nothing
// writes to again.
func (b *builder) frozen(dst []byte, off int) string {
	if dst == nil {
		dst = b.slabs.bytes.take(len(b.out))
	}
	copy(dst[off:], b.out)
	return unsafe.String(&dst[0], len(dst)) // a packed service port is never empty
}

// have tells whether the fragment has a chain, taking it from known rather
// than building it again when another service port has it: the content of a
// shared chain follows from its name. Affinity chains are not taken, since
// building them declares the service's own sets as well.
func (b *builder) have(name string) bool {
	if _, ok := b.rs.chains[name]; ok {
		return true
	}
	c, ok := b.known[name]
	if !ok {
		c, ok = b.built[name]
	}
	if ok {
		b.rs.chains[name] = c
	}
	return ok
}

func (b *builder) chain(name string, h *hook, rules ...*rule) {
	c := &chain{name: name, hook: h, rules: rules}
	b.rs.chains[name] = c
	if b.built != nil {
		b.built[name] = c
	}
}

var fams = []IPFamily{IPv4, IPv6}

// base adds what every ruleset holds: base chains, dispatch and masquerading.
func (b *builder) base() {
	natPre := &hook{nftables.ChainTypeNAT, *nftables.ChainHookPrerouting, -100}
	natOut := &hook{nftables.ChainTypeNAT, *nftables.ChainHookOutput, -100}
	natPost := &hook{nftables.ChainTypeNAT, *nftables.ChainHookPostrouting, 100}
	fwPre := &hook{nftables.ChainTypeFilter, *nftables.ChainHookPrerouting, -110}
	fwOut := &hook{nftables.ChainTypeFilter, *nftables.ChainHookOutput, -110}
	b.chain("nat-prerouting", natPre, newRB().verdict(expr.VerdictJump, "services"))
	b.chain("nat-output", natOut, newRB().verdict(expr.VerdictJump, "services"))
	b.chain("nat-postrouting", natPost, newRB().verdict(expr.VerdictJump, "masquerading"))
	b.chain("filter-prerouting", fwPre, newRB().verdict(expr.VerdictJump, "firewall"))
	b.chain("filter-output", fwOut, newRB().verdict(expr.VerdictJump, "firewall"))
	b.chain("mark-for-masquerade", nil, newRB().markOp(false).done())
	reject := &chain{name: "reject-chain"}
	reject.rules = append(reject.rules,
		(&rule{text: "meta l4proto tcp reject with tcp reset", exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}}),
		&rule{text: "reject with icmpx port-unreachable", exprs: []expr.Any{
			&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}})
	b.rs.chains[reject.name] = reject

	var services, firewall, masq []*rule
	masq = append(masq, newRB().markTest(false).verdict(expr.VerdictReturn, ""),
		newRB().markOp(true).masquerade().done())
	for _, f := range fams {
		b.familySets(f)
		services, firewall, masq = b.familyRules(f, services, firewall, masq)
	}
	b.chain("services", nil, services...)
	b.chain("firewall", nil, firewall...)
	// Hairpin rules mark before the mark test.
	b.chain("masquerading", nil, slices.Concat(masq[2:], masq[:2])...)
}

// familySets declares the sets and endpoint maps of one address family.
func (b *builder) familySets(f IPFamily) {
	proto, svc := nftables.TypeInetProto, nftables.TypeInetService
	verdict := []nftables.SetDatatype{nftables.TypeVerdict}
	addr := f.addrType()
	b.newSet(f.names().serviceIPs, set{keyTypes: []nftables.SetDatatype{addr, proto, svc}, dataTypes: verdict, dispatch: true})
	b.newSet(f.names().serviceNodePorts, set{keyTypes: []nftables.SetDatatype{proto, svc}, dataTypes: verdict, dispatch: true})
	b.newSet(f.names().clusterIPs, set{keyTypes: []nftables.SetDatatype{addr}, shared: true})
	b.newSet(f.names().hairpin, set{keyTypes: []nftables.SetDatatype{addr, addr}, shared: true})
	b.newSet(f.names().firewallIPs, set{keyTypes: []nftables.SetDatatype{addr, proto, svc}})
	b.newSet(f.names().firewallAllow, set{keyTypes: []nftables.SetDatatype{addr, proto, svc, addr}, interval: true})
	for _, sc := range []scope{scopeAddr, scopeNodePort} {
		var key []nftables.SetDatatype
		if sc == scopeAddr {
			key = append(key, addr)
		}
		key = append(key, proto, svc, nftables.TypeMark)
		for _, local := range []bool{false, true} {
			b.newSet(epMap(sc, local, f), set{keyTypes: key, dataTypes: []nftables.SetDatatype{addr, svc}})
		}
	}
}

// familyRules appends one address family's dispatch, firewall and
// masquerading rules.
func (b *builder) familyRules(f IPFamily, services, firewall, masq []*rule) ([]*rule, []*rule, []*rule) {
	addr := f.addrType()
	if cs := b.o.cidrs(f); len(cs) > 0 {
		b.prefixSet(f.names().clusterCIDRs, f, cs)
	}
	r := newRB().nfproto(f)
	services = append(services, r.addr(f, false).l4proto().dport().vmap(0, f.names().serviceIPs).done())
	if nas := b.o.nodeAddrs(f); len(nas) > 0 {
		na := b.newSet(fmt.Sprintf("nodeport-ips%d", f), set{keyTypes: []nftables.SetDatatype{addr}})
		for _, a := range nas {
			k := (&keyb{}).addr(a)
			na.addOnce(newElem(k.b, nil))
		}
		r = newRB().nfproto(f).addr(f, false).lookup(0, na.name, false)
	} else {
		r = newRB().nfproto(f).notLoopback(f).fibLocal(false)
	}
	from := len(r.words)
	services = append(services, r.l4proto().dport().vmap(from, f.names().serviceNodePorts).done())
	// A ClusterIP on a port it does not serve: reject rather than
	// letting the packet wander off to the default route.
	services = append(services, newRB().nfproto(f).addr(f, false).lookup(0, f.names().clusterIPs, false).verdict(expr.VerdictGoto, "reject-chain"))
	// An address of the service CIDR no service uses: drop, as
	// kube-proxy does, rather than route it off the node.
	if ps := prefixesOf(b.o.ServiceCIDRs, f); len(ps) > 0 {
		sc := b.prefixSet(fmt.Sprintf("service-cidrs%d", f), f, ps)
		services = append(services, newRB().nfproto(f).addr(f, false).lookup(0, sc.name, false).verdict(expr.VerdictDrop, ""))
	}

	r = newRB().nfproto(f).addr(f, false).l4proto().dport().lookup(0, f.names().firewallIPs, false)
	from = len(r.words)
	firewall = append(firewall, r.addr(f, false).l4proto().dport().addr(f, true).lookup(from, f.names().firewallAllow, true).verdict(expr.VerdictDrop, ""))

	// Hairpin: a backend reached itself through its service; after DNAT
	// its source equals its destination, and it must be masqueraded or
	// the reply would bypass conntrack.
	r = newRB().nfproto(f).ctStatusDNAT()
	from = len(r.words)
	masq = append(masq, r.addr(f, true).addr(f, false).lookup(from, f.names().hairpin, false).verdict(expr.VerdictJump, "mark-for-masquerade"))
	return services, firewall, masq
}

// prefixSet declares an interval set of addresses holding ps, which the
// options may repeat.
func (b *builder) prefixSet(name string, f IPFamily, ps []netip.Prefix) *set {
	s := b.newSet(name, set{keyTypes: []nftables.SetDatatype{f.addrType()}, interval: true})
	for _, p := range ps {
		k := &keyb{}
		start, end := k.prefix(p)
		s.addOnce(newElem(start, end))
	}
	return s
}

// service adds one service port's map elements and the shared chains it
// points at.
func (b *builder) service(sp *ServicePort) {
	b.hash, b.tag, b.proto = hashOf(sp), "", sp.Protocol
	b.aff = int(sp.AffinityTimeout.Round(time.Second) / time.Second)
	if sp.AffinityTimeout > 0 {
		b.aff = max(b.aff, 1)
		b.tag = tag(sp.ID())
	}
	for _, f := range fams {
		b.cl = slots(b.cl, ofFamily(sp.Endpoints, f), sp)
		cl := b.cl
		// Node-local endpoints matter only under a Local policy.
		var lo []netip.AddrPort
		if sp.InternalPolicy == PolicyLocal || sp.ExternalPolicy == PolicyLocal {
			b.lo = slots(b.lo, ofFamily(sp.LocalEndpoints, f), sp)
			lo = b.lo
		}
		hasFamily := false
		for _, a := range sp.ClusterIPs {
			if IPFamilyOf(a) != f {
				continue
			}
			hasFamily = true
			a = a.Unmap()
			k := b.key().addr(a)
			b.add(f.names().clusterIPs, k.b, nil)
			b.frontend(f, scopeAddr, a, sp, cl, lo, sp.InternalPolicy, false)
		}
		for _, a := range sp.ExternalIPs {
			if IPFamilyOf(a) == f {
				hasFamily = true
				b.frontend(f, scopeAddr, a.Unmap(), sp, cl, lo, sp.ExternalPolicy, true)
			}
		}
		for _, a := range sp.LoadBalancerIPs {
			if IPFamilyOf(a) != f {
				continue
			}
			hasFamily = true
			a = a.Unmap()
			b.frontend(f, scopeAddr, a, sp, cl, lo, sp.ExternalPolicy, true)
			b.sourceRanges(f, a, sp)
		}
		if sp.NodePort != 0 && (hasFamily || len(sp.ClusterIPs) == 0 && f == 4) {
			b.frontend(f, scopeNodePort, netip.Addr{}, sp, cl, lo, sp.ExternalPolicy, true)
		}
		for _, ap := range cl {
			a := ap.Addr().Unmap()
			b.begin()
			b.arena = appendAddr(appendAddr(b.arena, a), a)
			b.keyEnd()
			b.put(f.names().hairpin)
		}
	}
}

// sourceRanges restricts a LoadBalancer IP to its source ranges.
func (b *builder) sourceRanges(f IPFamily, a netip.Addr, sp *ServicePort) {
	if len(sp.LoadBalancerSourceRanges) == 0 {
		return
	}
	var rs []netip.Prefix
	for _, p := range sp.LoadBalancerSourceRanges {
		if IPFamilyOf(p.Addr()) == f {
			rs = append(rs, unmapPrefix(p).Masked())
		}
	}
	// A repeated range would be a repeated element.
	slices.SortFunc(rs, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	rs = slices.Compact(rs)
	// Kubernetes: ranges of the other family only mean this family is
	// closed, so the address is filtered even when rs is empty.
	k := (&keyb{}).addr(a).proto(sp.Protocol).port(sp.Port)
	b.add(f.names().firewallIPs, k.b, nil)
	for _, p := range rs {
		start, end := k.prefix(p)
		b.add(f.names().firewallAllow, start, end)
	}
}

// frontend dispatches one address (or, for NodePorts, one port) of a
// service to the chain that implements its policy, and fills the endpoints
// maps the chain's pick reads.
func (b *builder) frontend(f IPFamily, sc scope, a netip.Addr, sp *ServicePort,
	cl, lo []netip.AddrPort, policy TrafficPolicy, external bool) {
	k := &b.fkey
	k.b = k.b[:0]
	vm := f.names().serviceNodePorts
	port := sp.NodePort
	if sc == scopeAddr {
		k.addr(a)
		vm = f.names().serviceIPs
		port = sp.Port
	}
	k.proto(sp.Protocol).port(port)

	fill := func(local bool, eps []netip.AddrPort) {
		if b.aff > 0 {
			if len(eps) > 0 {
				b.sticky(local, f, eps)
			}
			return
		}
		m := epMap(sc, local, f)
		for i, ep := range eps {
			a := ep.Addr().Unmap()
			b.begin()
			b.arena = binary.NativeEndian.AppendUint32(append(b.arena, k.b...), uint32(i))
			b.keyEnd()
			b.arena = append(binary.BigEndian.AppendUint16(appendAddr(b.arena, a), ep.Port()), 0, 0)
			b.put(m)
		}
		if len(eps) > 0 {
			b.pick(sc, local, f, len(eps))
		}
	}
	var v *expr.Verdict
	switch {
	case len(cl) == 0:
		// No usable endpoint anywhere: refuse at once, never black-hole.
		v = &expr.Verdict{Kind: expr.VerdictGoto, Chain: "reject-chain"}
	case policy == PolicyLocal && !external:
		if len(lo) == 0 {
			v = &expr.Verdict{Kind: expr.VerdictDrop}
			break
		}
		fill(true, lo)
		v = &expr.Verdict{Kind: expr.VerdictGoto, Chain: b.clusterIPChain(f, true, len(lo))}
	case !external:
		fill(false, cl)
		v = &expr.Verdict{Kind: expr.VerdictGoto, Chain: b.clusterIPChain(f, false, len(cl))}
	case policy == PolicyLocal:
		fill(false, cl)
		fill(true, lo)
		v = &expr.Verdict{Kind: expr.VerdictGoto, Chain: b.externalLocalChain(sc, f, len(cl), len(lo))}
	default:
		fill(false, cl)
		v = &expr.Verdict{Kind: expr.VerdictGoto, Chain: b.externalChain(sc, f, len(cl))}
	}
	b.begin()
	b.arena = append(b.arena, k.b...)
	b.keyEnd()
	b.arena = appendVerdict(b.arena, v)
	b.put(vm)
}

// parseVerdict is appendVerdict's inverse. It returns a value: the batch
// encoder calls it for every verdict map element of a full sync, and a
// pointer would be an allocation each.
func parseVerdict(s string) expr.Verdict {
	kind, chain, _ := strings.Cut(s, " ")
	switch kind {
	case "goto":
		return expr.Verdict{Kind: expr.VerdictGoto, Chain: chain}
	case "jump":
		return expr.Verdict{Kind: expr.VerdictJump, Chain: chain}
	case "drop":
		return expr.Verdict{Kind: expr.VerdictDrop}
	}
	return expr.Verdict{Kind: expr.VerdictAccept}
}

// appendVerdict appends a verdict as nft prints it.
func appendVerdict(dst []byte, v *expr.Verdict) []byte {
	switch v.Kind {
	case expr.VerdictGoto:
		return append(append(dst, "goto "...), v.Chain...)
	case expr.VerdictJump:
		return append(append(dst, "jump "...), v.Chain...)
	case expr.VerdictDrop:
		return append(dst, "drop"...)
	}
	return append(dst, "accept"...)
}

// pick adds the chain that picks one of n slots of an endpoints map.
func (b *builder) pick(sc scope, local bool, f IPFamily, n int) {
	name := b.pickName(sc, local, f, n)
	if b.have(name) {
		return
	}
	r := newRB().nfproto(f)
	if sc == scopeAddr {
		r.addr(f, false)
	}
	r.l4proto().dport()
	if b.hash.size > 0 {
		r.jhash(f, b.hash)
	} else {
		r.numgen(n)
	}
	r.dnatMap(0, f, epMap(sc, local, f))
	b.chain(name, nil, r.done())
}

// offCluster marks traffic to a ClusterIP from outside the cluster CIDRs.
func (b *builder) offCluster(f IPFamily) *rule {
	cs := b.o.cidrs(f)
	if len(cs) == 0 {
		return nil
	}
	name := f.names().clusterCIDRs
	return newRB().nfproto(f).addr(f, true).lookup(0, name, true).verdict(expr.VerdictJump, "mark-for-masquerade")
}

func (b *builder) clusterIPChain(f IPFamily, local bool, n int) string {
	l := ""
	if local {
		l = "-local"
	}
	name := b.chainName("cluster-ip", l, f.digit(), "-", strconv.Itoa(n), b.affSuffix())
	if !b.have(name) {
		var rs []*rule
		if r := b.offCluster(f); r != nil {
			rs = append(rs, r)
		}
		rs = append(rs, newRB().verdict(expr.VerdictGoto, b.pickName(scopeAddr, local, f, n)))
		b.chain(name, nil, rs...)
	}
	return name
}

func (b *builder) externalChain(sc scope, f IPFamily, n int) string {
	name := b.chainName(string(sc), "external", f.digit(), "-", strconv.Itoa(n), b.affSuffix())
	if !b.have(name) {
		b.chain(name, nil, newRB().verdict(expr.VerdictJump, "mark-for-masquerade"),
			newRB().verdict(expr.VerdictGoto, b.pickName(sc, false, f, n)))
	}
	return name
}

// externalLocalChain implements externalTrafficPolicy Local: pods and the
// node itself still reach every endpoint (the node masqueraded), external
// clients only local ones with their address kept, or nothing.
func (b *builder) externalLocalChain(sc scope, f IPFamily, c, l int) string {
	name := b.chainName(string(sc), "external-local", f.digit(), "-", strconv.Itoa(c), "-", strconv.Itoa(l), b.affSuffix())
	if b.have(name) {
		return name
	}
	var rs []*rule
	cluster := b.pickName(sc, false, f, c)
	if cs := b.o.cidrs(f); len(cs) > 0 {
		rs = append(rs, newRB().nfproto(f).addr(f, true).lookup(0, f.names().clusterCIDRs, false).verdict(expr.VerdictGoto, cluster))
	}
	rs = append(rs, newRB().fibLocal(true).verdict(expr.VerdictJump, "mark-for-masquerade"),
		newRB().fibLocal(true).verdict(expr.VerdictGoto, cluster))
	if l > 0 {
		rs = append(rs, newRB().verdict(expr.VerdictGoto, b.pickName(sc, true, f, l)))
	} else {
		rs = append(rs, newRB().verdict(expr.VerdictDrop, ""))
	}
	b.chain(name, nil, rs...)
	return name
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() {
		return netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	return p
}
