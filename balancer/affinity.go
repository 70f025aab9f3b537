package balancer

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Kubernetes' ClientIP session affinity timeouts.
const (
	DefaultAffinityTimeout = 10800 * time.Second
	MaxAffinityTimeout     = 86400 * time.Second
)

// AffinityConfig tunes an Affinity. The zero AffinityConfig selects every
// default.
type AffinityConfig struct {
	// Timeout is how long a client stays with its backend after its last
	// pick. Zero means DefaultAffinityTimeout; above MaxAffinityTimeout is
	// an error.
	Timeout time.Duration
	// MaxEntries bounds remembered clients. Zero means 65,536. When full
	// and no entry has expired, new clients are picked but not remembered.
	MaxEntries int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

type affinityEntry struct {
	name  string
	index int
	last  time.Time
}

// Affinity is ClientIP session affinity over any Picker held in a Holder:
// the same Request.Client goes to the same backend until Timeout after its
// last use, or until that backend leaves the current Picker. Affinity is
// safe for concurrent use; picks take a mutex, since every pick updates the
// client's last use. The zero Affinity is not usable; use NewAffinity.
type Affinity struct {
	h   *Holder
	cfg AffinityConfig
	mu  sync.Mutex // protects m
	m   map[netip.Addr]affinityEntry
}

// NewAffinity wraps h.
func NewAffinity(h *Holder, cfg AffinityConfig) (*Affinity, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultAffinityTimeout
	}
	if cfg.Timeout < 0 || cfg.Timeout > MaxAffinityTimeout {
		return nil, fmt.Errorf("affinity timeout %v outside (0, %v]: %w", cfg.Timeout, MaxAffinityTimeout, ErrInvalidConfig)
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Affinity{h: h, cfg: cfg, m: make(map[netip.Addr]affinityEntry)}, nil
}

// Backends returns the held Picker's backends.
func (a *Affinity) Backends() []Backend { return a.h.Backends() }

// Len returns the number of remembered clients.
func (a *Affinity) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}

// Pick returns the client's remembered backend if it is live and present,
// otherwise picks anew through the held Picker and remembers the choice.
func (a *Affinity) Pick(r *Request) (Result, error) {
	p := a.h.Load()
	if p == nil {
		return Result{}, ErrNoBackend
	}
	bs := p.Backends()
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.m[r.Client]; ok && now.Sub(e.last) < a.cfg.Timeout {
		if i := find(bs, e.name, e.index); i >= 0 {
			e.index, e.last = i, now
			a.m[r.Client] = e
			return Result{Backend: &bs[i]}, nil
		}
	}
	res, err := p.Pick(r)
	if err != nil {
		delete(a.m, r.Client)
		return res, err
	}
	if _, ok := a.m[r.Client]; !ok && len(a.m) >= a.cfg.MaxEntries {
		a.reclaim(now)
	}
	if _, ok := a.m[r.Client]; ok || len(a.m) < a.cfg.MaxEntries {
		a.m[r.Client] = affinityEntry{name: res.Backend.Name, index: find(bs, res.Backend.Name, 0), last: now}
	}
	return res, nil
}

// Reclaim drops expired clients; Pick also does so when the table is full.
func (a *Affinity) Reclaim() {
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reclaim(now)
}

func (a *Affinity) reclaim(now time.Time) {
	for k, e := range a.m {
		if now.Sub(e.last) >= a.cfg.Timeout {
			delete(a.m, k)
		}
	}
}

// find returns the index of name in bs, trying hint first, or -1.
func find(bs []Backend, name string, hint int) int {
	if hint >= 0 && hint < len(bs) && bs[hint].Name == name {
		return hint
	}
	for i := range bs {
		if bs[i].Name == name {
			return i
		}
	}
	return -1
}
