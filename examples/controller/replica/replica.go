package replica

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/etcd"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix         = "/svcnet"
	DefaultTTL            = 5 * time.Second
	DefaultRepairInterval = 30 * time.Second
)

// ElectionKey, AllocationsKey and ServicesKey are where the replicas under
// prefix elect their leader, keep the allocator snapshot and publish the
// resolved Services; a node follows ServicesKey(prefix).
func ElectionKey(prefix string) string    { return prefix + "/leader" }
func AllocationsKey(prefix string) string { return prefix + "/allocations" }
func ServicesKey(prefix string) string    { return prefix + "/services/" }

// Config configures a Replica. Client, Name, Source and NewAllocator are
// required; every other zero value is documented.
type Config struct {
	// Client talks to etcd.
	Client *clientv3.Client
	// Name is this replica's ID in the election; unique among replicas.
	Name string
	// Prefix is the root of every key. Zero means DefaultPrefix.
	Prefix string
	// TTL is the election lease: a leader that dies without resigning is
	// replaced within about TTL. Whole seconds; etcd grants no less than
	// 1.5 election timeouts. Zero means DefaultTTL.
	TTL time.Duration
	// Source yields the Services and Pods; one leadership at a time reads
	// it, each from its first generation.
	Source controlplane.Source
	// NewAllocator returns an empty allocator of the cluster's ranges and
	// pools. It is called once per leadership: a new leader starts from the
	// persisted snapshot, never from what it held when it last led.
	NewAllocator func() (*allocator.Services, error)
	// ExternalIPs are the prefixes spec.externalIPs may come from (see
	// controlplane.Config). Zero allows none.
	ExternalIPs []netip.Prefix
	// RepairInterval is how often the leader repairs its allocator against
	// the published Services. Zero means DefaultRepairInterval.
	RepairInterval time.Duration
	// Log receives leadership changes, repairs and errors. Zero means
	// discard.
	Log *slog.Logger
}

// Health is what a Replica is doing, for /healthz and metrics. The zero
// value is a replica that has not campaigned yet.
type Health struct {
	// Leader is true while this replica leads; Since is when it last
	// became leader or standby.
	Leader bool
	Since  time.Time
	// Takeovers counts the leaderships this replica took up.
	Takeovers uint64
	// Control is the control plane's health while leading (zero on a
	// standby): read, persist and publish errors.
	Control controlplane.Health
	// Repair is what the last repair pass found and did (etcd.ServicesRepair):
	// values are Service keys, "namespace/name".
	Repair allocator.RepairReport[string]
	// Err is why the last leadership ended or could not start; nil when
	// none failed.
	Err error
}

// OK reports whether the replica is doing its job, with why when not:
// a standby is fine; a leader needs its control plane healthy and no
// value claimed twice in the published state.
func (h Health) OK() (bool, string) {
	if !h.Leader {
		if h.Err != nil {
			return true, "standby; last leadership: " + h.Err.Error()
		}
		return true, "standby"
	}
	if ok, why := h.Control.OK(); !ok {
		return false, "leader: " + why
	}
	if len(h.Repair.Duplicates) > 0 {
		return false, "leader: published services claim values another holds: " + strings.Join(h.Repair.Duplicates, ", ")
	}
	return true, "leader"
}

// Replica is one control-plane replica. Build it with New and run Run.
// Safe for concurrent use.
type Replica struct {
	cfg Config
	mu  sync.Mutex                 // protects h and cp
	h   Health                     // Control is filled in by Health
	cp  *controlplane.ControlPlane // the current leadership's; nil on a standby
}

// New returns a Replica for cfg, or an error naming a missing field.
func New(cfg Config) (*Replica, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("replica: Config.Client is required")
	case cfg.Name == "":
		return nil, errors.New("replica: Config.Name is required")
	case cfg.Source == nil:
		return nil, errors.New("replica: Config.Source is required")
	case cfg.NewAllocator == nil:
		return nil, errors.New("replica: Config.NewAllocator is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.RepairInterval == 0 {
		cfg.RepairInterval = DefaultRepairInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Replica{cfg: cfg}, nil
}

// Health returns what the replica is doing.
func (r *Replica) Health() Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.h
	if r.cp != nil {
		h.Control = r.cp.Health()
	}
	return h
}

// Run campaigns, leads while elected and stands by otherwise, until ctx
// ends; then it resigns if it leads and returns nil. A leadership that
// fails to start (etcd unreachable, a snapshot that does not restore) is
// given up so another replica may try, and tried again after
// controlplane.RetryInterval.
func (r *Replica) Run(ctx context.Context) error {
	el := etcd.Election{Prefix: ElectionKey(r.cfg.Prefix), ID: r.cfg.Name, TTL: r.cfg.TTL}
	r.standBy(nil)
	for {
		err := etcd.RunWhileLeading(ctx, r.cfg.Client, el, r.lead)
		if ctx.Err() != nil {
			return nil
		}
		r.cfg.Log.Error("leadership ended", "replica", r.cfg.Name, "err", err)
		r.standBy(err)
		t := time.NewTimer(controlplane.RetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (r *Replica) standBy(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.h.Leader || r.h.Since.IsZero() {
		r.h.Since = time.Now()
	}
	r.h.Leader, r.cp, r.h.Repair = false, nil, allocator.RepairReport[string]{}
	if err != nil {
		r.h.Err = err
	}
}

func (r *Replica) leading(cp *controlplane.ControlPlane, rep allocator.RepairReport[string]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Leader, r.h.Since, r.cp, r.h.Repair = true, time.Now(), cp, rep
	r.h.Takeovers++
}

func (r *Replica) setRepair(rep allocator.RepairReport[string]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Repair = rep
}
