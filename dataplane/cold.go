package dataplane

import (
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
)

// A cold start's maps behind the kernel's commit.
//
// The state's maps of fragments by key, owners of frontends and holders of
// shared elements are what later syncs look things up in; a full sync
// needs none of them, only which service ports are refused and which
// shared elements to send once. Making and filling them was a fifth of a
// fresh process's cold start, on the critical path, while the kernel's
// commit that follows keeps one core busy and leaves the other idle. So a
// Dataplane's cold start puts 64-bit hashes of the keys, the frontends and
// the shared elements in order (see distinct): when no two hashes of keys
// or frontends are equal, nothing is refused, and the shared elements of
// one hash, compared byte by byte, are sent once; the maps are then filled
// on the other core while the kernel commits (see Dataplane.commit). Two
// equal hashes of keys or frontends, a conflict or a collision, send it
// down the exact path instead (addAll), and so do two different shared
// elements of one hash.

// cold is a cold start whose maps are being filled behind the kernel's
// commit.
type cold struct {
	frags  []*frag       // every fragment, in the order of the input
	shared []sharedPick  // every element of shared sets, each once
	done   chan struct{} // closed when the maps are filled
}

// sharedPick is an element of a shared base set, of index set: the one
// at offset at in the elements of frag fr of a cold start. Without a
// pointer in it, making tens of thousands costs the garbage collector
// nothing.
type sharedPick struct{ set, fr, at int32 }

// pick returns the element p names among the fragments frs.
func pick(frs []*frag, p sharedPick) elem {
	e, _ := cut(frs[p.fr].elems[p.at:])
	return e
}

// settle waits until the maps of a cold start are filled.
func (st *state) settle() {
	if st.pending != nil {
		<-st.pending.done
		st.pending = nil
	}
}

// behind puts in the fragments of a cold start when distinct finds that
// none is refused, and reports whether it did. Their sets and chains are
// declared at once (by distinct), since the batch declares them before
// anything else; their maps are filled on another goroutine, which settle
// waits for. When it reports false, nothing changed.
func (st *state) behind(changed []*frag) bool {
	frs := make([]*frag, 0, len(changed))
	for _, fr := range changed {
		if fr != nil {
			frs = append(frs, fr)
		}
	}
	seed := maphash.MakeSeed()
	shared, ok := st.distinct(frs, func(s string) uint64 { return maphash.String(seed, s) })
	if !ok {
		return false
	}
	c := &cold{frags: frs, shared: shared, done: make(chan struct{})}
	st.pending = c
	go func() {
		defer close(c.done)
		st.reserve(frs)
		for _, fr := range frs {
			st.frags[fr.key] = fr
			st.fill(fr)
		}
	}()
	return true
}

// fill does for fr what claim and count do, less the checks distinct
// made and the declarations it did.
func (st *state) fill(fr *frag) {
	st.own(fr)
	st.countElems(fr, nil)
}

// distinct tells whether frs have distinct keys and distinct frontends
// (none repeats one of its own either), so that an empty state refuses
// none of them, and returns the elements of shared sets, each once, as
// the first fragment listing it has it. Two equal hashes of keys or
// frontends make it report false, whether or not the keys are equal, and
// so do two different shared elements of one hash. hash is a 64-bit hash
// of a string.
//
// The frontends are hashed and ordered on another core, which then also
// declares the fragments' sets and chains (see declare) when they are
// distinct, taking its time from the shared elements' on this one; they
// are forgotten again if the shared elements are not.
func (st *state) distinct(frs []*frag, hash func(string) uint64) ([]sharedPick, bool) {
	fronts := true
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs := st.frontHashes(hash, frs)
		order, ok := byHash(hs)
		for i := 1; ok && i < len(order); i++ {
			ok = hs[order[i]] != hs[order[i-1]]
		}
		if fronts = ok; ok {
			for _, fr := range frs {
				st.declare(fr, nil)
			}
		}
	}()
	shared, ok := st.sharedOnce(hash, frs)
	<-done
	if fronts && !ok {
		throwaway := &delta{} // nothing was sent
		for _, fr := range frs {
			st.forget(fr, throwaway)
		}
	}
	return shared, ok && fronts
}

// frontHashes hashes the key and the frontends of each of frs.
func (st *state) frontHashes(hash func(string) uint64, frs []*frag) []uint64 {
	n := len(frs)
	for _, fr := range frs {
		for _, sp := range fr.spans {
			if st.base[sp.set].dispatch {
				n += int(sp.n)
			}
		}
	}
	hs := make([]uint64, 0, n)
	for _, fr := range frs {
		k := &fr.key
		h := hash(k.Namespace)*prime ^ hash(k.Name)
		h = h*prime ^ hash(k.PortName)
		hs = append(hs, h*prime^uint64(k.Protocol))
		for i, sp := range fr.spans {
			if st.base[sp.set].dispatch {
				for e := range fr.part(i).all {
					hs = append(hs, elemHash(hash, int(sp.set), e))
				}
			}
		}
	}
	return hs
}

// prime mixes the hashes of a key's parts and a base set's index into an
// element's hash.
const prime = 0x9e3779b97f4a7c15

func elemHash(hash func(string) uint64, set int, e elem) uint64 {
	return hash(e.key()) ^ uint64(set+1)*prime
}

// sharedOnce returns the elements of shared sets that frs hold, each once
// as the first of frs to hold it has it, in the order of frs, and false
// when two different ones have one hash.
func (st *state) sharedOnce(hash func(string) uint64, frs []*frag) ([]sharedPick, bool) {
	n := 0
	for _, fr := range frs {
		for _, sp := range fr.spans {
			if st.base[sp.set].shared {
				n += int(sp.n)
			}
		}
	}
	ps := make([]sharedPick, 0, n)
	hs := make([]uint64, 0, n)
	for f, fr := range frs {
		at := int32(0)
		for _, sp := range fr.spans {
			if !st.base[sp.set].shared {
				at = sp.end
				continue
			}
			for at < sp.end {
				e, _ := cut(fr.elems[at:])
				ps = append(ps, sharedPick{sp.set, int32(f), at})
				hs = append(hs, elemHash(hash, int(sp.set), e))
				at += 2 + int32(len(e.s))
			}
		}
	}
	order, ok := byHash(hs)
	if !ok {
		return nil, false
	}
	// first is, for each element, the first listed of its hash. The keys
	// are then compared in the order of the input, which reads the
	// fragments' memory front to back, not in the order of the hashes.
	first := make([]int32, len(hs))
	for k, i := range order {
		first[i] = i
		if f := order[max(k-1, 0)]; hs[f] == hs[i] {
			first[i] = first[f]
		}
	}
	for j, i := range first {
		if i == int32(j) {
			continue
		}
		if ps[i].set != ps[j].set || pick(frs, ps[i]).key() != pick(frs, ps[j]).key() {
			return nil, false
		}
		ps[j].set = -1
	}
	return slices.DeleteFunc(ps, func(p sharedPick) bool { return p.set < 0 }), true
}

// byHash returns the positions of hs in the order of their hashes, those
// of equal hashes in the order of hs. It spreads them over about as many
// buckets by their top bits and orders each bucket, few of them, by
// insertion: a comparison sort of a cold start's tens of thousands of
// hashes took longer than the map updates it spares. Equal hashes (a
// shared element listed many times) cost no move; when the moves would
// pass movesMax per hash, which only a poor hash makes, it reports false.
func byHash(hs []uint64) ([]int32, bool) {
	shift := 64 - max(bits.Len(uint(len(hs)))-1, 0)
	end := make([]int32, 1<<(64-shift))
	for _, h := range hs {
		end[h>>shift]++
	}
	var sum int32
	for b, n := range end {
		end[b] = sum // its start, until the positions move it to its end
		sum += n
	}
	order := make([]int32, len(hs))
	for i, h := range hs {
		b := h >> shift
		order[end[b]] = int32(i)
		end[b]++
	}
	moves, start := movesMax*len(hs), int32(0)
	for _, e := range end {
		for i := start + 1; i < e; i++ {
			for j := i; j > start && hs[order[j-1]] > hs[order[j]]; j-- {
				order[j-1], order[j] = order[j], order[j-1]
				if moves--; moves < 0 {
					return nil, false
				}
			}
		}
		start = e
	}
	return order, true
}

// movesMax is how many moves per hash byHash makes at most.
const movesMax = 4

// fragments returns every fragment of st, in the order of the input on a
// cold start whose maps are still being filled.
func (st *state) fragments() []*frag {
	if c := st.pending; c != nil {
		return c.frags
	}
	return slices.Collect(maps.Values(st.frags))
}

// sharedElems yields each element of a shared base set that fragments
// hold, once, with the set's index.
func (st *state) sharedElems(yield func(int, elem) bool) {
	if c := st.pending; c != nil {
		for _, p := range c.shared {
			if !yield(int(p.set), pick(c.frags, p)) {
				return
			}
		}
		return
	}
	for id, se := range st.shared {
		if !yield(int(id.set), se.e) {
			return
		}
	}
}
