package dataplane

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// frag is what one service port contributes: elements of the base sets, its
// own sets (affinity), and the chains it points at, which other service
// ports with the same shape share.
type frag struct {
	sp        ServicePort // a deep copy, to tell an unchanged service cheaply
	rs        *ruleset    // its own sets (affinity) and the chains it uses
	parts     []part      // its elements of base sets
	frontends []string
	gen       uint64 // the last update that wanted it
	err       error  // why swap refused it
}

// newFrag builds sp's fragment with b, one worker's builder, which keeps
// its scratch buffers from one service port to the next: a cold start
// builds thousands, and growing new ones for each was a tenth of its
// garbage.
func newFrag(b *builder, sp *ServicePort) (*frag, error) {
	if err := sp.validate(); err != nil {
		return nil, err
	}
	b.rs = &ruleset{sets: map[string]*set{}, chains: map[string]*chain{}}
	b.frontends, b.parts = nil, make([]part, 0, 6)
	b.service(sp)
	return &frag{sp: cloneSP(sp), rs: b.rs, parts: b.parts, frontends: b.frontends}, nil
}

func cloneSP(sp *ServicePort) ServicePort {
	c := *sp
	c.ClusterIPs = slices.Clone(sp.ClusterIPs)
	c.ExternalIPs = slices.Clone(sp.ExternalIPs)
	c.LoadBalancerIPs = slices.Clone(sp.LoadBalancerIPs)
	c.LoadBalancerSourceRanges = slices.Clone(sp.LoadBalancerSourceRanges)
	c.Endpoints = slices.Clone(sp.Endpoints)
	c.LocalEndpoints = slices.Clone(sp.LocalEndpoints)
	return c
}

func sameSP(a, b *ServicePort) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.PortName == b.PortName && a.Protocol == b.Protocol &&
		a.Port == b.Port && a.NodePort == b.NodePort && a.AffinityTimeout == b.AffinityTimeout &&
		a.ExternalPolicy == b.ExternalPolicy && a.InternalPolicy == b.InternalPolicy && a.Balancing == b.Balancing &&
		slices.Equal(a.ClusterIPs, b.ClusterIPs) && slices.Equal(a.ExternalIPs, b.ExternalIPs) &&
		slices.Equal(a.LoadBalancerIPs, b.LoadBalancerIPs) &&
		slices.Equal(a.LoadBalancerSourceRanges, b.LoadBalancerSourceRanges) && slices.Equal(a.Endpoints, b.Endpoints) &&
		slices.Equal(a.LocalEndpoints, b.LocalEndpoints)
}

// state is a ruleset kept as the base plus the fragments of every service
// port, with reference counts on what fragments share, so that a sync
// touches only the service ports that changed. rs holds the base, the
// declarations and the chains; the elements of service ports stay in their
// fragments until ruleset puts them together.
type state struct {
	o         *Options
	rs        *ruleset
	frags     map[Key]*frag
	order     []*frag // the fragments in the order of the last input
	shared    map[elemID]sharedElem
	chainRefs map[string]int
	setRefs   map[string]int
	owner     map[string]string // dispatch key → service port ID
	gen       uint64
}

// elemID names an element across sets without building a string.
type elemID struct{ set, key string }

// sharedElem is an element of a shared set and how many fragments hold it.
type sharedElem struct {
	e elem
	n int
}

// delta is what a sync changes, in the order the kernel needs it.
type delta struct {
	addSets, delSets     map[string]bool
	addChains, delChains map[string]*chain
	addElems, delElems   map[string]map[string]elem // set → key text → element
	stale                map[flowKey]bool           // UDP flows to clear after the commit
}

func newDelta() *delta {
	return &delta{addSets: map[string]bool{}, delSets: map[string]bool{}, addChains: map[string]*chain{},
		delChains: map[string]*chain{}, addElems: map[string]map[string]elem{}, delElems: map[string]map[string]elem{},
		stale: map[flowKey]bool{}}
}

func newState(o *Options) (*state, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	b := &builder{o: o, rs: &ruleset{table: o.table(), sets: map[string]*set{}, chains: map[string]*chain{}}}
	b.base()
	return &state{o: o, rs: b.rs, frags: map[Key]*frag{}, shared: map[elemID]sharedElem{},
		chainRefs: map[string]int{}, setRefs: map[string]int{}, owner: map[string]string{}}, nil
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
		for _, p := range fr.parts {
			size[p.name] += len(p.elems)
		}
	}
	rs := &ruleset{table: st.rs.table, sets: make(map[string]*set, len(st.rs.sets)), chains: st.rs.chains}
	for name, s := range st.rs.sets {
		c := *s
		c.elems = append(make([]elem, 0, len(s.elems)+size[name]), s.elems...)
		rs.sets[name] = &c
	}
	for id, se := range st.shared {
		s := rs.sets[id.set]
		s.elems = append(s.elems, se.e)
	}
	for _, fr := range st.frags {
		for _, p := range fr.parts {
			if t := rs.sets[p.name]; !t.shared {
				t.elems = append(t.elems, p.elems...)
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
		d = newDelta()
	}
	// Generations mark the fragments still wanted without building a new
	// map of every service port on each sync.
	st.gen++
	g := st.gen
	var replaced []*frag
	var todo []int // positions in svcs that need a new fragment
	var refused []PortError
	pending := map[Key]bool{}
	// A caller that lists its services in the same order as last time
	// finds each one's fragment by position, without hashing its key.
	inOrder := len(svcs) == len(st.order)
	order := st.order
	if !inOrder {
		order = make([]*frag, len(svcs))
	}
	for i := range svcs {
		sp := &svcs[i]
		id := sp.Key()
		var old *frag
		if inOrder && order[i].sp.Key() == id {
			old = order[i]
		} else {
			inOrder = false
			old = st.frags[id]
		}
		if old != nil && old.gen == g || pending[id] {
			// The first listing keeps its place.
			refused = append(refused, PortError{id, fmt.Errorf("service %q: listed twice: %w", sp.ID(), ErrConflict)})
			order[i] = nil
			continue
		}
		if old != nil && sameSP(&old.sp, sp) {
			old.gen = g
			order[i] = old
			continue
		}
		pending[id] = true
		todo = append(todo, i)
		if old != nil {
			replaced = append(replaced, old)
		}
	}
	changed, bad := st.build(svcs, todo)
	for k, i := range todo {
		order[i] = changed[k]
		if changed[k] != nil {
			changed[k].gen = g
		}
	}
	// When every service was found in place, only the replaced ones can be
	// gone.
	gone := replaced
	if !inOrder {
		gone = nil
		for _, old := range st.frags {
			if old.gen != g {
				gone = append(gone, old)
			}
		}
	}
	for _, fr := range st.swap(gone, changed, d) {
		order[slices.Index(order, fr)] = nil
		bad = append(bad, PortError{fr.sp.Key(), fr.err})
	}
	refused = append(refused, bad...)
	st.order = order
	if len(refused) > 0 {
		// A position without a fragment cannot be found by position.
		st.order = nil
	}
	return d, refused
}

// apply changes only the named service ports: each of upsert is added or
// replaces the one with its key, each of remove is deleted. A key listed
// twice fails the whole call before anything changes; a refused upsert is
// left out (its previous version removed) and returned.
func (st *state) apply(upsert []ServicePort, remove []Key) (*delta, []PortError, error) {
	seen := make(map[Key]bool, len(upsert)+len(remove))
	for i := range upsert {
		k := upsert[i].Key()
		if seen[k] {
			return nil, nil, fmt.Errorf("service %q: listed twice: %w", upsert[i].ID(), ErrConflict)
		}
		seen[k] = true
	}
	for _, k := range remove {
		if seen[k] {
			return nil, nil, fmt.Errorf("service %s/%s:%s/%s: both updated and removed: %w", k.Namespace, k.Name, k.PortName, k.Protocol.nftName(), ErrConflict)
		}
		seen[k] = true
	}
	d := newDelta()
	// Positions describe a whole input; the next update looks by key.
	st.order = nil
	var todo []int
	var gone []*frag
	for i := range upsert {
		old := st.frags[upsert[i].Key()]
		if old != nil && sameSP(&old.sp, &upsert[i]) {
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
		refused = append(refused, PortError{fr.sp.Key(), fr.err})
	}
	return d, refused, nil
}

// swap takes the gone fragments out and puts the changed ones (nil entries
// skipped) in, recording what changed in d when it is not nil; it returns
// the fragments refused for a frontend another holds, with their err set.
// Removing first frees a frontend moving between services before its new
// owner claims it; a new version of a service port that was already there
// claims before a newcomer, so that the established one keeps its place.
func (st *state) swap(gone, changed []*frag, d *delta) []*frag {
	was := make(map[Key]bool, len(gone))
	for _, old := range gone {
		st.remove(old, d)
		delete(st.frags, old.sp.Key())
		was[old.sp.Key()] = true
	}
	var refused []*frag
	for _, first := range []bool{true, false} {
		for _, fr := range changed {
			if fr == nil || was[fr.sp.Key()] != first {
				continue
			}
			if fr.err = st.add(fr, d); fr.err != nil {
				refused = append(refused, fr)
				continue
			}
			st.frags[fr.sp.Key()] = fr
		}
	}
	if d != nil {
		for _, old := range gone {
			var now *ServicePort
			if fr := st.frags[old.sp.Key()]; fr != nil {
				now = &fr.sp
			}
			staleUDP(d.stale, &old.sp, now)
		}
	}
	return refused
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
	run := func(lo, hi int) {
		b := &builder{o: st.o, known: st.rs.chains, built: map[string]*chain{}}
		for k := lo; k < hi; k++ {
			frs[k], errs[k] = newFrag(b, &svcs[todo[k]])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/parallelMin+1)
	if workers <= 1 {
		run(0, len(todo))
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(w*len(todo)/workers, (w+1)*len(todo)/workers)
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
	id := fr.sp.ID()
	for i, k := range fr.frontends {
		if other, ok := st.owner[k]; ok {
			return fmt.Errorf("service %q: %s already used by %q: %w", id, k, other, ErrConflict)
		}
		if slices.Contains(fr.frontends[:i], k) {
			return fmt.Errorf("service %q: %s listed twice: %w", id, k, ErrConflict)
		}
	}
	for _, k := range fr.frontends {
		st.owner[k] = id
	}
	for name, s := range fr.rs.sets {
		st.setRefs[name]++
		if st.setRefs[name] == 1 {
			shell := *s
			shell.elems = nil
			st.rs.sets[name] = &shell
			if d != nil {
				if !d.delSets[name] {
					d.addSets[name] = true
				}
				delete(d.delSets, name)
			}
		}
		st.addElems(name, s.elems, d)
	}
	for _, p := range fr.parts {
		st.addElems(p.name, p.elems, d)
	}
	for name, c := range fr.rs.chains {
		st.chainRefs[name]++
		if st.chainRefs[name] > 1 {
			continue
		}
		st.rs.chains[name] = c
		if d == nil {
			continue
		}
		if old, ok := d.delChains[name]; ok && old.text() == c.text() {
			delete(d.delChains, name)
			continue
		}
		d.addChains[name] = c
	}
	return nil
}

// addElems counts in the elements a fragment adds to a set, recording in
// d (when not nil) those the kernel lacks.
func (st *state) addElems(name string, es []elem, d *delta) {
	shared := st.rs.sets[name].shared
	if !shared && d == nil {
		return
	}
	for _, e := range es {
		if shared && !st.ref(name, e, 1) {
			continue
		}
		if d == nil {
			continue
		}
		if old, ok := d.delElems[name][e.keyText]; ok && sameElem(old, e) {
			delete(d.delElems[name], e.keyText)
			continue
		}
		put(d.addElems, name, e)
	}
}

// removeElems counts out the elements a fragment takes from a set,
// recording in d those the kernel must delete.
func (st *state) removeElems(name string, es []elem, d *delta) {
	shared := st.rs.sets[name].shared
	for _, e := range es {
		if !shared || st.ref(name, e, -1) {
			put(d.delElems, name, e)
		}
	}
}

func (st *state) remove(fr *frag, d *delta) {
	id := fr.sp.ID()
	for _, k := range fr.frontends {
		if st.owner[k] == id {
			delete(st.owner, k)
		}
	}
	for name, c := range fr.rs.chains {
		st.chainRefs[name]--
		if st.chainRefs[name] == 0 {
			delete(st.chainRefs, name)
			delete(st.rs.chains, name)
			d.delChains[name] = c
		}
	}
	for _, p := range fr.parts {
		st.removeElems(p.name, p.elems, d)
	}
	for name, s := range fr.rs.sets {
		st.removeElems(name, s.elems, d)
		st.setRefs[name]--
		if st.setRefs[name] == 0 {
			delete(st.setRefs, name)
			delete(st.rs.sets, name)
			d.delSets[name] = true
		}
	}
}

// ref counts one more (by +1) or one fewer (by -1) holder of an element of
// a shared set, and tells whether it was the first or the last.
func (st *state) ref(set string, e elem, by int) bool {
	id := elemID{set, e.keyText}
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

func put(m map[string]map[string]elem, set string, e elem) {
	if m[set] == nil {
		m[set] = map[string]elem{}
	}
	m[set][e.keyText] = e
}

func sameElem(a, b elem) bool { return a.dataText == b.dataText }
