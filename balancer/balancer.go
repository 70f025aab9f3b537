package balancer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"
)

// Backend is one endpoint a Picker may choose. The balancer takes the backends
// it is given: Kubernetes readiness ("ready, else serving and terminating") is
// decided once, by endpoints.AppendUsable, before backends reach it. The zero
// Backend has weight zero, which constructors treat as weight 1, and is healthy.
type Backend struct {
	Addr   netip.AddrPort
	Name   string // stable identity; consistent hashing sorts and hashes by it
	Weight uint32 // zero means 1
	// Unhealthy marks a backend the caller's own health checking (active checks,
	// outlier detection, as Envoy's) has taken out: a different concept from
	// Kubernetes readiness. Pick skips it unless fewer than
	// Config.PanicThreshold percent of the backends are healthy. Zero means
	// healthy.
	Unhealthy bool
	// ReadySince is when the backend became ready; with Config.SlowStart
	// its weight ramps up from then. Zero means ready long ago.
	ReadySince time.Time
}

func (b *Backend) weight() uint32 {
	if b.Weight == 0 {
		return 1
	}
	return b.Weight
}

// Request carries what strategies need. The zero Request has hash 0 and no
// client address; strategies that do not hash ignore it.
type Request struct {
	Hash   uint64     // key for ring hash and Maglev
	Client netip.Addr // key for ClientIP affinity
}

// Result is a picked backend. Done releases the in-flight count that least
// request keeps; it is a no-op for other strategies and must be called once.
// The zero Result has a nil Backend.
type Result struct {
	Backend *Backend
	active  *paddedCounter
	total   *paddedCounter // bounded load's sum of active
}

// Done releases the request. It is safe to call on the zero Result.
func (r Result) Done() {
	if r.active != nil {
		r.active.n.Add(-1)
	}
	if r.total != nil {
		r.total.n.Add(-1)
	}
}

// Picker chooses a backend. Implementations are immutable snapshots and
// safe for concurrent use; the interface stays open for user strategies.
type Picker interface {
	Pick(r *Request) (Result, error)
	// Backends returns the backends Pick may choose from; callers must not
	// modify the slice.
	Backends() []Backend
}

// Config tunes strategies. The zero Config selects every default.
type Config struct {
	// Seed randomises round-robin starts and seeds hashing. Zero means a
	// fixed seed for hashing (so tables agree across nodes) and a random
	// round-robin start.
	Seed uint64
	// PanicThreshold, in percent, makes Pick use every backend, Unhealthy ones
	// included, when fewer than this share are healthy (Envoy). Zero disables.
	PanicThreshold float64
	// ChoiceCount is the number of candidates least request samples.
	// Zero means 2.
	ChoiceCount int
	// ActiveRequestBias is Envoy's bias in weight/(active+1)^bias. Zero
	// means 1.0; use a negative value for 0.
	ActiveRequestBias float64
	// TableSize is the Maglev table size, a prime. Zero means 65537.
	TableSize uint64
	// MinRingSize and MaxRingSize bound the ring hash. Zero means 1024 and
	// 8,388,608.
	MinRingSize, MaxRingSize uint64
	// LoadFactor enables bounded load for ring hash and Maglev when ≥ 1.0:
	// no backend carries more than ceil(factor·average) in-flight requests.
	// Zero disables.
	LoadFactor float64
	// SlowStart is Envoy's slow start window: a backend ready for less than
	// this gets weight·max(MinWeightPercent/100, (age/window)^(1/Aggression)).
	// The ramp is computed when the Picker is built, so callers rebuild
	// during the window. Zero disables.
	SlowStart time.Duration
	// Aggression shapes the ramp; zero means 1.0 (linear).
	Aggression float64
	// MinWeightPercent is the ramp's floor; zero means 10.
	MinWeightPercent float64
	// Now is the clock for slow start. Nil means time.Now.
	Now func() time.Time
}

// slowStartScale multiplies every weight when slow start is on, so that a
// 10 % floor of weight 1 still has integer resolution.
const slowStartScale = 100

// slowStart rewrites weights in place, on the Picker's private copy.
func slowStart(bs []Backend, cfg Config) {
	if cfg.SlowStart <= 0 {
		return
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	t := now()
	aggr, floor := cfg.Aggression, cfg.MinWeightPercent
	if aggr <= 0 {
		aggr = 1
	}
	if floor <= 0 {
		floor = 10
	}
	for i := range bs {
		f := 1.0
		if !bs[i].ReadySince.IsZero() {
			if age := t.Sub(bs[i].ReadySince); age < cfg.SlowStart {
				f = max(floor/100, math.Pow(max(age.Seconds(), 0)/cfg.SlowStart.Seconds(), 1/aggr))
			}
		}
		bs[i].Weight = uint32(max(1, math.Round(float64(bs[i].weight())*slowStartScale*f)))
	}
}

// eligible checks the backends' names and returns those Pick may choose: the
// healthy ones, or all of them when fewer than PanicThreshold percent are
// healthy (Envoy's panic mode), with slow start applied to a private copy.
func eligible(all []Backend, cfg Config) ([]Backend, error) {
	names := make(map[string]bool, len(all))
	healthy := make([]Backend, 0, len(all))
	for _, b := range all {
		if names[b.Name] {
			return nil, fmt.Errorf("backend %q: %w", b.Name, ErrDuplicateBackend)
		}
		names[b.Name] = true
		if !b.Unhealthy {
			healthy = append(healthy, b)
		}
	}
	out := healthy
	if cfg.PanicThreshold > 0 && len(all) > 0 && float64(len(healthy))*100/float64(len(all)) < cfg.PanicThreshold {
		out = append(out[:0:0], all...)
	}
	slowStart(out, cfg)
	return out, nil
}

// sortByName gives consistent hashing a node-independent order.
func sortByName(bs []Backend) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
}

const cacheLine = 64

// paddedCounter is an in-flight count on its own pair of cache lines:
// adjacent-line prefetchers move lines in pairs, so one line apart still
// contends between cores.
type paddedCounter struct {
	n atomic.Int64
	_ [2*cacheLine - 8]byte
}

// randomStart returns the first counter value: random unless seed is set,
// so that many clients built at once do not herd onto the same backend.
func randomStart(seed uint64) int64 {
	if seed == 0 {
		return int64(rand.Uint32() >> 1)
	}
	return int64(mix(seed) >> 33)
}

// Holder swaps Pickers atomically. The zero Holder holds nothing and Pick
// returns ErrNoBackend. It is safe for concurrent use.
type Holder struct {
	p atomic.Pointer[Picker]
}

// Store installs p for subsequent picks.
func (h *Holder) Store(p Picker) { h.p.Store(&p) }

// Load returns the current Picker, or nil.
func (h *Holder) Load() Picker {
	if p := h.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Pick picks with the current Picker.
func (h *Holder) Pick(r *Request) (Result, error) {
	p := h.p.Load()
	if p == nil {
		return Result{}, ErrNoBackend
	}
	return (*p).Pick(r)
}

// Backends returns the current Picker's backends.
func (h *Holder) Backends() []Backend {
	if p := h.Load(); p != nil {
		return p.Backends()
	}
	return nil
}

type base struct{ bs []Backend }

func (b *base) Backends() []Backend { return b.bs }
