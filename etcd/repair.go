package etcd

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/svcnet/svcnet/allocator"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leakStrikes is how many consecutive repairs a value must stay allocated but
// unheld before a repair frees it, as Kubernetes' repair controller does: its holder
// may still be in flight.
const leakStrikes = 3

// repairer keeps the strikes of one allocator's repair passes.
type repairer[T comparable] struct {
	mu      sync.Mutex // serialises repairs; protects strikes
	strikes map[T]int
}

// repairOps is what a layout offers a repair pass.
type repairOps[T comparable] interface {
	// allocated lists the allocated values with a token that free checks.
	allocated(ctx context.Context) (map[T]int64, error)
	allocate(ctx context.Context, v T) error
	// free releases v unless it changed since listed with token.
	free(ctx context.Context, v T, token int64) error
}

// repair reconciles the allocations with held, the values objects actually hold:
// held values not allocated are allocated again; values allocated but unheld for
// leakStrikes consecutive passes are freed. Run it on the leader only
// (RunWhileLeading), periodically.
func (r *repairer[T]) repair(ctx context.Context, ops repairOps[T], check func(T) error, held []T) (allocator.RepairReport[T], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rep allocator.RepairReport[T]
	cur, err := ops.allocated(ctx)
	if err != nil {
		return rep, err
	}
	seen := make(map[T]bool, len(held))
	for _, v := range held {
		switch {
		case check(v) != nil:
			rep.OutOfRange = append(rep.OutOfRange, v)
		case seen[v]:
			rep.Duplicates = append(rep.Duplicates, v)
		default:
			seen[v] = true
			if _, ok := cur[v]; ok {
				continue
			}
			err := ops.allocate(ctx, v)
			var nr notRepairable
			switch {
			case errors.As(err, &nr) && nr.conflict:
				rep.Duplicates = append(rep.Duplicates, v)
			case errors.As(err, &nr):
				rep.OutOfRange = append(rep.OutOfRange, v)
			case err != nil && err != allocator.ErrAllocated:
				return rep, err
			default:
				rep.Remarked = append(rep.Remarked, v)
			}
		}
	}
	strikes := map[T]int{}
	for v, token := range cur {
		if seen[v] {
			continue
		}
		n := r.strikes[v] + 1
		if n < leakStrikes {
			strikes[v] = n
			rep.Leaked = append(rep.Leaked, v)
			continue
		}
		if err := ops.free(ctx, v, token); err != nil {
			return rep, err
		}
		rep.Freed = append(rep.Freed, v)
	}
	r.strikes = strikes
	return rep, nil
}

func (k *keyed[T]) allocated(ctx context.Context) (map[T]int64, error) {
	out := map[T]int64{}
	err := k.retry.do(ctx, "list "+k.prefix, func(ctx context.Context, _ int) error {
		resp, err := k.cli.Get(ctx, k.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return err
		}
		clear(out)
		for _, kv := range resp.Kvs {
			if v, ok := k.parse(strings.TrimPrefix(string(kv.Key), k.prefix)); ok {
				out[v] = kv.ModRevision
			}
		}
		return nil
	})
	return out, err
}

// free deletes v's key only if it was not written since it was listed: a value
// freed and taken again in between is not freed.
func (k *keyed[T]) free(ctx context.Context, v T, modRev int64) error {
	key := k.prefix + k.format(v)
	return k.retry.do(ctx, "free "+key, func(ctx context.Context, _ int) error {
		_, err := k.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev)).
			Then(clientv3.OpDelete(key)).Commit()
		return err
	})
}

// allocated restores the stored snapshot and lists its values; the token is
// unused, as a snapshot changes as a whole.
func (s snapshotRange[T]) allocated(ctx context.Context) (map[T]int64, error) {
	blob, _, err := s.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	vals, err := s.list(blob)
	if err != nil {
		return nil, err
	}
	out := make(map[T]int64, len(vals))
	for _, v := range vals {
		out[v] = 0
	}
	return out, nil
}

func (s snapshotRange[T]) free(ctx context.Context, v T, _ int64) error {
	return s.shared.Release(ctx, v)
}
