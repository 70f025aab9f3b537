package dataplane

import (
	"fmt"
	"maps"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// frag is what one service port contributes: elements of the base sets
// (among them the frontends it claims, its keys in the dispatch maps), its
// own sets (affinity), and the chains it points at, which other service
// ports with the same shape share.
type frag struct {
	key    Key
	sets   []*set   // its own sets (affinity), with their elements
	chains []*chain // the chains it uses
	// elems holds its elements of base sets, a run per set (see parts),
	// then its service port packed (see packed).
	elems string
	spans []span
	// udp is a deep copy of a UDP service port, whose old endpoints and
	// frontends tell which flows a change leaves stale (see staleUDP).
	udp *ServicePort
	gen uint64 // the last update that wanted it
	err error  // why swap refused it
}

// newFrag builds sp's fragment with b, one worker's builder, which keeps
// its scratch buffers from one service port to the next: a cold start
// builds thousands, and growing new ones for each was a tenth of its
// garbage.
func newFrag(b *builder, sp *ServicePort) (*frag, error) {
	if err := sp.validate(); err != nil {
		return nil, err
	}
	// A fragment's sets and chains are few; the builder's maps, emptied
	// and refilled for each, spare a cold start two maps per service port.
	if b.frs.sets == nil {
		b.frs = ruleset{sets: map[string]*set{}, chains: map[string]*chain{}}
	}
	clear(b.frs.sets)
	clear(b.frs.chains)
	b.rs = &b.frs
	b.resetElems()
	b.service(sp)
	if p := b.slabs.prog; p != nil {
		p.done, p.left = p.done+1, p.left-1
	}
	fr := &b.slabs.frags.take(1)[0]
	fr.key = sp.Key()
	fr.elems, fr.spans = b.elems(sp)
	if sp.Protocol == UDP {
		c := b.clone(sp)
		fr.udp = &c
	}
	fr.chains = b.slabs.chains.take(len(b.frs.chains))[:0]
	for _, c := range b.frs.chains {
		fr.chains = append(fr.chains, c)
	}
	for _, s := range b.frs.sets {
		fr.sets = append(fr.sets, s)
	}
	return fr, nil
}

// slab hands out small slices cut from few large allocations: a cold
// start builds a fragment for each of tens of thousands of service ports,
// and allocating each fragment's pieces one by one was most of the
// garbage collector's work. A zero chunk allocates each slice on its own,
// as an update of a few service ports should: a slice keeps its whole
// chunk alive.
//
// In a bulk build, a chunk that runs out is followed by one sized for the
// fragments left at the rate the slab was used so far, so that a worker's
// share ends up in one large chunk, which asks the kernel for huge pages
// (see chunk): a fresh process pays 11-15 µs for each 4 KiB page it
// touches first on this kind of machine, and a 45,000 service port build
// touched 5,000 of them.
type slab[T any] struct {
	free  []T
	chunk int       // the size of a chunk
	used  int       // how many elements it handed out
	prog  *progress // of the bulk build it serves; nil for others
}

// progress counts a bulk builder's fragments, built and still to build.
type progress struct{ done, left int }

func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	if n > len(s.free) {
		if n > s.chunk/4 {
			return make([]T, n)
		}
		size := s.chunk
		if p := s.prog; p != nil && p.done > 0 {
			size = max(size, s.used*p.left/p.done*17/16)
		}
		s.free = chunk[T](size)
	}
	s.used += n
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// chunk returns at least n zeroed T's. A chunk of 1 MiB or more is
// rounded up to whole 2 MiB pages, allocated 2 MiB larger so that it can
// start on a 2 MiB boundary, and advised to be huge pages before anything
// is written to it: on this kind of machine a fresh 2 MiB page costs a
// small part of what 512 fresh 4 KiB pages do. The head skipped and the
// pages never reached are not written, so fresh from the kernel they cost
// only address space (and count in the heap's size). The advice stays on
// that range of the heap when the chunk is freed, and lets later
// allocations there use huge pages too.
func chunk[T any](n int) []T {
	const huge = 2 << 20
	size := unsafe.Sizeof(*new(T))
	want := uintptr(n) * size
	if want < huge/2 {
		return make([]T, n)
	}
	want = (want + huge - 1) &^ (huge - 1)
	c := make([]T, (want+huge)/size+1)
	p := unsafe.Pointer(unsafe.SliceData(c))
	skip := -uintptr(p) & (huge - 1)
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, skip)), want), unix.MADV_HUGEPAGE) // advice only
	return c[(skip+size-1)/size:]
}

// slabs are a builder's, one per kind of piece.
type slabs struct {
	frags  slab[frag]
	spans  slab[span]
	chains slab[*chain]
	addrs  slab[netip.Addr]
	eps    slab[Endpoint]
	bytes  slab[byte]
	prog   *progress
}

// bulk sizes the chunks for a build of n fragments, which newFrag counts
// in prog.
func (s *slabs) bulk(n int) {
	if n < parallelMin {
		return
	}
	s.prog = &progress{left: n}
	s.frags.chunk, s.spans.chunk = 256, 1024
	s.chains.chunk, s.addrs.chunk, s.eps.chunk = 1024, 1024, 4096
	s.bytes.chunk = 64 << 10
	s.frags.prog, s.spans.prog, s.chains.prog, s.bytes.prog = s.prog, s.prog, s.prog, s.prog
}

// clone deep-copies sp, its slices cut from the builder's slabs.
func (b *builder) clone(sp *ServicePort) ServicePort {
	c := *sp
	c.ClusterIPs = cloneInto(&b.slabs.addrs, sp.ClusterIPs)
	c.ExternalIPs = cloneInto(&b.slabs.addrs, sp.ExternalIPs)
	c.LoadBalancerIPs = cloneInto(&b.slabs.addrs, sp.LoadBalancerIPs)
	c.LoadBalancerSourceRanges = slices.Clone(sp.LoadBalancerSourceRanges)
	c.Endpoints = cloneInto(&b.slabs.eps, sp.Endpoints)
	c.LocalEndpoints = cloneInto(&b.slabs.eps, sp.LocalEndpoints)
	return c
}

func cloneInto[T any](s *slab[T], src []T) []T {
	if src == nil {
		return nil
	}
	out := s.take(len(src))
	copy(out, src)
	return out
}

// parts yields the fragment's run of elements of each base set, by the
// set's index.
func (fr *frag) parts(yield func(set int, r run) bool) {
	for i, s := range fr.spans {
		if !yield(int(s.set), fr.part(i)) {
			return
		}
	}
}

// packed is fr's service port as pack wrote it, after fr's runs.
func (fr *frag) packed() string {
	if n := len(fr.spans); n > 0 {
		return fr.elems[fr.spans[n-1].end:]
	}
	return fr.elems
}

// unchanged tells whether sp is the service port fr was built from,
// packing sp into st's scratch buffer.
func (st *state) unchanged(fr *frag, sp *ServicePort) bool {
	st.scratch = sp.pack(st.scratch[:0])
	return string(st.scratch) == fr.packed()
}

// state is a ruleset kept as the base plus the fragments of every service
// port, with reference counts on what fragments share, so that a sync
// touches only the service ports that changed. rs holds the base, the
// declarations and the chains; the elements of service ports stay in their
// fragments until ruleset puts them together.
type state struct {
	o         *Options
	rs        *ruleset
	base      []*set         // the base sets, by index (sorted by name)
	index     map[string]int // and their indexes by name
	frags     map[Key]*frag
	order     []*frag // the fragments in the order of the last input
	shared    map[elemID]sharedElem
	chainRefs map[string]int
	setRefs   map[string]int
	owner     map[elemID]*frag // frontend → the fragment that claims it
	gen       uint64
	dl        *delta   // the last sync's delta, reused (see newDelta)
	ub        *builder // builds the fragments of a small update (see build)
	scratch   []byte   // a service port packed, to compare with a fragment's
	// overlap lets a cold start fill the maps frags, owner and shared
	// behind the kernel's commit (see behind); pending is that cold start
	// until settle, which the commit calls.
	overlap bool
	pending *cold
}

// elemID names an element of a base set by the set's index and the
// element's key, held in the ID itself: keyed by the key's text, a map
// read that text from its fragment's memory on every lookup, and a cold
// start's lookups were mostly cache misses. keyMax fits every key of a
// dispatch or shared set (an IPv6 hairpin pair is the longest).
type elemID struct {
	set, n int32
	key    [keyMax]byte
}

const keyMax = 32

func idOf(set int, e elem) elemID {
	if e.k > keyMax {
		panic(fmt.Sprintf("dataplane: a key of %d bytes in an elemID", e.k))
	}
	id := elemID{set: int32(set), n: int32(e.k)}
	copy(id.key[:], e.key())
	return id
}

// sharedElem is an element of a shared set and how many fragments hold it.
type sharedElem struct {
	e elem
	n int
}

// delta is what a sync changes, in the order the kernel needs it. Its
// maps are made on first use, since an Update of one endpoint changes the
// elements of two or three sets and nothing else; the zero value is an
// empty delta.
type delta struct {
	addSets, delSets     map[string]bool
	addChains, delChains map[string]*chain
	addElems, delElems   map[string]map[string]elem // set → key → element
	stale                map[flowKey]bool           // UDP flows to clear after the commit
	// spare holds element maps that reset emptied, for put to use again,
	// and puts counts the elements put since.
	spare []map[string]elem
	puts  int
}

// deltaKeep is how many element changes a delta may have recorded to be
// kept for the next sync (see state.newDelta): its maps keep their size
// when emptied, and a large sync's would hold memory and take long to clear.
const deltaKeep = 1024

// made returns *m, making it first.
func made[K comparable, V any](m *map[K]V) map[K]V {
	if *m == nil {
		*m = map[K]V{}
	}
	return *m
}

// newDelta returns an empty delta for one sync of st: the one the last
// sync used, emptied, unless that one grew large. An Update that made a
// delta of its own (seven maps, and one per set it changes) touched fresh
// memory each time, and fresh memory is what a cold call pays for most.
// The delta is valid until the next call.
func (st *state) newDelta() *delta {
	d := st.dl
	if d == nil || d.puts > deltaKeep {
		d = &delta{}
		st.dl = d
		return d
	}
	clear(d.addSets)
	clear(d.delSets)
	clear(d.addChains)
	clear(d.delChains)
	clear(d.stale)
	for _, m := range []map[string]map[string]elem{d.addElems, d.delElems} {
		for _, es := range m {
			clear(es)
			d.spare = append(d.spare, es)
		}
		clear(m)
	}
	d.puts = 0
	return d
}

// put records e as an element of set in m, one of d's element maps.
func (d *delta) put(m *map[string]map[string]elem, set string, e elem) {
	es := made(m)[set]
	if es == nil {
		if n := len(d.spare); n > 0 {
			es, d.spare = d.spare[n-1], d.spare[:n-1]
		} else {
			es = map[string]elem{}
		}
		(*m)[set] = es
	}
	es[e.key()] = e
	d.puts++
}

func newState(o *Options) (*state, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	b := &builder{o: o, rs: &ruleset{table: o.table(), sets: map[string]*set{}, chains: map[string]*chain{}}}
	b.base()
	st := &state{o: o, rs: b.rs, index: map[string]int{}, frags: map[Key]*frag{}, shared: map[elemID]sharedElem{},
		chainRefs: map[string]int{}, setRefs: map[string]int{}, owner: map[elemID]*frag{}}
	for i, name := range slices.Sorted(maps.Keys(b.rs.sets)) {
		st.base = append(st.base, b.rs.sets[name])
		st.index[name] = i
	}
	return st, nil
}

// build computes the whole ruleset for svcs: the single source of the
// rendered text, the Fake and what a full sync sends. Refused service
// ports are left out of it and reported in a *SyncError.
func build(o *Options, svcs []ServicePort) (*ruleset, error) {
	st, err := newState(o)
	if err != nil {
		return nil, err
	}
	_, refused := st.update(svcs, false)
	return st.ruleset(), refusedErr(refused)
}

// ruleset puts the base, the declarations, the chains and every fragment's
// elements together into one ruleset.
func (st *state) ruleset() *ruleset {
	size := map[string]int{}
	for _, fr := range st.frags {
		for set, r := range fr.parts {
			size[st.base[set].name] += r.n
		}
	}
	rs := &ruleset{table: st.rs.table, sets: make(map[string]*set, len(st.rs.sets)), chains: st.rs.chains}
	for name, s := range st.rs.sets {
		c := *s
		c.elems = append(make([]elem, 0, len(s.elems)+size[name]), s.elems...)
		rs.sets[name] = &c
	}
	for id, se := range st.shared {
		s := rs.sets[st.base[id.set].name]
		s.elems = append(s.elems, se.e)
	}
	for _, fr := range st.frags {
		for set, r := range fr.parts {
			if t := rs.sets[st.base[set].name]; !t.shared {
				t.elems = slices.AppendSeq(t.elems, r.all)
			}
		}
	}
	return rs
}

// update makes the state describe svcs, leaving out the service ports it
// refuses, and returns what changed and what it refused. Without track no
// delta is kept, for a state built from nothing.
func (st *state) update(svcs []ServicePort, track bool) (*delta, []PortError) {
	var d *delta
	if track {
		d = st.newDelta()
	}
	// Generations mark the fragments still wanted without building a new
	// map of every service port on each sync.
	st.gen++
	g := st.gen
	// A caller that lists its services in the same order as last time
	// finds each one's fragment by position, without hashing its key.
	inOrder := len(svcs) == len(st.order)
	order := st.order
	if !inOrder {
		order = make([]*frag, len(svcs))
	}
	todo, replaced, refused, inOrder := st.match(svcs, order, inOrder, g)
	changed, bad := st.build(svcs, todo)
	for k, i := range todo {
		order[i] = changed[k]
		if changed[k] != nil {
			changed[k].gen = g
		} else {
			refused = append(refused, refusal{i, bad[0]})
			bad = bad[1:]
		}
	}
	// When every service was found in place, only the replaced ones can be
	// gone.
	gone := replaced
	if !inOrder {
		for _, old := range st.frags {
			if old.gen != g {
				gone = append(gone, old)
			}
		}
	}
	for _, fr := range st.swap(gone, changed, d) {
		at := slices.Index(order, fr)
		order[at] = nil
		refused = append(refused, refusal{at, PortError{fr.key, fr.err}})
	}
	st.order = order
	if len(refused) > 0 {
		// A position without a fragment cannot be found by position.
		st.order = nil
	}
	return d, inInputOrder(refused)
}

// match finds the fragment each of svcs had after the last update, by
// position in order while inOrder, else by key, and reports whether all
// were in order. An unchanged one keeps its place in order and is marked
// with generation g; the positions of the others are returned in todo
// (positions in svcs that need a new fragment), with the fragments they
// replace and the refusals of service ports listed twice. An empty state,
// as on a cold start, finds nothing and reads no service port: every
// position is to do.
func (st *state) match(svcs []ServicePort, order []*frag, inOrder bool, g uint64) ([]int, []*frag, []refusal, bool) {
	if len(st.frags) == 0 {
		return positions(svcs), nil, nil, false
	}
	var replaced []*frag
	var todo []int
	var refused []refusal
	for i := range svcs {
		sp := &svcs[i]
		id := sp.Key()
		var old *frag
		if inOrder && order[i].key == id {
			old = order[i]
		} else {
			inOrder = false
			old = st.frags[id]
		}
		if old != nil && old.gen == g {
			// The first listing keeps its place; swap refuses a new
			// service port listed twice.
			refused = append(refused, refusal{i, PortError{id, listedTwiceErr(id)}})
			order[i] = nil
			continue
		}
		if old == nil {
			todo = append(todo, i)
			continue
		}
		if st.unchanged(old, sp) {
			old.gen = g
			order[i] = old
			continue
		}
		todo = append(todo, i)
		old.gen = g // its replacement is the first listing
		replaced = append(replaced, old)
	}
	return todo, replaced, refused, inOrder
}

// positions returns the positions of svcs: all of them to build.
func positions(svcs []ServicePort) []int {
	out := make([]int, len(svcs))
	for i := range out {
		out[i] = i
	}
	return out
}

// refusal is a refused service port and its position in the input.
type refusal struct {
	at int
	PortError
}

// inInputOrder returns the refusals' errors in the order of the input,
// as SyncError promises.
func inInputOrder(rs []refusal) []PortError {
	if len(rs) == 0 {
		return nil
	}
	slices.SortFunc(rs, func(a, b refusal) int { return a.at - b.at })
	out := make([]PortError, len(rs))
	for i, r := range rs {
		out[i] = r.PortError
	}
	return out
}

// apply changes only the named service ports: each of upsert is added or
// replaces the one with its key, each of remove is deleted. A key listed
// twice fails the whole call before anything changes; a refused upsert is
// left out (its previous version removed) and returned.
func (st *state) apply(upsert []ServicePort, remove []Key) (*delta, []PortError, error) {
	if err := listedTwice(upsert, remove); err != nil {
		return nil, nil, err
	}
	d := st.newDelta()
	// Positions describe a whole input; the next update looks by key.
	st.order = nil
	var todo []int
	var gone []*frag
	for i := range upsert {
		old := st.frags[upsert[i].Key()]
		if old != nil && st.unchanged(old, &upsert[i]) {
			continue
		}
		todo = append(todo, i)
		if old != nil {
			gone = append(gone, old)
		}
	}
	for _, k := range remove {
		if old := st.frags[k]; old != nil {
			gone = append(gone, old)
		}
	}
	changed, refused := st.build(upsert, todo)
	for _, fr := range changed {
		if fr != nil {
			fr.gen = st.gen
		}
	}
	for _, fr := range st.swap(gone, changed, d) {
		refused = append(refused, PortError{fr.key, fr.err})
	}
	return d, refused, nil
}

// listedTwice fails a key that upsert and remove list more than once.
// Few keys are compared with each other, as an Update of one service port
// has: a map of them was fresh memory on each call.
func listedTwice(upsert []ServicePort, remove []Key) error {
	n := len(upsert) + len(remove)
	key := func(i int) Key {
		if i < len(upsert) {
			return upsert[i].Key()
		}
		return remove[i-len(upsert)]
	}
	var seen map[Key]bool
	if n > listedMax {
		seen = make(map[Key]bool, n)
	}
	for i := range n {
		k := key(i)
		twice := seen[k]
		if seen != nil {
			seen[k] = true
		} else {
			for j := range i {
				twice = twice || key(j) == k
			}
		}
		switch {
		case !twice:
		case i < len(upsert):
			return listedTwiceErr(upsert[i].Key())
		default:
			return fmt.Errorf("service %s: both updated and removed: %w", k.id(), ErrConflict)
		}
	}
	return nil
}

// listedMax is the most keys listedTwice compares pairwise.
const listedMax = 8

// swap takes the gone fragments out and puts the changed ones (nil entries
// skipped) in, recording what changed in d when it is not nil; it returns
// the fragments refused for a frontend another holds, or for a key an
// earlier one of changed has, with their err set. Removing first frees a
// frontend moving between services before its new owner claims it; a new
// version of a service port that was already there claims before a
// newcomer, so that the established one keeps its place.
func (st *state) swap(gone, changed []*frag, d *delta) []*frag {
	if d == nil && len(st.frags) == 0 && len(gone) == 0 && len(changed) >= parallelMin {
		if st.overlap && st.behind(changed) {
			return nil
		}
		st.reserve(changed)
		return st.addAll(changed)
	}
	st.reserve(changed)
	was := make(map[Key]bool, len(gone))
	for _, old := range gone {
		was[old.key] = true
	}
	for _, fr := range changed {
		if fr != nil && was[fr.key] && st.replace(st.frags[fr.key], fr, d) {
			st.frags[fr.key] = fr
		}
	}
	for _, old := range gone {
		if k := old.key; st.frags[k] == old {
			st.remove(old, d)
			delete(st.frags, k)
		}
	}
	var refused []*frag
	for _, first := range []bool{true, false} {
		for _, fr := range changed {
			if fr == nil || was[fr.key] != first || st.frags[fr.key] == fr {
				continue
			}
			if fr.err = st.taken(fr); fr.err == nil {
				fr.err = st.add(fr, d)
			}
			if fr.err != nil {
				refused = append(refused, fr)
				continue
			}
			st.frags[fr.key] = fr
		}
	}
	if d != nil {
		for _, old := range gone {
			var now *ServicePort
			if fr := st.frags[old.key]; fr != nil {
				now = fr.udp
			}
			if old.udp != nil {
				staleUDP(made(&d.stale), old.udp, now)
			}
		}
	}
	return refused
}

// addAll puts in the fragments of a cold start, refusing as swap does:
// one core claims the frontends, in order, so that the first listing keeps
// its place, while another counts every fragment's elements and chains in;
// the counts of those refused are then taken out again. A cold start's
// map updates are mostly cache misses, and two cores wait for two at a
// time.
func (st *state) addAll(changed []*frag) []*frag {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, fr := range changed {
			if fr != nil {
				st.count(fr, nil)
			}
		}
	}()
	var refused []*frag
	for _, fr := range changed {
		if fr == nil {
			continue
		}
		if fr.err = st.taken(fr); fr.err == nil {
			fr.err = st.claim(fr)
		}
		if fr.err != nil {
			refused = append(refused, fr)
			continue
		}
		st.frags[fr.key] = fr
	}
	<-done
	for _, fr := range refused {
		st.remove(fr, &delta{}) // a throwaway: nothing of it was sent
	}
	return refused
}

// taken refuses fr when the state already holds its key: an earlier
// listing of the same update took it.
func (st *state) taken(fr *frag) error {
	if _, twice := st.frags[fr.key]; twice {
		return listedTwiceErr(fr.key)
	}
	return nil
}

func listedTwiceErr(k Key) error {
	return fmt.Errorf("service %q: listed twice: %w", k.id(), ErrConflict)
}

// replace puts fr in old's place when it is a new version of the same
// service port with the same frontends, the same chains and as many
// elements of each base set, recording in d only the elements that differ:
// an endpoint's address or port changed. Removing old and adding fr looked
// at every element of both in the delta's and the state's maps, most of an
// Update's time, and an Update after idling pays for each map line it
// touches. It changes nothing and reports false for any other fr, or
// without a delta.
func (st *state) replace(old, fr *frag, d *delta) bool {
	if old == nil || d == nil || len(old.sets)+len(fr.sets) > 0 ||
		len(old.spans) != len(fr.spans) || len(old.chains) != len(fr.chains) {
		return false
	}
	for _, c := range fr.chains {
		if !slices.Contains(old.chains, c) {
			return false
		}
	}
	for i, sp := range fr.spans {
		if o := old.spans[i]; o.set != sp.set || o.n != sp.n ||
			st.base[sp.set].dispatch && !sameKeys(old.part(i), fr.part(i)) {
			return false
		}
	}
	for i, sp := range fr.spans {
		set, s := int(sp.set), st.base[sp.set]
		o, n := old.part(i), fr.part(i)
		if !sameKeys(o, n) {
			st.removeElems(s.name, set, o, d)
			st.addElems(s.name, set, n, d)
			continue
		}
		for a, b := o.s, n.s; len(a) > 0; {
			var eo, en elem
			eo, a = cut(a)
			en, b = cut(b)
			// A shared element's holders are counted by key: the
			// count stays, and so does the element.
			if eo.s != en.s && !s.shared {
				d.put(&d.delElems, s.name, eo)
				d.put(&d.addElems, s.name, en)
			}
			if s.dispatch {
				st.owner[idOf(set, en)] = fr
			}
		}
	}
	return true
}

// part is the run of fr's elements of its i-th span.
func (fr *frag) part(i int) run {
	start := int32(0)
	if i > 0 {
		start = fr.spans[i-1].end
	}
	return run{fr.elems[start:fr.spans[i].end], int(fr.spans[i].n)}
}

// sameKeys tells whether runs a and b have the same keys in the same order.
func sameKeys(a, b run) bool {
	if a.n != b.n {
		return false
	}
	for x, y := a.s, b.s; len(x) > 0; {
		var ea, eb elem
		ea, x = cut(x)
		eb, y = cut(y)
		if ea.key() != eb.key() {
			return false
		}
	}
	return true
}

// reserve sizes the state's maps for the fragments of changed when the
// state is empty, as on a cold start: grown one entry at a time, their
// rehashing was a fifth of a cold start's CPU. Shared elements repeat
// (an endpoint behind many services), so their map is sized for one per
// fragment.
func (st *state) reserve(changed []*frag) {
	if len(st.frags) > 0 || len(changed) < parallelMin {
		return
	}
	owners := 0
	for _, fr := range changed {
		if fr == nil {
			continue
		}
		for set, r := range fr.parts {
			if st.base[set].dispatch {
				owners += r.n
			}
		}
	}
	st.frags = make(map[Key]*frag, len(changed))
	st.owner = make(map[elemID]*frag, owners)
	st.shared = make(map[elemID]sharedElem, len(changed))
}

// newBuilder returns a builder for a build of n fragments.
func (st *state) newBuilder(n int) *builder {
	b := &builder{o: st.o, known: st.rs.chains, built: map[string]*chain{}, index: st.index}
	b.slabs.bulk(n)
	return b
}

// smallBuilder returns the builder kept for builds of fewer than
// parallelMin fragments, whose slabs allocate each piece on its own: an
// Update that made a builder of its own grew its maps and scratch buffers
// from nothing each time, a third of its allocations.
func (st *state) smallBuilder() *builder {
	if st.ub == nil {
		st.ub = st.newBuilder(0)
	}
	clear(st.ub.built) // the chains of the last build are the state's now, or refused
	return st.ub
}

// parallelMin is how many new fragments it takes to build them on several
// cores: a cold start of thousands of service ports, not a routine sync.
const parallelMin = 1024

// build makes the fragments of svcs[i] for each i in todo, nil where it
// refuses one, and returns the refusals in todo's order. Each worker has
// its own cache of the chains it built; the state's are only read.
func (st *state) build(svcs []ServicePort, todo []int) ([]*frag, []PortError) {
	frs := make([]*frag, len(todo))
	errs := make([]error, len(todo))
	run := func(b *builder, lo, hi int) {
		for k := lo; k < hi; k++ {
			frs[k], errs[k] = newFrag(b, &svcs[todo[k]])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/parallelMin+1)
	switch {
	case len(todo) < parallelMin:
		run(st.smallBuilder(), 0, len(todo))
	case workers <= 1:
		run(st.newBuilder(len(todo)), 0, len(todo))
	default:
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := w*len(todo)/workers, (w+1)*len(todo)/workers
				run(st.newBuilder(hi-lo), lo, hi)
			}()
		}
		wg.Wait()
	}
	var refused []PortError
	for k, err := range errs {
		if err != nil {
			refused = append(refused, PortError{svcs[todo[k]].Key(), err})
		}
	}
	return frs, refused
}

// add puts a fragment in, unless one of its frontends is taken (by another
// service port, or twice by itself): then it changes nothing and says why.
func (st *state) add(fr *frag, d *delta) error {
	if err := st.claim(fr); err != nil {
		return err
	}
	st.count(fr, d)
	return nil
}

// claim makes fr the owner of its frontends, unless one is taken.
func (st *state) claim(fr *frag) error {
	for set, r := range fr.parts {
		s := st.base[set]
		if !s.dispatch {
			continue
		}
		var seen [8]string
		keys := seen[:0]
		for e := range r.all {
			if other, ok := st.owner[idOf(set, e)]; ok {
				return fmt.Errorf("service %q: %s %s already used by %q: %w", fr.key.id(), s.name, s.keyText(e), other.key.id(), ErrConflict)
			}
			if slices.Contains(keys, e.key()) {
				return fmt.Errorf("service %q: %s %s listed twice: %w", fr.key.id(), s.name, s.keyText(e), ErrConflict)
			}
			keys = append(keys, e.key())
		}
	}
	st.own(fr)
	return nil
}

// own makes fr the owner of its frontends.
func (st *state) own(fr *frag) {
	for set, r := range fr.parts {
		if st.base[set].dispatch {
			for e := range r.all {
				st.owner[idOf(set, e)] = fr
			}
		}
	}
}

// count counts in fr's own sets, its elements and its chains, recording
// in d (when not nil) what the kernel lacks. It touches none of the maps
// claim does.
func (st *state) count(fr *frag, d *delta) {
	st.declare(fr, d)
	st.countElems(fr, d)
}

// countElems counts in fr's elements of base sets, recording in d (when
// not nil) what the kernel lacks.
func (st *state) countElems(fr *frag, d *delta) {
	for set, r := range fr.parts {
		st.addElems(st.base[set].name, set, r, d)
	}
}

// declare counts in fr's own sets, with their elements, and its chains:
// what count does but for the elements of base sets.
func (st *state) declare(fr *frag, d *delta) {
	for _, s := range fr.sets {
		st.setRefs[s.name]++
		if st.setRefs[s.name] == 1 {
			shell := *s
			shell.elems = nil
			st.rs.sets[s.name] = &shell
			if d != nil {
				if !d.delSets[s.name] {
					made(&d.addSets)[s.name] = true
				}
				delete(d.delSets, s.name)
			}
		}
		st.addElems(s.name, -1, runOf(s.elems), d)
	}
	for _, c := range fr.chains {
		st.chainRefs[c.name]++
		if st.chainRefs[c.name] > 1 {
			continue
		}
		st.rs.chains[c.name] = c
		if d == nil {
			continue
		}
		if old, ok := d.delChains[c.name]; ok && old.text() == c.text() {
			delete(d.delChains, c.name)
			continue
		}
		made(&d.addChains)[c.name] = c
	}
}

// addElems counts in the elements a fragment adds to set name, of index
// set among the base sets (-1 for a set of its own), recording in d (when
// not nil) those the kernel lacks.
func (st *state) addElems(name string, set int, es run, d *delta) {
	shared := set >= 0 && st.base[set].shared
	if !shared && d == nil {
		return
	}
	for e := range es.all {
		if shared && !st.ref(set, e, 1) {
			continue
		}
		if d == nil {
			continue
		}
		if old, ok := d.delElems[name][e.key()]; ok && old.data() == e.data() {
			delete(d.delElems[name], e.key())
			continue
		}
		d.put(&d.addElems, name, e)
	}
}

// removeElems counts out the elements a fragment takes from set name (of
// index set, as for addElems), recording in d those the kernel must
// delete.
func (st *state) removeElems(name string, set int, es run, d *delta) {
	shared := set >= 0 && st.base[set].shared
	for e := range es.all {
		if !shared || st.ref(set, e, -1) {
			d.put(&d.delElems, name, e)
		}
	}
}

func (st *state) remove(fr *frag, d *delta) {
	for set, r := range fr.parts {
		if st.base[set].dispatch {
			for e := range r.all {
				if id := idOf(set, e); st.owner[id] == fr {
					delete(st.owner, id)
				}
			}
		}
		st.removeElems(st.base[set].name, set, r, d)
	}
	st.forget(fr, d)
}

// forget undoes declare, recording in d what the kernel must delete.
func (st *state) forget(fr *frag, d *delta) {
	for _, c := range fr.chains {
		st.chainRefs[c.name]--
		if st.chainRefs[c.name] == 0 {
			delete(st.chainRefs, c.name)
			delete(st.rs.chains, c.name)
			made(&d.delChains)[c.name] = c
		}
	}
	for _, s := range fr.sets {
		st.removeElems(s.name, -1, runOf(s.elems), d)
		st.setRefs[s.name]--
		if st.setRefs[s.name] == 0 {
			delete(st.setRefs, s.name)
			delete(st.rs.sets, s.name)
			made(&d.delSets)[s.name] = true
		}
	}
}

// ref counts one more (by +1) or one fewer (by -1) holder of an element of
// a shared set, by index, and tells whether it was the first or the last.
func (st *state) ref(set int, e elem, by int) bool {
	id := idOf(set, e)
	se := st.shared[id]
	se.n += by
	if se.n == 0 {
		delete(st.shared, id)
		return true
	}
	if se.n == 1 && by > 0 {
		se.e = e
	}
	st.shared[id] = se
	return se.n == 1 && by > 0
}
