package nodeagent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/resolved"
)

// Delivery is how a node agent receives resolved state: in memory from a
// control plane in the same process (*resolved.Latest), from etcd on
// another machine, or from an orchestrator's own channel.
type Delivery interface {
	// Next returns a state whose Version is above after, waiting for one
	// if needed, or ctx's error when ctx ends first. A delivery may skip
	// versions: each state is whole.
	Next(ctx context.Context, after uint64) (*resolved.State, error)
}

// Watcher is the part of *dataplane.Dataplane that repairs outside damage
// to its table; Run uses it when Config.Dataplane offers it.
type Watcher interface {
	Watch(ctx context.Context, repaired func(dataplane.Repair)) error
}

// Config configures an Agent. Dataplane is required; every other zero
// value is documented.
type Config struct {
	// Node is this node's name: Local traffic policies and node hints
	// select endpoints by it. Zero means a node with no name, which has
	// no local endpoints.
	Node string
	// Zone is this node's zone, for zone hints. Zero means none.
	Zone string
	// Dataplane receives the kernel rules: a *dataplane.Dataplane, or a
	// *dataplane.Fake in tests. Required.
	Dataplane dataplane.Syncer
	// Catalog receives the DNS records. Zero (nil) means no DNS.
	Catalog *dnsname.Catalog
	// Logger receives one record per sync problem. Zero means discard.
	Logger *slog.Logger
}

// Agent programs resolved state into the node's kernel and DNS catalog.
// Services are checked one by one and programmed one by one: a service
// that fails validation, or whose ports the kernel refuses, is left out
// and reported, and every other service is served, in the kernel and in
// DNS. After the first full sync only the services whose revision changed
// are sent (dataplane.Update); a failure makes the next sync whole again.
// Build it with New. Safe for concurrent use; Apply calls are serialised.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // protects everything below; held for a whole Apply
	prev    *resolved.State
	keys    map[resolved.Ref][]dataplane.Key // what each service has in the kernel
	synced  bool                             // the kernel holds prev: Update may be used
	refused map[resolved.Ref]error           // services left out, and why
	health  Health
	stats   Stats
}

// New returns an Agent for cfg. It returns an error when cfg.Dataplane is
// nil.
func New(cfg Config) (*Agent, error) {
	if cfg.Dataplane == nil {
		return nil, errors.New("nodeagent: Config.Dataplane is nil")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg, log: log, keys: map[resolved.Ref][]dataplane.Key{}, refused: map[resolved.Ref]error{}}, nil
}

// Health is what an Agent last did, for a health endpoint. The zero value
// means nothing happened yet.
type Health struct {
	// LastRead is when the last state arrived, and ReadErr why the last
	// attempt to get one failed (nil when it did not).
	LastRead time.Time
	ReadErr  error
	// LastSync is when the last sync ended, and SyncErr what went wrong in
	// it: services refused (a *SyncError) or a failed kernel batch.
	LastSync time.Time
	SyncErr  error
	// Version is the state version of the last sync.
	Version uint64
}

// OK reports whether the last read and the last sync succeeded, with the
// reason when they did not. Services left out (SyncErr is a *SyncError)
// are reported there and in Stats.RefusedServices but do not make the node
// unhealthy, as with controlplane.Health.OK: every other service is
// served, and a node taken out of rotation for one tenant's bad object
// would let that tenant take every node out.
func (h Health) OK() (bool, string) {
	var serr *SyncError
	switch {
	case h.LastSync.IsZero() && h.ReadErr == nil:
		return false, "no state synced yet"
	case h.ReadErr != nil:
		return false, "read: " + h.ReadErr.Error()
	case h.SyncErr != nil && !errors.As(h.SyncErr, &serr):
		return false, "sync: " + h.SyncErr.Error()
	}
	return true, ""
}

// Stats are an Agent's counters, for metrics. The zero value is all zero.
type Stats struct {
	Syncs, FullSyncs, FailedSyncs uint64
	// RefusedServices is how many services the last sync left out.
	RefusedServices int
	// Repairs counts outside damage to the kernel table that Run's watch
	// repaired.
	Repairs uint64
	// LastSyncDuration is the wall time of the last sync.
	LastSyncDuration time.Duration
}

// SyncError lists the services a sync left out, each with its reason;
// every other service was programmed.
type SyncError struct {
	Refused map[resolved.Ref]error
}

func (e *SyncError) Error() string {
	return fmt.Sprintf("nodeagent: %d service(s) left out: %v", len(e.Refused), errors.Join(e.errs()...))
}

func (e *SyncError) errs() []error {
	refs := slices.SortedFunc(maps.Keys(e.Refused), func(a, b resolved.Ref) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	out := make([]error, len(refs))
	for i, r := range refs {
		out[i] = fmt.Errorf("%s: %w", r, e.Refused[r])
	}
	return out
}

// Health returns the agent's health.
func (a *Agent) Health() Health {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.health
}

// Stats returns the agent's counters.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}
