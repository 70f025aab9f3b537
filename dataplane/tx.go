package dataplane

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
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
// the batch, the messages of one set after another: interleaving the
// sets' messages made the kernel's commit slower (0.7 s against 0.5 s for
// 10,000 × 10, in one run each).
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
	x.fill(st)
	return nil
}

// fill writes every set's elements: a base set's own, then those of the
// fragments or, for a shared set, the ones the fragments share; a
// fragment's own set's. Each set's messages go into a part of the batch
// of their own, sized from above by a first pass over the fragments, so
// that a second pass writes every set at once: a pass per set read each
// fragment's elements once per set they have, from memory gone cold
// since. The parts are then joined in the sets' order.
func (x *tx) fill(st *state) {
	frs := st.inOrder()
	names := slices.Sorted(maps.Keys(st.rs.sets))
	at := make(map[string]int, len(names)) // where each set's part is in parts
	for i, name := range names {
		at[name] = i
	}
	base := make([]int, len(st.base)) // the same, by base set index
	for i, s := range st.base {
		base[i] = at[s.name]
	}
	n, size := make([]int, len(names)), make([]int, len(names))
	for i, s := range st.base {
		n[base[i]], size[base[i]] = elemsSize(s.elems)
	}
	for _, fr := range frs {
		prev := int32(0)
		for _, sp := range fr.spans {
			n[base[sp.set]] += int(sp.n)
			size[base[sp.set]] += int(sp.end - prev)
			prev = sp.end
		}
		for _, s := range fr.sets {
			k, z := elemsSize(s.elems)
			n[at[s.name]] += k
			size[at[s.name]] += z
		}
	}
	total := 1 << 16 // the batch's end, and what follows a probe's full sync
	for i, name := range names {
		size[i] = elemsMax(x.t.Name, name, st.rs.sets[name], n[i], size[i])
		total += size[i]
	}
	x.b.endElems()
	x.b.grow(total)
	parts := make([]batch, len(names))
	off := len(x.b.buf)
	for i, name := range names {
		parts[i] = x.b.part(off, size[i])
		off += size[i]
		parts[i].startElems(byte(x.t.Family), x.t.Name, name, st.rs.sets[name], true)
	}
	for i, s := range st.base {
		x.add(&parts[base[i]], s.elems)
	}
	for set, e := range st.sharedElems {
		x.one(&parts[base[set]], e)
	}
	for _, fr := range frs {
		for i, sp := range fr.spans {
			if !st.base[sp.set].shared {
				x.addRun(&parts[base[sp.set]], fr.part(i))
			}
		}
		for _, s := range fr.sets {
			x.add(&parts[at[s.name]], s.elems)
		}
	}
	x.b.join(parts, size)
}

// elemsSize is how many es are and what they take as a run.
func elemsSize(es []elem) (n, size int) {
	for _, e := range es {
		size += 2 + len(e.s)
	}
	return len(es), size
}

// inOrder returns st's fragments in the order of the input when st has
// it, the order a cold start built them in, whose memory is then read
// front to back; else as fragments does.
func (st *state) inOrder() []*frag {
	if st.pending == nil && len(st.order) == len(st.frags) {
		return st.order
	}
	return st.fragments()
}

// start opens a run of element messages for set name, s.
func (x *tx) start(name string, s *set, add bool) {
	x.b.startElems(byte(x.t.Family), x.t.Name, name, s, add)
}

// add writes elements into the open run of b, a part of x.b, and counts
// them.
func (x *tx) add(b *batch, es []elem) {
	for _, e := range es {
		x.one(b, e)
	}
}

// addRun is add for a fragment's run, counted as a whole: a loop of its
// own, since an iterator passed in as a value would cost a closure on the
// heap per run.
func (x *tx) addRun(b *batch, r run) {
	bytes := len(r.s) - 2*r.n
	for s := r.s; len(s) > 0; {
		var e elem
		e, s = cut(s)
		b.elem(e)
		if b.kind == elemVerdict {
			bytes -= len(e.data()) // the verdict's text
		}
	}
	x.stats.ElementsAdded += r.n
	x.stats.Bytes += bytes
}

// one writes e into the open run of b, x.b or a part of it, and counts it
// as added, or removed by a run that deletes.
func (x *tx) one(b *batch, e elem) {
	b.elem(e)
	if b.typ&0xff == unix.NFT_MSG_NEWSETELEM {
		x.stats.ElementsAdded++
	} else {
		x.stats.ElementsRemoved++
	}
	x.stats.Bytes += len(e.s)
	if b.kind == elemVerdict {
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
		x.one(x.b, e)
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
