package dataplane

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/nftables"
)

// tx fills one batch for one table: set elements straight into b, every
// other message through c, google/nftables' encoder into b (see
// Dataplane.newEncoder), and counts them into stats.
type tx struct {
	c     *nftables.Conn
	b     *batch
	t     *nftables.Table
	stats *Stats
	// setID is the last set ID given in this transaction: google/nftables
	// would draw one from a package-level counter that two Dataplanes of one
	// process race on.
	setID uint32
	// keys and gone are scratch for the names of a delta's sets and
	// chains, kept from batch to batch (see Dataplane.send).
	keys, gone []string
}

// sortedKeys puts the keys of m into dst, sorted.
func sortedKeys[V any](dst []string, m map[string]V) []string {
	dst = dst[:0]
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// encode moves the messages queued in c into b, before b takes elements
// or is sent: the batch keeps the order they were asked for in.
func (x *tx) encode() error {
	return x.c.Flush()
}

// full replaces the table in one transaction: add (so that delete cannot
// fail), delete, then create everything. Connections keep their conntrack
// NAT state across the swap, and new ones see either the old or the new
// ruleset, never a mix. The elements go straight from st's fragments into
// the batch, one set at a time: interleaving the sets' messages made the
// kernel's commit slower (0.7 s against 0.5 s for 10,000 × 10, in one run
// each).
func (x *tx) full(st *state) error {
	x.c.AddTable(x.t)
	x.c.DelTable(x.t)
	x.c.AddTable(x.t)
	dl := &delta{addSets: make(map[string]bool, len(st.rs.sets)), addChains: maps.Clone(st.rs.chains)}
	for name := range st.rs.sets {
		dl.addSets[name] = true
	}
	if err := x.delta(st.rs, dl); err != nil {
		return err
	}
	if err := x.encode(); err != nil {
		return err
	}
	cs := st.contents()
	x.b.grow(cs)
	for _, name := range slices.Sorted(maps.Keys(st.rs.sets)) {
		x.start(name, st.rs.sets[name], true)
		if c := cs[name]; c != nil {
			x.add(c.elems, true)
			for _, r := range c.runs {
				x.addRun(r, true)
			}
		}
	}
	x.b.endElems()
	return nil
}

// content is what a full sync writes into one set: elements that are
// the set's own or shared, then the runs of the fragments.
type content struct {
	elems []elem
	runs  []run
}

// contents returns what a full sync writes into each set: a base set's
// own elements, then those of the fragments or, for a shared set, the
// ones the fragments share; a fragment's own set's elements. The lists
// are sized by counting first: grown by appending, they were a tenth of a
// cold start's garbage.
func (st *state) contents() map[string]*content {
	frs := st.fragments()
	n := make([]int, len(st.base))
	for _, fr := range frs {
		for _, s := range fr.spans {
			n[s.set]++
		}
	}
	for set := range st.sharedElems {
		n[set]++
	}
	byIndex := make([]content, len(st.base))
	for i, s := range st.base {
		if s.shared {
			byIndex[i].elems = append(make([]elem, 0, len(s.elems)+n[i]), s.elems...)
		} else {
			byIndex[i] = content{elems: s.elems, runs: make([]run, 0, n[i])}
		}
	}
	for _, fr := range frs {
		for set, r := range fr.parts {
			if !st.base[set].shared {
				byIndex[set].runs = append(byIndex[set].runs, r)
			}
		}
	}
	for set, e := range st.sharedElems {
		byIndex[set].elems = append(byIndex[set].elems, e)
	}
	cs := make(map[string]*content, len(st.rs.sets))
	for i, s := range st.base {
		cs[s.name] = &byIndex[i]
	}
	for _, fr := range frs {
		for _, s := range fr.sets {
			c := cs[s.name]
			if c == nil {
				c = &content{}
				cs[s.name] = c
			}
			c.elems = append(c.elems, s.elems...)
		}
	}
	return cs
}

// start opens a run of element messages for set name, s.
func (x *tx) start(name string, s *set, add bool) {
	x.b.startElems(byte(x.t.Family), x.t.Name, name, s, add)
}

// add writes elements into the open run and counts them.
func (x *tx) add(es []elem, add bool) {
	for _, e := range es {
		x.one(e, add)
	}
}

// addRun is add for a fragment's run: a loop of its own, since an
// iterator passed in as a value would cost a closure on the heap per run.
func (x *tx) addRun(r run, add bool) {
	for e := range r.all {
		x.one(e, add)
	}
}

func (x *tx) one(e elem, add bool) {
	x.b.elem(e)
	if add {
		x.stats.ElementsAdded++
	} else {
		x.stats.ElementsRemoved++
	}
	x.stats.Bytes += len(e.s)
	if x.b.kind == elemVerdict {
		x.stats.Bytes -= len(e.data()) // the verdict's text
	}
}

func (rs *ruleset) nftSet(t *nftables.Table, name string) *nftables.Set {
	s := rs.sets[name]
	ns := &nftables.Set{Table: t, Name: name, KeyType: s.keyType(), Interval: s.interval,
		Concatenation: len(s.keyTypes) > 1, HasTimeout: s.dynamic, Dynamic: s.dynamic,
		Timeout: s.timeout, Size: s.size}
	if len(s.dataTypes) > 0 {
		ns.IsMap = true
		ns.DataType = concatType(s.dataTypes)
	}
	return ns
}

// elems adds or deletes elements of one set.
func (x *tx) elems(want *ruleset, name string, elems map[string]elem, add bool) {
	x.start(name, want.sets[name], add)
	for _, e := range elems {
		x.one(e, add)
	}
	x.b.endElems()
}

// delta queues the changes of one incremental sync; want is the state
// after it, for the declarations of new sets. The names are sorted so that
// a batch is the same from run to run; they are few, in scratch slices.
func (x *tx) delta(want *ruleset, dl *delta) error {
	t, c := x.t, x.c
	x.keys = sortedKeys(x.keys, dl.addSets)
	for _, name := range x.keys {
		ns := want.nftSet(t, name)
		x.setID++
		ns.ID = x.setID
		if err := c.AddSet(ns, nil); err != nil {
			return fmt.Errorf("add set %q: %w", name, err)
		}
	}
	// Every chain exists before any rule may jump to it.
	x.keys = sortedKeys(x.keys, dl.addChains)
	for _, name := range x.keys {
		nc := &nftables.Chain{Name: name, Table: t}
		if _, changed := dl.delChains[name]; changed {
			c.FlushChain(nc)
			continue
		}
		if h := dl.addChains[name].hook; h != nil {
			prio := nftables.ChainPriority(h.prio)
			nc.Type, nc.Hooknum, nc.Priority = h.typ, &h.num, &prio
		}
		c.AddChain(nc)
	}
	for _, name := range x.keys {
		nc := &nftables.Chain{Name: name, Table: t}
		for _, r := range dl.addChains[name].rules {
			c.AddRule(&nftables.Rule{Table: t, Chain: nc, Exprs: r.exprs})
		}
	}
	if len(dl.delElems) > 0 || len(dl.addElems) > 0 {
		if err := x.encode(); err != nil {
			return err
		}
	}
	x.keys = sortedKeys(x.keys, dl.delElems)
	for _, name := range x.keys {
		// A deleted set takes its elements along. A set whose changes
		// all cancelled out (deleted, then added back as they were)
		// needs no message.
		if es := dl.delElems[name]; len(es) > 0 && !dl.delSets[name] {
			x.elems(want, name, es, false)
		}
	}
	x.keys = sortedKeys(x.keys, dl.addElems)
	for _, name := range x.keys {
		if es := dl.addElems[name]; len(es) > 0 {
			x.elems(want, name, es, true)
		}
	}
	x.dropChains(dl)
	x.keys = sortedKeys(x.keys, dl.delSets)
	for _, name := range x.keys {
		c.DelSet(&nftables.Set{Table: t, Name: name})
	}
	return nil
}

// dropChains deletes the chains dl removes. Deleted chains may jump to
// each other: empty them all first, so that no deletion finds its chain
// still referenced (EBUSY).
func (x *tx) dropChains(dl *delta) {
	x.gone = x.gone[:0]
	x.keys = sortedKeys(x.keys, dl.delChains)
	for _, name := range x.keys {
		if _, changed := dl.addChains[name]; !changed {
			x.gone = append(x.gone, name)
			x.c.FlushChain(&nftables.Chain{Name: name, Table: x.t})
		}
	}
	for _, name := range x.gone {
		x.c.DelChain(&nftables.Chain{Name: name, Table: x.t})
	}
}
