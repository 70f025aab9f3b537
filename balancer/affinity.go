package balancer

import (
	"encoding/binary"
	"fmt"
	"math"
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
	// MaxEntries bounds remembered clients. Zero means 65,536; negative is
	// an error. The bound is split evenly over up to 16 shards of clients
	// (by address): when a client's shard is full and none of its entries
	// has expired, the client is picked but not remembered.
	MaxEntries int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

type affinityEntry struct {
	name  string
	index int
	last  int64 // nanoseconds after Affinity.base
}

// affinityShards spreads clients over this many independently locked
// tables, so that concurrent picks for different clients rarely meet on
// one mutex.
const affinityShards = 16

type affinityShard struct {
	mu sync.Mutex // protects the fields below
	m  map[netip.Addr]affinityEntry
	// quiet is no later than the earliest entry expires: until then a
	// scan cannot free anything, so a full table of live clients costs no
	// scan per new client.
	quiet int64
	_     [cacheLine]byte // keeps neighbouring shards' mutexes apart
}

// Affinity is ClientIP session affinity over any Picker held in a Holder:
// the same Request.Client goes to the same backend until Timeout after its
// last use, or until that backend leaves the current Picker. Affinity is
// safe for concurrent use; a pick locks the one shard of the client table
// its client hashes to, since every pick updates the client's last use.
// The zero Affinity is not usable; use NewAffinity.
type Affinity struct {
	h      *Holder
	cfg    AffinityConfig
	base   time.Time // the clock's zero for entries' times
	cap    int       // entries per shard
	shards []affinityShard
}

// NewAffinity wraps h.
func NewAffinity(h *Holder, cfg AffinityConfig) (*Affinity, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultAffinityTimeout
	}
	if cfg.Timeout < 0 || cfg.Timeout > MaxAffinityTimeout {
		return nil, fmt.Errorf("affinity timeout %v outside (0, %v]: %w", cfg.Timeout, MaxAffinityTimeout, ErrInvalidConfig)
	}
	if cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("affinity max entries %d: %w", cfg.MaxEntries, ErrInvalidConfig)
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 65536
	}
	base := time.Now()
	if cfg.Now != nil {
		base = cfg.Now()
	}
	n := min(affinityShards, cfg.MaxEntries)
	a := &Affinity{h: h, cfg: cfg, base: base, cap: cfg.MaxEntries / n, shards: make([]affinityShard, n)}
	for i := range a.shards {
		a.shards[i].m = make(map[netip.Addr]affinityEntry)
	}
	return a, nil
}

// Backends returns the held Picker's backends.
func (a *Affinity) Backends() []Backend { return a.h.Backends() }

// Len returns the number of remembered clients.
func (a *Affinity) Len() int {
	n := 0
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// shard returns the client's shard: a multiplicative hash of the address's
// last eight bytes, where IPv4 and the host part of IPv6 addresses differ.
func (a *Affinity) shard(c netip.Addr) *affinityShard {
	b := c.As16()
	h := binary.BigEndian.Uint64(b[8:]) * 0x9e3779b97f4a7c15
	return &a.shards[(h>>32)%uint64(len(a.shards))]
}

// Pick returns the client's remembered backend if it is live and present,
// otherwise picks anew through the held Picker and remembers the choice.
func (a *Affinity) Pick(r *Request) (Result, error) {
	p := a.h.Load()
	if p == nil {
		return Result{}, ErrNoBackend
	}
	bs := p.Backends()
	now := a.now()
	s := a.shard(r.Client)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, known := s.m[r.Client]
	if known && now-e.last < int64(a.cfg.Timeout) {
		if i := find(bs, e.name, e.index); i >= 0 {
			e.index, e.last = i, now
			s.m[r.Client] = e
			return Result{Backend: &bs[i]}, nil
		}
	}
	res, err := p.Pick(r)
	if err != nil {
		delete(s.m, r.Client)
		return res, err
	}
	if !known && len(s.m) >= a.cap && now >= s.quiet {
		a.reclaim(s, now)
	}
	if known || len(s.m) < a.cap {
		s.m[r.Client] = affinityEntry{name: res.Backend.Name, index: find(bs, res.Backend.Name, 0), last: now}
		s.quiet = min(s.quiet, now+int64(a.cfg.Timeout))
	}
	return res, nil
}

// Reclaim drops expired clients; Pick also does so when a table is full.
func (a *Affinity) Reclaim() {
	now := a.now()
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		a.reclaim(s, now)
		s.mu.Unlock()
	}
}

func (a *Affinity) reclaim(s *affinityShard, now int64) {
	first := int64(math.MaxInt64)
	for k, e := range s.m {
		end := e.last + int64(a.cfg.Timeout)
		if now >= end {
			delete(s.m, k)
		} else {
			first = min(first, end)
		}
	}
	s.quiet = first
}

// now reads the clock as nanoseconds after base: the monotonic reading
// alone, which costs about half of time.Now here, or the configured clock.
func (a *Affinity) now() int64 {
	if a.cfg.Now != nil {
		return int64(a.cfg.Now().Sub(a.base))
	}
	return int64(time.Since(a.base))
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
