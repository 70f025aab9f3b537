package dataplane

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// coldInput is a cold start of thousands of service ports of several
// shapes: some with affinity (sets of their own), some UDP, endpoints
// behind many services (shared hairpin elements).
func coldInput() []ServicePort {
	svcs := benchServices(parallelMin+100, 2)
	for i := range svcs {
		switch i % 7 {
		case 1:
			svcs[i].AffinityTimeout = 10e9
		case 2:
			svcs[i].Protocol = UDP
		}
	}
	return svcs
}

// summary is what a state holds, in values that compare with ==.
type summary struct {
	Frags                     []string
	Owner                     map[string]string
	Shared                    map[string]string
	ChainRefs, SetRefs        map[string]int
	Sets, Chains, Rendering   string
	Contents                  map[string]string
	Order                     int
	Pending                   bool
	RefusedKeys, RefusedTexts []string
}

func summarize(t *testing.T, st *state, refused []PortError) summary {
	s := summary{Owner: map[string]string{}, Shared: map[string]string{}, ChainRefs: maps.Clone(st.chainRefs),
		SetRefs: maps.Clone(st.setRefs), Contents: contentsText(t, st), Order: len(st.order)}
	for k, fr := range st.frags {
		if fr.key != k {
			s.Frags = append(s.Frags, fmt.Sprintf("%v under %v", fr.key, k))
		}
		s.Frags = append(s.Frags, k.id())
	}
	slices.Sort(s.Frags)
	for id, fr := range st.owner {
		s.Owner[fmt.Sprint(id)] = fr.key.id()
	}
	for id, se := range st.shared {
		s.Shared[fmt.Sprint(id)] = fmt.Sprintf("%q %d", se.e.s, se.n)
	}
	s.Sets = strings.Join(slices.Sorted(maps.Keys(st.rs.sets)), " ")
	s.Chains = strings.Join(slices.Sorted(maps.Keys(st.rs.chains)), " ")
	s.Rendering = st.ruleset().String()
	for _, pe := range refused {
		s.RefusedKeys = append(s.RefusedKeys, pe.Key.id())
		s.RefusedTexts = append(s.RefusedTexts, pe.Err.Error())
	}
	return s
}

// contentsText is what a full sync of st writes into each set, as the
// kernel reads it, sorted, since the order of a set's elements in a batch
// does not matter.
func contentsText(t *testing.T, st *state) map[string]string {
	es, _ := fullElems(t, st)
	out := map[string]string{}
	for name, e := range es {
		out[name] = strings.Join(e, " ")
	}
	return out
}

// A Dataplane's cold start fills its maps behind the kernel's commit when
// sorted hashes prove that nothing is refused (state.behind), and takes
// the exact path otherwise: either way, the state a full sync sends and,
// once settled, the state later syncs look things up in must be what the
// exact path builds, with the same refusals.
func TestBehindSameState(t *testing.T) {
	clash := coldInput()[100]
	clash.Name = "clash" // a later listing of svc-100's ClusterIP
	twice := coldInput()[40]
	twice.Endpoints = nil // another version of svc-40, listed after it
	own := svcNamed("own", "10.250.0.1")
	own.ClusterIPs = append(own.ClusterIPs, own.ClusterIPs[0])
	invalid := svcNamed("invalid", "10.250.0.2")
	invalid.Port = 0
	for _, tc := range []struct {
		name   string
		in     []ServicePort
		behind bool
	}{
		{"distinct", coldInput(), true},
		{"listed twice", append(coldInput(), twice), false},
		{"frontend taken", append(coldInput(), clash), false},
		{"frontend twice in one service port", append(coldInput(), own), false},
		{"invalid", append(coldInput(), invalid), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exact, err := newState(&Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, wantRefused := exact.update(tc.in, false)
			want := summarize(t, exact, wantRefused)
			st, _ := newState(&Options{})
			st.overlap = true
			_, refused := st.update(tc.in, false)
			if behind := st.pending != nil; behind != tc.behind {
				t.Fatalf("maps filled behind the commit: %v; want %v", behind, tc.behind)
			}
			if got := contentsText(t, st); !reflect.DeepEqual(got, want.Contents) {
				t.Error("before settle, contents differ from the exact path's")
			}
			st.settle()
			if got := summarize(t, st, refused); !reflect.DeepEqual(got, want) {
				t.Errorf("settled state differs from the exact path's:\n got %+v\nwant %+v", got.RefusedTexts, want.RefusedTexts)
				for _, f := range []string{"Frags", "Owner", "Shared", "ChainRefs", "SetRefs", "Sets", "Chains", "Rendering", "Contents", "Order"} {
					if !reflect.DeepEqual(reflect.ValueOf(got).FieldByName(f).Interface(), reflect.ValueOf(want).FieldByName(f).Interface()) {
						t.Errorf("%s differs", f)
					}
				}
			}
			// Later syncs go on from either state alike.
			change := slices.Clone(tc.in[:3])
			change[1].Endpoints = []Endpoint{{Addr: netip.MustParseAddrPort("10.245.0.1:80")}}
			for _, s := range []*state{exact, st} {
				if _, _, err := s.apply(change, []Key{tc.in[5].Key()}); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := summarize(t, st, nil), summarize(t, exact, nil); !reflect.DeepEqual(got, want) {
				t.Error("after an Update, the state differs from the exact path's")
			}
		})
	}
}

// Two different keys of one hash must not be taken for one: distinct
// reports false for two equal hashes of frontends or service ports, and
// for two different shared elements of one hash, so that the exact path
// decides; equal shared elements are kept once.
func TestDistinctCollisions(t *testing.T) {
	st, err := newState(&Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := coldInput()
	frs, refused := st.build(in, positions(in))
	if refused != nil {
		t.Fatal(refused)
	}
	base := ruleset{chains: maps.Clone(st.rs.chains), sets: maps.Clone(st.rs.sets)}
	seed := maphash.MakeSeed()
	exact := func(s string) uint64 { return maphash.String(seed, s) }
	// collide is exact, but for b, which it hashes as a.
	collide := func(a, b string) func(string) uint64 {
		return func(s string) uint64 {
			if s == b {
				s = a
			}
			return exact(s)
		}
	}
	first := func(fr *frag, kind func(*set) bool) string {
		for i, sp := range fr.spans {
			if kind(st.base[sp.set]) {
				e, _ := cut(fr.part(i).s)
				return e.key()
			}
		}
		t.Fatal("no such element")
		return ""
	}
	dispatch := func(s *set) bool { return s.dispatch }
	shared := func(s *set) bool { return s.shared }
	for _, tc := range []struct {
		name string
		hash func(string) uint64
	}{
		{"every hash equal", func(string) uint64 { return 7 }},
		{"two frontends", collide(first(frs[0], dispatch), first(frs[1], dispatch))},
		{"two shared elements", collide(first(frs[0], shared), first(frs[1], shared))},
		{"two names", collide(frs[0].key.Name, frs[1].key.Name)},
	} {
		if _, ok := st.distinct(frs, tc.hash); ok {
			t.Errorf("distinct with %s of one hash = true; want false", tc.name)
		}
		if n := len(st.chainRefs) + len(st.setRefs) + len(st.rs.chains) + len(st.rs.sets); n != len(base.chains)+len(base.sets) {
			t.Errorf("distinct with %s of one hash left %d declarations; want the base's %d", tc.name, n, len(base.chains)+len(base.sets))
		}
	}
	once, ok := st.distinct(frs, exact)
	if !ok {
		t.Fatal("distinct with distinct hashes = false; want true")
	}
	want := map[string]bool{}
	for _, fr := range frs {
		for i, sp := range fr.spans {
			if st.base[sp.set].shared {
				for e := range fr.part(i).all {
					want[fmt.Sprint(sp.set, e.s)] = true
				}
			}
		}
	}
	got := map[string]bool{}
	for _, p := range once {
		got[fmt.Sprint(p.set, pick(frs, p).s)] = true
	}
	if len(once) != len(want) || !maps.Equal(got, want) {
		t.Errorf("distinct kept %d shared elements, %d different; want the %d there are", len(once), len(got), len(want))
	}
}

// TestKernelIsolatesBehind: when the kernel refuses the batch of a cold
// start whose maps are filled behind its commit, the commit waits for the
// maps, then finds the service port to blame and leaves it out, and the
// state is what the kernel holds, for later syncs to go on from.
func TestKernelIsolatesBehind(t *testing.T) {
	o := Options{}
	d, _ := kernelDataplane(t, o)
	good := benchServices(parallelMin, 1)
	bad := svcNamed("broken", "10.250.7.7")
	in := append(slices.Clone(good), bad)
	st, err := newState(&d.opts)
	if err != nil {
		t.Fatal(err)
	}
	st.overlap = true
	frs, _ := st.build(in, positions(in))
	breakKey(st, frs[len(frs)-1])
	if refused := st.swap(nil, frs, nil); refused != nil || st.pending == nil {
		t.Fatalf("swap refused %v, maps filled behind the commit: %v; want none refused, true", refused, st.pending != nil)
	}
	commitRefusing(t, d, st, bad.Key())
	assertKernel(t, d, o, good)
	good[3].Endpoints = nil
	if st, err := d.Sync(t.Context(), good); err != nil || st.Full {
		t.Fatalf("Sync after isolation = %+v, %v; want an incremental sync", st, err)
	}
	assertKernel(t, d, o, good)
}

// byHash orders positions by hash, equal hashes in the order they came,
// whatever the hashes' top bits, and gives up when the hashes crowd into
// few buckets out of order.
func TestByHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(int) uint64 { return rng.Uint64() }
	for _, tc := range []struct {
		name string
		n    int
		hash func(i int) uint64
		ok   bool
	}{
		{"none", 0, random, true},
		{"one", 1, random, true},
		{"random", 5000, random, true},
		{"few values", 5000, func(int) uint64 { return rng.Uint64N(1000) << 54 }, true},
		{"equal", 5000, func(int) uint64 { return 7 }, true},
		{"small values", 5000, func(int) uint64 { return rng.Uint64N(3000) }, false},
		{"descending", 1000, func(i int) uint64 { return uint64(1000 - i) }, false},
	} {
		hs := make([]uint64, tc.n)
		for i := range hs {
			hs[i] = tc.hash(i)
		}
		order, ok := byHash(hs)
		if ok != tc.ok {
			t.Errorf("%s: byHash ok = %v; want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want := make([]int32, len(hs))
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return cmp.Compare(hs[a], hs[b]) })
		if !slices.Equal(order, want) {
			t.Errorf("%s: byHash order differs from a stable sort by hash", tc.name)
		}
	}
}
