package balancer

import (
	"math"
	"math/rand/v2"
)

type roundRobin struct {
	base
	ctr stripedCounter
}

// NewRoundRobin returns a Picker that cycles through the usable backends from
// a random start. It is safe for concurrent use.
func NewRoundRobin(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	p := &roundRobin{base: base{u}}
	p.ctr.init(cfg.Seed)
	return p, nil
}

func (p *roundRobin) Pick(*Request) (Result, error) {
	if len(p.bs) == 0 {
		return Result{}, ErrNoBackend
	}
	return Result{Backend: &p.bs[p.ctr.next()%uint64(len(p.bs))]}, nil
}

type weightedRR struct {
	base
	seq []uint32
	// Striped by goroutine: each goroutine walks the smooth schedule in
	// order, so what one client sees stays smooth.
	ctr stripedCounter
}

// maxSchedule caps the precomputed smooth schedule; larger weight sums are
// scaled down proportionally.
const maxSchedule = 1 << 16

// NewWeightedRoundRobin returns a smooth weighted round-robin Picker: the
// schedule is nginx's smooth weighted sequence, precomputed once, so picks
// are a lock-free counter increment. It is safe for concurrent use.
func NewWeightedRoundRobin(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	w := make([]int64, len(u))
	var sum int64
	for i := range u {
		w[i] = int64(u[i].weight())
		sum += w[i]
	}
	if sum > maxSchedule {
		scale := float64(maxSchedule) / float64(sum)
		sum = 0
		for i := range w {
			w[i] = max(1, int64(float64(w[i])*scale))
			sum += w[i]
		}
	}
	p := &weightedRR{base: base{u}, seq: make([]uint32, 0, sum)}
	cur := make([]int64, len(u))
	for range sum {
		best := 0
		for i := range w {
			cur[i] += w[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= sum
		p.seq = append(p.seq, uint32(best))
	}
	p.ctr.init(cfg.Seed)
	return p, nil
}

func (p *weightedRR) Pick(*Request) (Result, error) {
	if len(p.seq) == 0 {
		return Result{}, ErrNoBackend
	}
	return Result{Backend: &p.bs[p.seq[p.ctr.next()%uint64(len(p.seq))]]}, nil
}

type random struct{ base }

// NewRandom returns a Picker choosing uniformly among usable backends. It is
// safe for concurrent use.
func NewRandom(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	return &random{base{u}}, nil
}

func (p *random) Pick(*Request) (Result, error) {
	if len(p.bs) == 0 {
		return Result{}, ErrNoBackend
	}
	return Result{Backend: &p.bs[rand.Uint64N(uint64(len(p.bs)))]}, nil
}

type weightedRandom struct {
	base
	prob  []float64
	alias []uint32
}

// NewWeightedRandom returns a Picker choosing backends in proportion to
// weight in O(1) with Vose's alias method. It is safe for concurrent use.
func NewWeightedRandom(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	n := len(u)
	p := &weightedRandom{base: base{u}, prob: make([]float64, n), alias: make([]uint32, n)}
	var sum float64
	for i := range u {
		sum += float64(u[i].weight())
	}
	scaled := make([]float64, n)
	var small, large []int
	for i := range u {
		scaled[i] = float64(u[i].weight()) * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		p.prob[s], p.alias[s] = scaled[s], uint32(l)
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		p.prob[i], p.alias[i] = 1, uint32(i)
	}
	return p, nil
}

func (p *weightedRandom) Pick(*Request) (Result, error) {
	if len(p.bs) == 0 {
		return Result{}, ErrNoBackend
	}
	i := rand.Uint64N(uint64(len(p.bs)))
	if rand.Float64() >= p.prob[i] {
		i = uint64(p.alias[i])
	}
	return Result{Backend: &p.bs[i]}, nil
}

type leastRequest struct {
	base
	active []paddedCounter
	n      int
	bias   float64
	equal  bool
}

// NewLeastRequest returns a power-of-N-choices Picker: it samples
// ChoiceCount backends and takes the one with the highest
// weight/(active+1)^bias (Envoy); with equal weights, the fewest active.
// Callers must call Result.Done when the request ends. It is safe for
// concurrent use.
func NewLeastRequest(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	p := &leastRequest{base: base{u}, active: make([]paddedCounter, len(u)), n: cfg.ChoiceCount, bias: cfg.ActiveRequestBias, equal: true}
	if p.n == 0 {
		p.n = 2
	}
	if p.n < 1 {
		return nil, ErrInvalidConfig
	}
	if p.bias == 0 {
		p.bias = 1
	} else if p.bias < 0 {
		p.bias = 0
	}
	for i := range u {
		if u[i].weight() != u[0].weight() {
			p.equal = false
		}
	}
	return p, nil
}

func (p *leastRequest) score(i uint64) float64 {
	a := float64(p.active[i].n.Load())
	w := float64(p.bs[i].weight())
	if p.bias == 1 {
		return w / (a + 1)
	}
	return w / math.Pow(a+1, p.bias)
}

func (p *leastRequest) Pick(*Request) (Result, error) {
	if len(p.bs) == 0 {
		return Result{}, ErrNoBackend
	}
	n := uint64(len(p.bs))
	// Lemire's multiply-shift reduction of 32-bit halves: one random draw
	// serves two choices.
	x := rand.Uint64()
	best := (x >> 32) * n >> 32
	for k := range p.n - 1 {
		if k > 0 {
			x = rand.Uint64()
		}
		c := (x & 0xffffffff) * n >> 32
		if p.equal {
			if p.active[c].n.Load() < p.active[best].n.Load() {
				best = c
			}
		} else if p.score(c) > p.score(best) {
			best = c
		}
	}
	p.active[best].n.Add(1)
	return Result{Backend: &p.bs[best], active: &p.active[best]}, nil
}
