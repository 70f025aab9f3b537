package endpoints

import (
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
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
		p := Reconcile(Config{}, s, Desired(s, pods(0, 250)), nil)
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
		p := Reconcile(Config{}, s, Desired(s, pods(0, 300)), existing)
		if got := sizes(p.Create); !reflect.DeepEqual(got, []int{100, 52}) || len(p.Update)+len(p.Delete) != 0 {
			t.Errorf("Reconcile() creates %v, %d updates, %d deletes; want [100 52], 0, 0", got, len(p.Update), len(p.Delete))
		}
	})
	t.Run("port change repacks", func(t *testing.T) {
		d := Desired(s, pods(0, 150))
		existing := apply(nil, Reconcile(Config{}, s, d, nil))
		s2 := testService()
		s2.Ports[0].Port = 81
		p := Reconcile(Config{}, s2, Desired(s2, pods(0, 150)), existing)
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
		existing := apply(nil, Reconcile(Config{}, s, Desired(s, pods(0, 150)), nil))
		s2 := testService()
		s2.Labels = map[string]string{"team": "a"}
		p := Reconcile(Config{}, s2, Desired(s2, pods(0, 150)), existing)
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
		p := Reconcile(Config{}, s, nil, nil)
		if len(p.Create) != 1 || len(p.Create[0].Endpoints) != 0 || p.Create[0].Name != "web-1" {
			t.Fatalf("Reconcile(empty) = %+v; want one placeholder web-1", p)
		}
		again := Reconcile(Config{}, s, nil, apply(nil, p))
		if !again.IsEmpty() {
			t.Errorf("Reconcile(placeholder) = %+v; want empty plan", again)
		}
	})
	t.Run("one changed pod touches one slice", func(t *testing.T) {
		ws := pods(0, 1000)
		existing := apply(nil, Reconcile(Config{}, s, Desired(s, ws), nil))
		ws[500].Ready = false
		p := Reconcile(Config{}, s, Desired(s, ws), existing)
		if len(p.Create)+len(p.Delete) != 0 || len(p.Update) != 1 {
			t.Errorf("Reconcile() = %d creates, %d updates, %d deletes; want one update", len(p.Create), len(p.Update), len(p.Delete))
		}
	})
}

func TestConfigMax(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 100}, {-1, 100}, {5, 5}, {1000, 1000}, {5000, 1000}} {
		if got := (Config{MaxEndpointsPerSlice: tt.in}).max(); got != tt.want {
			t.Errorf("Config{%d}.max() = %d; want %d", tt.in, got, tt.want)
		}
	}
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
	cfg := Config{MaxEndpointsPerSlice: max}
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
		existing = apply(existing, Reconcile(cfg, s, d, existing))
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
		if p := Reconcile(cfg, s, d, existing); !p.IsEmpty() {
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
	existing := apply(nil, Reconcile(Config{}, s, Desired(s, ws), nil))
	ws[250].Ready = false
	sorted := Desired(s, ws)
	shuffled := Desired(s, ws)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled[0].Endpoints), func(i, j int) {
		e := shuffled[0].Endpoints
		e[i], e[j] = e[j], e[i]
	})
	want := Reconcile(Config{}, s, sorted, existing)
	got := Reconcile(Config{}, s, shuffled, existing)
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
