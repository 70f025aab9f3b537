package endpoints

import (
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func testService() *Service {
	return &Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
		Ports: []ServicePort{{Name: "http", Port: 80}}}
}

func pods(from, n int) []Workload {
	out := make([]Workload, n)
	for i := range out {
		k := from + i
		out[i] = Workload{Namespace: "ns", Name: fmt.Sprintf("p%d", k), Labels: map[string]string{"app": "web"},
			IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)})}, Ready: true}
	}
	return out
}

// apply returns the slices that exist after plan is written.
func apply(existing []Slice, p Plan) []Slice {
	var out []Slice
	for _, e := range existing {
		if slices.Contains(p.Delete, e.Name) || slices.ContainsFunc(p.Update, func(u Slice) bool { return u.Name == e.Name }) {
			continue
		}
		out = append(out, e)
	}
	out = append(out, p.Update...)
	return append(out, p.Create...)
}

func sizes(ss []Slice) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s.Endpoints))
	}
	return n
}

func TestReconcileKnownOutcomes(t *testing.T) {
	s := testService()
	t.Run("250 pods max 100 gives 3 creates", func(t *testing.T) {
		p := mustReconcile(t, Config{}, s, Desired(s, pods(0, 250)), nil)
		if got := sizes(p.Create); !reflect.DeepEqual(got, []int{100, 100, 50}) || len(p.Update)+len(p.Delete) != 0 {
			t.Errorf("Reconcile() creates %v, %d updates, %d deletes; want [100 100 50], 0, 0", got, len(p.Update), len(p.Delete))
		}
	})
	t.Run("74+74 with 300 wanted gives 2 creates", func(t *testing.T) {
		all := Desired(s, pods(0, 300))[0]
		existing := []Slice{
			{Name: "web-a", Family: 4, Ports: all.Ports, Endpoints: all.Endpoints[:74], Labels: sliceLabels(s)},
			{Name: "web-b", Family: 4, Ports: all.Ports, Endpoints: all.Endpoints[74:148], Labels: sliceLabels(s)},
		}
		p := mustReconcile(t, Config{}, s, Desired(s, pods(0, 300)), existing)
		if got := sizes(p.Create); !reflect.DeepEqual(got, []int{100, 52}) || len(p.Update)+len(p.Delete) != 0 {
			t.Errorf("Reconcile() creates %v, %d updates, %d deletes; want [100 52], 0, 0", got, len(p.Update), len(p.Delete))
		}
	})
	t.Run("port change repacks", func(t *testing.T) {
		d := Desired(s, pods(0, 150))
		existing := apply(nil, mustReconcile(t, Config{}, s, d, nil))
		s2 := testService()
		s2.Ports[0].Port = 81
		p := mustReconcile(t, Config{}, s2, Desired(s2, pods(0, 150)), existing)
		if len(p.Create) != 0 || len(p.Delete) != 0 || !reflect.DeepEqual(sizes(p.Update), []int{100, 50}) {
			t.Errorf("Reconcile() = %d creates, updates %v, %d deletes; want create+delete pairs as updates [100 50]", len(p.Create), sizes(p.Update), len(p.Delete))
		}
		for _, u := range p.Update {
			if u.Ports[0].Port != 81 {
				t.Errorf("updated slice %s port = %d; want 81", u.Name, u.Ports[0].Port)
			}
		}
	})
	t.Run("label change updates in place", func(t *testing.T) {
		existing := apply(nil, mustReconcile(t, Config{}, s, Desired(s, pods(0, 150)), nil))
		s2 := testService()
		s2.Labels = map[string]string{"team": "a"}
		p := mustReconcile(t, Config{}, s2, Desired(s2, pods(0, 150)), existing)
		if len(p.Create)+len(p.Delete) != 0 || len(p.Update) != 2 {
			t.Fatalf("Reconcile() = %+v; want 2 updates", p)
		}
		for _, u := range p.Update {
			if u.Labels["team"] != "a" || u.Labels[LabelServiceName] != "web" || u.Labels[LabelManagedBy] != ManagedBy {
				t.Errorf("labels of %s = %v", u.Name, u.Labels)
			}
		}
	})
	t.Run("no endpoints keeps a placeholder", func(t *testing.T) {
		p := mustReconcile(t, Config{}, s, nil, nil)
		if len(p.Create) != 1 || len(p.Create[0].Endpoints) != 0 || p.Create[0].Name != "web-1" {
			t.Fatalf("Reconcile(empty) = %+v; want one placeholder web-1", p)
		}
		again := mustReconcile(t, Config{}, s, nil, apply(nil, p))
		if !again.IsEmpty() {
			t.Errorf("Reconcile(placeholder) = %+v; want empty plan", again)
		}
	})
	t.Run("many port mappings group by map", func(t *testing.T) {
		s := testService()
		s.Ports[0].TargetPort = TargetPort{Name: "http"}
		ws := pods(0, 12)
		for i := range ws {
			ws[i].Ports = []ContainerPort{{Name: "http", Number: uint16(8000 + i)}}
		}
		d := Desired(s, ws)
		p := mustReconcile(t, Config{}, s, d, nil)
		if len(d) != 12 || len(p.Create) != 12 {
			t.Fatalf("Reconcile(12 port mappings) = %d creates of %d groups; want 12 of 12", len(p.Create), len(d))
		}
		existing := apply(nil, p)
		ws[7].Ready = false
		p = mustReconcile(t, Config{}, s, Desired(s, ws), existing)
		if got := renderSizes(p); got != "update web-8:1" {
			t.Errorf("Reconcile(one of 12 port mappings changed) = %q; want %q", got, "update web-8:1")
		}
	})
	t.Run("one changed pod touches one slice", func(t *testing.T) {
		ws := pods(0, 1000)
		existing := apply(nil, mustReconcile(t, Config{}, s, Desired(s, ws), nil))
		ws[500].Ready = false
		p := mustReconcile(t, Config{}, s, Desired(s, ws), existing)
		if len(p.Create)+len(p.Delete) != 0 || len(p.Update) != 1 {
			t.Errorf("Reconcile() = %d creates, %d updates, %d deletes; want one update", len(p.Create), len(p.Update), len(p.Delete))
		}
	})
}

func TestReconcileErrors(t *testing.T) {
	valid := func(edit func(*Service)) *Service {
		s := testService()
		edit(s)
		return s
	}
	d := Desired(testService(), pods(0, 3))
	twin := []Slice{{Name: "web-1", Family: 4}, {Name: "web-2", Family: 4}, {Name: "web-1", Family: 6}}
	for _, tt := range []struct {
		name     string
		cfg      Config
		s        *Service
		existing []Slice
		want     error
	}{
		{"defaults", Config{}, testService(), nil, nil},
		{"max 1", Config{MaxEndpointsPerSlice: 1}, testService(), nil, nil},
		{"max 1000", Config{MaxEndpointsPerSlice: 1000}, testService(), nil, nil},
		{"max negative", Config{MaxEndpointsPerSlice: -1}, testService(), nil, ErrInvalidConfig},
		{"max above 1000", Config{MaxEndpointsPerSlice: 1001}, testService(), nil, ErrInvalidConfig},
		{"repack off", Config{SliceOverheadPercent: -1}, testService(), nil, nil},
		{"no name", Config{}, valid(func(s *Service) { s.Name = "" }), nil, ErrInvalidService},
		{"unknown traffic distribution", Config{}, valid(func(s *Service) { s.TrafficDistribution = "Nearby" }), nil, ErrInvalidService},
		{"PreferSameNode", Config{}, valid(func(s *Service) { s.TrafficDistribution = PreferSameNode }), nil, nil},
		{"dual-stack 6 first", Config{}, valid(func(s *Service) { s.Families = []IPFamily{IPv6, IPv4} }), nil, nil},
		{"family 5", Config{}, valid(func(s *Service) { s.Families = []IPFamily{5} }), nil, ErrInvalidService},
		{"family twice", Config{}, valid(func(s *Service) { s.Families = []IPFamily{IPv4, IPv4} }), nil, ErrInvalidService},
		{"three families", Config{}, valid(func(s *Service) { s.Families = []IPFamily{IPv4, IPv6, IPv4} }), nil, ErrInvalidService},
		{"duplicate slice names", Config{}, testService(), twin, ErrDuplicateSlice},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Reconcile(tt.cfg, tt.s, d, tt.existing)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Reconcile() error = %v; want %v", err, tt.want)
			}
			if err != nil && !p.IsEmpty() {
				t.Errorf("Reconcile() = %+v with error %v; want the empty plan", p, err)
			}
			if err == nil && p.IsEmpty() {
				t.Errorf("Reconcile() = empty plan; want the first slices")
			}
		})
	}
}

func TestSliceLimit(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		n    int
		want int
	}{
		{Config{}, 0, 1},     // a placeholder's group: one spare slice
		{Config{}, 300, 4},   // minimum 3, one spare: 74+74 → 300 stays 2 creates
		{Config{}, 900, 10},  // minimum 9, one spare
		{Config{}, 1000, 11}, // minimum 10: 10 %
		{Config{}, 2001, 23}, // minimum 21, 2 spare
		{Config{MaxEndpointsPerSlice: 10, SliceOverheadPercent: 50}, 95, 15},
		{Config{SliceOverheadPercent: -1}, 1000, -1},
	} {
		if got := tt.cfg.sliceLimit(tt.n); got != tt.want {
			t.Errorf("%+v.sliceLimit(%d) = %d; want %d", tt.cfg, tt.n, got, tt.want)
		}
	}
}

// TestRepack pins what the repack plans: which slices it empties, where
// their endpoints go, and that it leaves Kubernetes' plan alone when the
// slices are within the bound.
func TestRepack(t *testing.T) {
	s := testService()
	all := Desired(s, pods(0, 1000))[0]
	// slicesOf builds existing slices named web-<i+1> holding consecutive
	// runs of all's endpoints, of the given sizes.
	slicesOf := func(sizes ...int) []Slice {
		var out []Slice
		at := 0
		for i, n := range sizes {
			out = append(out, Slice{Name: sliceName("web", i+1), Family: 4, Ports: all.Ports,
				Endpoints: all.Endpoints[at : at+n], Labels: sliceLabels(s)})
			at += n
		}
		return out
	}
	// keepOnly desires the endpoints of existing minus drop per slice,
	// dropped from each slice's end.
	keepOnly := func(existing []Slice, drop ...int) []Group {
		g := Group{Family: 4, Ports: all.Ports}
		for i, e := range existing {
			g.Endpoints = append(g.Endpoints, e.Endpoints[:len(e.Endpoints)-drop[i]]...)
		}
		return []Group{g}
	}
	tenFull := slicesOf(100, 100, 100, 100, 100, 100, 100, 100, 100, 100)
	small := slicesOf(10, 9, 1, 1)
	sparse := slicesOf(10, 10, 3, 3, 3)
	overMax := slicesOf(10, 1, 1, 1, 1, 1)
	for _, tt := range []struct {
		name     string
		cfg      Config
		existing []Slice
		desired  []Group
		want     string // renderSizes of the plan
	}{
		{
			// Kubernetes: ten updates of 50. The repack empties the four
			// smallest (all 50; by name) into the fullest written ones:
			// the same ten writes, six slices instead of ten.
			name: "halving ten slices", existing: tenFull,
			desired: keepOnly(tenFull, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50),
			want:    "update web-4:100 web-5:100 web-6:100 web-7:100 web-8:50 web-9:50; delete web-1 web-10 web-2 web-3",
		},
		{
			name: "halving ten slices, repack off", cfg: Config{SliceOverheadPercent: -1}, existing: tenFull,
			desired: keepOnly(tenFull, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50),
			want:    "update web-10:50 web-1:50 web-2:50 web-3:50 web-4:50 web-5:50 web-6:50 web-7:50 web-8:50 web-9:50",
		},
		{
			// 20 endpoints need 2 slices of 10 (+1 spare); the smallest,
			// unchanged web-3, moves into web-2, which is written anyway.
			name: "one removal crossing the bound", cfg: Config{MaxEndpointsPerSlice: 10}, existing: small,
			desired: keepOnly(small, 0, 1, 0, 0),
			want:    "update web-2:9; delete web-3",
		},
		{
			// Nothing changed, but the slices are over the bound (made
			// with the repack off): the smallest moves into the roomiest
			// unchanged slice.
			name: "sparse slices and no change", cfg: Config{MaxEndpointsPerSlice: 10}, existing: sparse,
			desired: keepOnly(sparse, 0, 0, 0, 0, 0),
			want:    "update web-4:6; delete web-3",
		},
		{
			// web-1 was filled under a maximum of 10; at 5 it has no room
			// and stays, as Kubernetes leaves it.
			name: "a slice over a lowered maximum", cfg: Config{MaxEndpointsPerSlice: 5}, existing: overMax,
			desired: keepOnly(overMax, 0, 0, 0, 0, 0, 0),
			want:    "update web-4:3; delete web-2 web-3",
		},
		{
			name: "sparse slices and no change, repack off", cfg: Config{MaxEndpointsPerSlice: 10, SliceOverheadPercent: -1}, existing: sparse,
			desired: keepOnly(sparse, 0, 0, 0, 0, 0),
			want:    "",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustReconcile(t, tt.cfg, s, tt.desired, tt.existing)
			if got := renderSizes(p); got != tt.want {
				t.Errorf("Reconcile() = %q; want %q", got, tt.want)
			}
			if again := mustReconcile(t, tt.cfg, s, tt.desired, apply(tt.existing, p)); !again.IsEmpty() {
				t.Errorf("second Reconcile() = %q; want empty", renderSizes(again))
			}
		})
	}
}

// renderSizes renders a plan as slice names and endpoint counts, names
// sorted.
func renderSizes(p Plan) string {
	var parts []string
	for _, part := range []struct {
		verb string
		ss   []Slice
	}{{"create", p.Create}, {"update", p.Update}} {
		if len(part.ss) == 0 {
			continue
		}
		var xs []string
		for _, s := range part.ss {
			xs = append(xs, fmt.Sprintf("%s:%d", s.Name, len(s.Endpoints)))
		}
		slices.Sort(xs)
		parts = append(parts, part.verb+" "+strings.Join(xs, " "))
	}
	if len(p.Delete) > 0 {
		parts = append(parts, "delete "+strings.Join(p.Delete, " "))
	}
	return strings.Join(parts, "; ")
}

func TestSliceName(t *testing.T) {
	long := string(make([]byte, 70))
	if got := sliceName(long, 12); len(got) != 63 {
		t.Errorf("len(sliceName(70 chars, 12)) = %d; want 63", len(got))
	}
	if got := sliceName("web", 3); got != "web-3" {
		t.Errorf("sliceName(web, 3) = %q; want web-3", got)
	}
}

// TestReconcileProperties: the planned slices hold exactly the desired
// endpoints, none is over the maximum, and a second pass plans nothing.
func TestReconcileProperties(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkProperties(t, seed) })
	}
}

// Kubernetes does not repack slices when the maximum shrinks, so one run
// keeps one maximum.
func checkProperties(t *testing.T, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	s := testService()
	max := 1 + rng.Intn(150)
	cfg := Config{MaxEndpointsPerSlice: max, SliceOverheadPercent: []int{0, -1, 1, 50}[rng.Intn(4)]}
	var existing []Slice
	ws := pods(0, 50)
	next := 50
	for step := range 300 {
		switch rng.Intn(3) {
		case 0:
			n := rng.Intn(120)
			ws = append(ws, pods(next, n)...)
			next += n
		case 1:
			if len(ws) > 0 {
				k := rng.Intn(len(ws))
				ws = slices.Delete(ws, k, k+rng.Intn(len(ws)-k)+1)
			}
		case 2:
			for range rng.Intn(10) {
				if len(ws) > 0 {
					w := &ws[rng.Intn(len(ws))]
					w.Ready = !w.Ready
				}
			}
		}
		d := Desired(s, ws)
		existing = apply(existing, mustReconcile(t, cfg, s, d, existing))
		got := map[netip.Addr]Endpoint{}
		for _, sl := range existing {
			if len(sl.Endpoints) > max {
				t.Fatalf("step %d: slice %s has %d endpoints; max %d", step, sl.Name, len(sl.Endpoints), max)
			}
			for _, e := range sl.Endpoints {
				if _, dup := got[e.Address]; dup {
					t.Fatalf("step %d: %v in two slices", step, e.Address)
				}
				got[e.Address] = e
			}
		}
		want := 0
		for _, g := range d {
			for _, e := range g.Endpoints {
				want++
				if got[e.Address] != e {
					t.Fatalf("step %d: endpoint %v = %+v; want %+v", step, e.Address, got[e.Address], e)
				}
			}
		}
		if len(got) != want {
			t.Fatalf("step %d: %d endpoints in slices; want %d", step, len(got), want)
		}
		if limit := cfg.sliceLimit(want); limit >= 0 && want > 0 && len(existing) > limit {
			t.Fatalf("step %d: %d slices for %d endpoints; want at most %d", step, len(existing), want, limit)
		}
		if p := mustReconcile(t, cfg, s, d, existing); !p.IsEmpty() {
			t.Fatalf("step %d: second Reconcile() = %+v; want empty", step, p)
		}
	}
}

// TestReconcileUnsortedGroup pins that a hand-built group whose endpoints
// are not sorted by address (the map lookup path) plans the same in-place
// update as the sorted group Desired returns (the binary-search path).
func TestReconcileUnsortedGroup(t *testing.T) {
	s := testService()
	ws := pods(0, 500)
	existing := apply(nil, mustReconcile(t, Config{}, s, Desired(s, ws), nil))
	ws[250].Ready = false
	sorted := Desired(s, ws)
	shuffled := Desired(s, ws)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled[0].Endpoints), func(i, j int) {
		e := shuffled[0].Endpoints
		e[i], e[j] = e[j], e[i]
	})
	want := mustReconcile(t, Config{}, s, sorted, existing)
	got := mustReconcile(t, Config{}, s, shuffled, existing)
	if len(want.Update) != 1 || !reflect.DeepEqual(got, want) {
		t.Errorf("Reconcile(shuffled) = %d creates, %d updates, %d deletes; want the sorted plan with 1 update (%d updates)",
			len(got.Create), len(got.Update), len(got.Delete), len(want.Update))
	}
}

// FuzzReconcile checks the Reconcile invariants (union equals desired, no
// slice over the maximum, a second reconcile is empty) on random states
// derived from the fuzzed seed.
func FuzzReconcile(f *testing.F) {
	for _, seed := range []int64{0, 1, 42, 1 << 40} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed int64) { checkProperties(t, seed) })
}

// mustReconcile is Reconcile for inputs a test knows to be valid.
func mustReconcile(tb testing.TB, cfg Config, s *Service, desired []Group, existing []Slice) Plan {
	tb.Helper()
	p, err := Reconcile(cfg, s, desired, existing)
	if err != nil {
		tb.Fatalf("Reconcile() error = %v; want nil", err)
	}
	return p
}

// TestReconcileStrayEndpoints covers existing slices Reconcile never
// plans itself: an endpoint held twice (the first slice by name keeps it)
// and slices interleaved so finely that placement leaves its runs for
// the bitmap.
func TestReconcileStrayEndpoints(t *testing.T) {
	s := testService()
	all := Desired(s, pods(0, 1001))[0]
	e := all.Endpoints
	mk := func(name string, eps ...Endpoint) Slice {
		return Slice{Name: name, Family: 4, Ports: all.Ports, Endpoints: eps, Labels: sliceLabels(s)}
	}
	var even, odd []Endpoint
	for i, ep := range e[:1000] {
		if i%2 == 0 {
			even = append(even, ep)
		} else {
			odd = append(odd, ep)
		}
	}
	for _, tt := range []struct {
		name     string
		existing []Slice
		desired  []Endpoint
		want     string
		wantEps  []Endpoint // of the one updated slice
	}{
		{"endpoint in two slices", []Slice{mk("web-1", e[0], e[1]), mk("web-2", e[1], e[2])}, e[:3], "update web-2:1", e[2:3]},
		{"endpoint twice in one slice", []Slice{mk("web-1", e[0], e[0], e[1])}, e[:2], "update web-1:2", e[:2]},
		{"reversed slice", []Slice{mk("web-1", e[2], e[1], e[0])}, e[:3], "", nil},
		{
			"interleaved slices", []Slice{mk("web-1", even...), mk("web-2", odd...)},
			append(slices.Clone(e[1:1000]), e[1000]), "update web-1:500", append(slices.Clone(even[1:]), e[1000]),
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := []Group{{Family: 4, Ports: all.Ports, Endpoints: tt.desired}}
			p := mustReconcile(t, Config{MaxEndpointsPerSlice: 1000}, s, d, tt.existing)
			if got := renderSizes(p); got != tt.want {
				t.Fatalf("Reconcile() = %q; want %q", got, tt.want)
			}
			if tt.wantEps != nil && !reflect.DeepEqual(p.Update[0].Endpoints, tt.wantEps) {
				t.Errorf("Reconcile() updates %s to %d endpoints %v…; want %v…", p.Update[0].Name, len(p.Update[0].Endpoints), p.Update[0].Endpoints[0].Address, tt.wantEps[0].Address)
			}
		})
	}
}

// TestPlacement checks that the sparse runs and the bitmap agree on which
// endpoints are unplaced, and that the runs detect an index added twice.
func TestPlacement(t *testing.T) {
	eps := Desired(testService(), pods(0, 300))[0].Endpoints
	rng := rand.New(rand.NewSource(3))
	for round := range 50 {
		order := rng.Perm(len(eps))[:rng.Intn(len(eps))]
		if round%2 == 0 {
			slices.Sort(order) // long runs, as packed slices give
		}
		runs := placement{limit: len(eps)}
		bits := placement{bits: make([]uint64, (len(eps)+63)/64)}
		for _, j := range order {
			runs.add(j)
			bits.add(j)
		}
		if !runs.check() {
			t.Fatalf("round %d: check() = false for distinct indices", round)
		}
		if got, want := runs.appendUnplaced(nil, eps), bits.appendUnplaced(nil, eps); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: runs leave %d unplaced; bitmap %d", round, len(got), len(want))
		}
		if len(order) > 0 {
			j := order[rng.Intn(len(order))]
			if bits.add(j) {
				t.Fatalf("round %d: bitmap add(%d) twice = true; want false", round, j)
			}
			runs.add(j)
			if runs.check() {
				t.Fatalf("round %d: check() after add(%d) twice = true; want false", round, j)
			}
		}
	}
	over := placement{limit: 1}
	over.add(0)
	over.add(2)
	if !over.overflow() {
		t.Errorf("overflow() with 2 runs and limit 1 = false; want true")
	}
}

// TestReconcileSharedAddressesProperty: the package promises that
// reconciling unchanged input after applying a plan plans nothing, for
// every input. Random services and pods drawn from a small address pool
// (host-network pods on one node share its address, as in Kubernetes),
// dual-stack, named ports that resolve differently per pod, random
// maxima; each step applies the plan and checks that a second reconcile is
// empty and that the slices hold exactly the desired endpoints.
func TestReconcileSharedAddressesProperty(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(int64(seed)))
		s := &Service{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"},
			Ports: []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPort{Name: "http"}}}}
		if rng.Intn(2) == 0 {
			s.Families = []IPFamily{IPv6, IPv4}
		}
		cfg := Config{MaxEndpointsPerSlice: 1 + rng.Intn(12), SliceOverheadPercent: []int{0, -1, 50}[rng.Intn(3)]}
		var existing []Slice
		for step := range 60 {
			ws := sharedAddressPods(rng, 1+rng.Intn(40))
			d := Desired(s, ws)
			existing = apply(existing, mustReconcile(t, cfg, s, d, existing))
			if p := mustReconcile(t, cfg, s, d, existing); !p.IsEmpty() {
				t.Fatalf("seed %d step %d: second Reconcile() = %s; want empty", seed, step, renderSizes(p))
			}
			want, got := 0, 0
			for _, g := range d {
				want += len(g.Endpoints)
			}
			for _, sl := range existing {
				got += len(sl.Endpoints)
				if len(sl.Endpoints) > cfg.MaxEndpointsPerSlice {
					t.Fatalf("seed %d step %d: slice %s over the maximum", seed, step, sl.Name)
				}
			}
			if got != want {
				t.Fatalf("seed %d step %d: %d endpoints in slices; want %d", seed, step, got, want)
			}
		}
	}
}

// sharedAddressPods draws n pods whose addresses come from a pool of four
// per family, so several pods share one; their named port resolves to one
// of two numbers, readiness and hostname vary.
func sharedAddressPods(rng *rand.Rand, n int) []Workload {
	out := make([]Workload, n)
	for i := range out {
		a := byte(1 + rng.Intn(4))
		w := Workload{Namespace: "ns", Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": "web"},
			IPs:   []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, a}), netip.AddrFrom16([16]byte{0xfd, 15: a})},
			Ready: rng.Intn(3) > 0, Deleting: rng.Intn(5) == 0, Node: fmt.Sprintf("n%d", a),
			Ports: []ContainerPort{{Name: "http", Number: uint16(8080 + rng.Intn(2))}}}
		if rng.Intn(3) == 0 {
			w.Hostname, w.Subdomain = fmt.Sprintf("h%d", rng.Intn(3)), "web"
		}
		out[i] = w
	}
	return out
}

// Kubernetes 1.37 (k8s.io/endpointslice v0.37.2, setEndpointSliceLabels)
// copies a Service's labels onto its slices except the reserved keys
// (kubernetes.io/service-name, endpointslice.kubernetes.io/managed-by,
// service.kubernetes.io/headless) and sets the headless label from the
// ClusterIP alone.
func TestReconcileReservedLabelsKubernetes137(t *testing.T) {
	for _, tt := range []struct {
		name     string
		headless bool
		labels   map[string]string
		want     map[string]string
	}{
		{"reserved keys skipped", false,
			map[string]string{LabelHeadless: "", LabelServiceName: "other", LabelManagedBy: "me", "team": "a"},
			map[string]string{"team": "a", LabelServiceName: "web", LabelManagedBy: ManagedBy}},
		{"headless from the cluster IP", true, map[string]string{"team": "a"},
			map[string]string{"team": "a", LabelHeadless: "", LabelServiceName: "web", LabelManagedBy: ManagedBy}},
		{"headless label value not copied", true, map[string]string{LabelHeadless: "yes"},
			map[string]string{LabelHeadless: "", LabelServiceName: "web", LabelManagedBy: ManagedBy}},
	} {
		s := testService()
		s.Labels, s.Headless = tt.labels, tt.headless
		p := mustReconcile(t, Config{}, s, Desired(s, pods(0, 3)), nil)
		if len(p.Create) != 1 || !maps.Equal(p.Create[0].Labels, tt.want) {
			t.Errorf("%s: slice labels = %v; want %v", tt.name, p.Create[0].Labels, tt.want)
		}
	}
}

// Kubernetes 1.37 keeps one empty placeholder slice per address type of
// the Service that has no other slice (reconcileByAddressType), and
// deletes slices of a family the Service does not use — so an IPv4-only
// Service never keeps an IPv6 placeholder.
func TestReconcilePlaceholderPerFamilyKubernetes137(t *testing.T) {
	s := testService()
	v4 := pods(0, 2) // IPv4-only pods
	ph := func(name string, fam IPFamily) Slice { return Slice{Name: name, Family: fam, Labels: sliceLabels(s)} }

	s.Families = []IPFamily{IPv4, IPv6}
	p := mustReconcile(t, Config{}, s, Desired(s, v4), nil)
	if got := renderSizes(p); got != "create web-1:2 web-2:0" || p.Create[1].Family != IPv6 {
		t.Errorf("dual-stack, IPv4 pods: %s (second family %v); want a slice of 2 and an IPv6 placeholder", got, p.Create[1].Family)
	}
	p = mustReconcile(t, Config{}, s, nil, nil)
	if len(p.Create) != 2 || p.Create[0].Family != IPv4 || p.Create[1].Family != IPv6 {
		t.Errorf("dual-stack, no pods: %+v; want one placeholder per family", p.Create)
	}
	p = mustReconcile(t, Config{}, s, nil, []Slice{ph("web-a", IPv4), ph("web-b", IPv6)})
	if !p.IsEmpty() {
		t.Errorf("dual-stack, placeholders in place: %s; want nothing", renderSizes(p))
	}

	s.Families = nil // IPv4 only
	p = mustReconcile(t, Config{}, s, nil, []Slice{ph("web-a", IPv6)})
	if got := renderSizes(p); got != "create web-1:0; delete web-a" || p.Create[0].Family != IPv4 {
		t.Errorf("IPv4-only with an IPv6 placeholder: %s; want the IPv6 one deleted, an IPv4 one created", got)
	}
	p = mustReconcile(t, Config{}, s, Desired(s, v4), []Slice{ph("web-a", IPv4), ph("web-b", IPv6)})
	if got := renderSizes(p); got != "update web-a:2; delete web-b" {
		t.Errorf("IPv4-only, pods come: %s; want the IPv4 placeholder filled, the IPv6 one deleted", got)
	}
}
