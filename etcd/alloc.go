package etcd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/svcnet/svcnet/allocator"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Layout is how an allocator keeps its allocations in etcd. The zero value is
// PerValue.
type Layout uint8

const (
	// PerValue keeps one key per allocated value (key/<address> or key/<port>), as
	// Kubernetes' IPAddress objects do. Writers conflict only when they pick the same
	// value, a write is a few dozen bytes whatever the range's size, and IPv6 ranges
	// of any size work. The default: see the package doc for the measurements.
	PerValue Layout = iota
	// Snapshot keeps the whole range as one allocator snapshot in key, replaced by
	// compare-and-swap (allocator.SharedIPRange over a Store), as Kubernetes' older
	// range allocator does. Every writer serialises on that one key, and each write
	// carries the whole bitmap.
	Snapshot
)

// String returns "PerValue" or "Snapshot".
func (l Layout) String() string {
	switch l {
	case PerValue:
		return "PerValue"
	case Snapshot:
		return "Snapshot"
	}
	return "Layout(" + strconv.Itoa(int(l)) + ")"
}

// Config configures an IPAllocator or PortAllocator. The zero value is the PerValue
// layout, the allocator package's defaults and Retry's defaults.
type Config struct {
	// Layout is how allocations are kept. Zero means PerValue.
	Layout Layout
	// Alloc configures the allocator that proposes free values (strategy, random
	// source). Zero means the allocator package's defaults.
	Alloc allocator.Config
	// Retry says how calls retry errors that may pass. Zero means Retry's defaults.
	Retry Retry
}

// lockedSource serialises a caller's random source: the watch builds new mirrors
// from the same Config while callers draw from the current one.
type lockedSource struct {
	mu  sync.Mutex // protects src
	src rand.Source
}

func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Uint64()
}

func lockRand(cfg allocator.Config) allocator.Config {
	if cfg.Rand != nil {
		cfg.Rand = &lockedSource{src: cfg.Rand}
	}
	return cfg
}

// ranger is what each layout does for a value type T.
type ranger[T comparable] interface {
	allocateNext(ctx context.Context) (T, error)
	allocate(ctx context.Context, v T) error
	release(ctx context.Context, v T) error
	close()
	repairOps[T]
}

// sharedRange is allocator.SharedIPRange or SharedPortRange.
type sharedRange[T any] interface {
	AllocateNext(ctx context.Context) (T, error)
	Allocate(ctx context.Context, v T) error
	Release(ctx context.Context, v T) error
}

// snapshotRange is the Snapshot layout: an allocator shared through a Store.
type snapshotRange[T comparable] struct {
	store  *Store
	shared sharedRange[T]
	list   func(blob []byte) ([]T, error) // the values a snapshot holds
}

func (s snapshotRange[T]) allocateNext(ctx context.Context) (T, error) {
	return s.shared.AllocateNext(ctx)
}
func (s snapshotRange[T]) allocate(ctx context.Context, v T) error { return s.shared.Allocate(ctx, v) }
func (s snapshotRange[T]) release(ctx context.Context, v T) error  { return s.shared.Release(ctx, v) }
func (s snapshotRange[T]) close()                                  { s.store.Close() }

// IPAllocator hands out addresses of one prefix to many replicas through etcd: no
// address is ever given to two callers, whichever replica or client they use. Build
// it with NewIPAllocator; the zero value is not usable. Safe for concurrent use.
type IPAllocator struct {
	r      ranger[netip.Addr]
	check  func(netip.Addr) error
	repair repairer[netip.Addr]
}

// NewIPAllocator returns an allocator over p whose allocations live under key (the
// key itself for Snapshot, keys below key+"/" for PerValue). Replicas that share
// key must use the same prefix and layout. It starts one goroutine that watches
// etcd; Close stops it.
func NewIPAllocator(ctx context.Context, cli *clientv3.Client, key string, p netip.Prefix, cfg Config) (*IPAllocator, error) {
	cfg.Alloc = lockRand(cfg.Alloc)
	mk := func() (*allocator.IPRange, error) { return allocator.NewIPRange(p, cfg.Alloc) }
	probe, err := mk()
	if err != nil {
		return nil, err
	}
	check := func(a netip.Addr) error {
		if !probe.Contains(a) {
			return fmt.Errorf("%w: %v", allocator.ErrNotInRange, a)
		}
		return nil
	}
	if cfg.Layout == Snapshot {
		store := NewStore(ctx, cli, key, cfg.Retry)
		shared, err := allocator.NewSharedIPRange(p, store, cfg.Alloc)
		if err != nil {
			store.Close()
			return nil, err
		}
		list := func(blob []byte) ([]netip.Addr, error) {
			r, _ := mk()
			if blob != nil {
				if err := r.Restore(blob); err != nil {
					return nil, err
				}
			}
			return slices.Collect(r.All()), nil
		}
		return &IPAllocator{r: snapshotRange[netip.Addr]{store, shared, list}, check: check}, nil
	}
	k := &keyed[netip.Addr]{
		cli: cli, prefix: key + "/", retry: cfg.Retry, check: check,
		format: netip.Addr.String,
		parse: func(s string) (netip.Addr, bool) {
			a, err := netip.ParseAddr(s)
			return a, err == nil && a.String() == s && probe.Contains(a)
		},
		fresh: func() (mirrorRange[netip.Addr], error) { return mk() },
	}
	if err := k.start(ctx); err != nil {
		return nil, err
	}
	return &IPAllocator{r: k, check: check}, nil
}

// Repair reconciles the allocations with held, the addresses that Services
// actually hold: held ones not allocated are allocated again, and ones allocated
// but unheld on 3 consecutive repairs are freed (their holder may still be in
// flight the first times). Run it periodically on the leader only (see
// RunWhileLeading).
func (a *IPAllocator) Repair(ctx context.Context, held []netip.Addr) (allocator.RepairReport[netip.Addr], error) {
	return a.repair.repair(ctx, a.r, a.check, held)
}

// AllocateNext reserves a free address.
func (a *IPAllocator) AllocateNext(ctx context.Context) (netip.Addr, error) {
	return a.r.allocateNext(ctx)
}

// Allocate reserves addr; allocator.ErrAllocated if someone holds it.
func (a *IPAllocator) Allocate(ctx context.Context, addr netip.Addr) error {
	return a.r.allocate(ctx, addr)
}

// Release frees addr; releasing a free address is a no-op.
func (a *IPAllocator) Release(ctx context.Context, addr netip.Addr) error {
	return a.r.release(ctx, addr)
}

// Close stops the allocator's watch and waits for it.
func (a *IPAllocator) Close() { a.r.close() }

// PortAllocator hands out ports of one range (NodePorts) to many replicas through
// etcd, as IPAllocator does addresses. Build it with NewPortAllocator; the zero
// value is not usable. Safe for concurrent use.
type PortAllocator struct {
	r      ranger[uint16]
	check  func(uint16) error
	repair repairer[uint16]
}

// NewPortAllocator returns an allocator over the port range spec (see
// allocator.ParsePortRange) whose allocations live under key, as NewIPAllocator.
func NewPortAllocator(ctx context.Context, cli *clientv3.Client, key, spec string, cfg Config) (*PortAllocator, error) {
	lo, hi, err := allocator.ParsePortRange(spec)
	if err != nil {
		return nil, err
	}
	cfg.Alloc = lockRand(cfg.Alloc)
	mk := func() (*allocator.PortRange, error) { return allocator.NewPortRange(spec, cfg.Alloc) }
	if _, err := mk(); err != nil {
		return nil, err
	}
	check := func(p uint16) error {
		if p < lo || p > hi {
			return fmt.Errorf("%w: %d", allocator.ErrNotInRange, p)
		}
		return nil
	}
	if cfg.Layout == Snapshot {
		store := NewStore(ctx, cli, key, cfg.Retry)
		shared, err := allocator.NewSharedPortRange(spec, store, cfg.Alloc)
		if err != nil {
			store.Close()
			return nil, err
		}
		list := func(blob []byte) ([]uint16, error) {
			r, _ := mk()
			if blob != nil {
				if err := r.Restore(blob); err != nil {
					return nil, err
				}
			}
			return slices.Collect(r.All()), nil
		}
		return &PortAllocator{r: snapshotRange[uint16]{store, shared, list}, check: check}, nil
	}
	k := &keyed[uint16]{
		cli: cli, prefix: key + "/", retry: cfg.Retry, check: check,
		format: func(p uint16) string { return strconv.Itoa(int(p)) },
		parse: func(s string) (uint16, bool) {
			p, err := strconv.ParseUint(s, 10, 16)
			return uint16(p), err == nil && check(uint16(p)) == nil && strconv.Itoa(int(p)) == s
		},
		fresh: func() (mirrorRange[uint16], error) { return mk() },
	}
	if err := k.start(ctx); err != nil {
		return nil, err
	}
	return &PortAllocator{r: k, check: check}, nil
}

// Repair reconciles the allocations with the ports Services hold; see
// IPAllocator.Repair.
func (a *PortAllocator) Repair(ctx context.Context, held []uint16) (allocator.RepairReport[uint16], error) {
	return a.repair.repair(ctx, a.r, a.check, held)
}

// AllocateNext reserves a free port.
func (a *PortAllocator) AllocateNext(ctx context.Context) (uint16, error) {
	return a.r.allocateNext(ctx)
}

// Allocate reserves port p; allocator.ErrAllocated if someone holds it.
func (a *PortAllocator) Allocate(ctx context.Context, p uint16) error { return a.r.allocate(ctx, p) }

// Release frees port p; releasing a free port is a no-op.
func (a *PortAllocator) Release(ctx context.Context, p uint16) error { return a.r.release(ctx, p) }

// Close stops the allocator's watch and waits for it.
func (a *PortAllocator) Close() { a.r.close() }
