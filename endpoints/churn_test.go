package endpoints

import (
	"math/rand"
	"slices"
	"testing"
)

// churn replays a sequence of desired endpoint sets through Reconcile,
// applying each plan, and measures writes per change and the worst slice
// efficiency (slices / ceil(endpoints / max)) seen after any change. The
// simulations edit one sorted group of endpoints directly, as Desired
// would build it, so that the run time goes to Reconcile.
type churn struct {
	t             *testing.T
	cfg           Config
	s             *Service
	g             Group
	existing      []Slice
	writes, steps int
	worst         float64
}

func newChurn(t *testing.T, cfg Config, ws []Workload) *churn {
	c := &churn{t: t, cfg: cfg, s: testService()}
	c.g = Desired(c.s, ws)[0]
	c.existing = apply(nil, mustReconcile(t, cfg, c.s, []Group{c.g}, nil))
	return c
}

// add appends the endpoints of new pods, whose addresses sort after all
// others.
func (c *churn) add(ws []Workload) {
	c.g.Endpoints = append(c.g.Endpoints, Desired(c.s, ws)[0].Endpoints...)
	c.step()
}

func (c *churn) remove(i int) { c.g.Endpoints = slices.Delete(c.g.Endpoints, i, i+1) }

func (c *churn) step() {
	p := mustReconcile(c.t, c.cfg, c.s, []Group{c.g}, c.existing)
	c.writes += len(p.Create) + len(p.Update) + len(p.Delete)
	c.steps++
	c.existing = apply(c.existing, p)
	n := 0
	for _, sl := range c.existing {
		n += len(sl.Endpoints)
	}
	if max := c.cfg.max(); n > 0 {
		c.worst = max2(c.worst, float64(len(c.existing))/float64((n+max-1)/max))
	}
}

func (c *churn) writesPerChange() float64 { return float64(c.writes) / float64(c.steps) }

// rollingUpdate surges one new pod, then removes the oldest pod, until all
// 1,000 pods are replaced.
func rollingUpdate(t *testing.T, cfg Config) *churn {
	c := newChurn(t, cfg, pods(0, 1000))
	for i := range 1000 {
		c.add(pods(1000+i, 1))
		c.remove(0)
		c.step()
	}
	return c
}

// randomScaling scales a 1,000-endpoint service up and down at random by
// 1–50 pods, between 1,000 and 2,000 endpoints, for 400 changes. Scale-ups
// add pods with new, higher addresses; scale-downs remove random pods, so
// they thin out many slices at once.
func randomScaling(t *testing.T, cfg Config) *churn {
	rng := rand.New(rand.NewSource(7))
	next := 1000
	c := newChurn(t, cfg, pods(0, next))
	for range 400 {
		k := 1 + rng.Intn(50)
		n := len(c.g.Endpoints)
		up := rng.Intn(2) == 0
		if n-k < 1000 {
			up = true
		} else if n+k > 2000 {
			up = false
		}
		if up {
			c.add(pods(next, k))
			next += k
			continue
		}
		for range k {
			c.remove(rng.Intn(len(c.g.Endpoints)))
		}
		c.step()
	}
	return c
}

// TestChurn runs both simulations with Kubernetes' placement alone and
// with the repack, logs writes per change and worst efficiency of each,
// and holds the repack to efficiency ≤ 1.1 at no more writes than
// Kubernetes makes on the same changes. The repack writes only when the
// slice count is over its bound and then empties the smallest slices into
// slices the change writes anyway; a slice it deletes is a slice later
// scale-downs do not have to update, so over a run it writes no more than
// Kubernetes, which keeps updating every thinned-out slice.
func TestChurn(t *testing.T) {
	k8s := Config{MaxEndpointsPerSlice: 100, SliceOverheadPercent: -1}
	ours := Config{MaxEndpointsPerSlice: 100}
	for _, sim := range []struct {
		name string
		run  func(*testing.T, Config) *churn
		// wantWrites bounds the repack's writes per change: a rolling
		// update changes one pod at a time, which touches one slice.
		wantWrites float64
	}{
		{"rolling update", rollingUpdate, 1},
		{"random scaling", randomScaling, 0}, // 0: Kubernetes' own figure
	} {
		t.Run(sim.name, func(t *testing.T) {
			before, after := sim.run(t, k8s), sim.run(t, ours)
			t.Logf("kubernetes: %d changes, %.3f writes per change, worst efficiency %.2f", before.steps, before.writesPerChange(), before.worst)
			t.Logf("repack:     %d changes, %.3f writes per change, worst efficiency %.2f", after.steps, after.writesPerChange(), after.worst)
			if after.worst > 1.1 {
				t.Errorf("worst efficiency = %.2f; want ≤ 1.1", after.worst)
			}
			want := sim.wantWrites
			if want == 0 {
				want = before.writesPerChange()
			}
			if got := after.writesPerChange(); got > want+0.005 {
				t.Errorf("writes per change = %.3f; want ≤ %.3f", got, want)
			}
		})
	}
}

func max2(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
