package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/svcnet/svcnet/allocator"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// mirrorRange is the local allocator a keyed range mirrors etcd into: IPRange or
// PortRange.
type mirrorRange[T any] interface {
	AllocateNext() (T, error)
	Allocate(v T) error
	Release(v T) error
}

// maxCandidates bounds how many taken candidates one AllocateNext tries before it
// gives up with allocator.ErrConflict. Each loss is a value another writer holds, so
// it is only reached when the mirror is far behind.
const maxCandidates = 256

// keyed keeps one etcd key per allocated value, as Kubernetes' IPAddress objects do:
// a value is taken by creating its key (a transaction that succeeds only if the key
// does not exist) and freed by deleting it. Writers contend only for the same value.
// A watch mirrors the keys into a local allocator, which only proposes candidates:
// etcd's create-if-absent is what makes a value one writer's.
type keyed[T comparable] struct {
	cli    *clientv3.Client
	prefix string // key of value v: prefix + format(v)
	retry  Retry
	format func(T) string
	parse  func(string) (T, bool)
	check  func(T) error // nil when v lies in the range
	fresh  func() (mirrorRange[T], error)

	mu     sync.Mutex // protects mirror
	mirror mirrorRange[T]

	ready  chan struct{} // closed once the mirror has been filled
	cancel context.CancelFunc
	done   chan struct{}
}

// start fills the mirror and follows the keys until close.
func (k *keyed[T]) start(ctx context.Context) error {
	m, err := k.fresh()
	if err != nil {
		return err
	}
	k.mirror = m
	ctx, k.cancel = context.WithCancel(ctx)
	k.ready, k.done = make(chan struct{}), make(chan struct{})
	go k.watch(ctx)
	return nil
}

func (k *keyed[T]) close() {
	k.cancel()
	<-k.done
}

func (k *keyed[T]) awaitReady(ctx context.Context) error {
	select {
	case <-k.ready:
		return nil
	case <-k.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// allocateNext proposes free values from the mirror until one key is created.
func (k *keyed[T]) allocateNext(ctx context.Context) (T, error) {
	var zero T
	if err := k.awaitReady(ctx); err != nil {
		return zero, err
	}
	for range maxCandidates {
		k.mu.Lock()
		v, err := k.mirror.AllocateNext() // marks v, so no caller here proposes it again
		k.mu.Unlock()
		if err != nil {
			return zero, err
		}
		err = k.create(ctx, v)
		if err == nil {
			return v, nil
		}
		if err != allocator.ErrAllocated {
			// Unmark: if the create was applied after all, the watch marks v again,
			// and if this undoes that mark, the next create of v fails and re-marks it.
			k.mu.Lock()
			k.mirror.Release(v)
			k.mu.Unlock()
			return zero, err
		}
		// Another writer holds v; it stays marked here, as the watch will confirm.
	}
	return zero, fmt.Errorf("etcd: allocate in %q: %d candidates taken: %w", k.prefix, maxCandidates, allocator.ErrConflict)
}

func (k *keyed[T]) allocate(ctx context.Context, v T) error {
	if err := k.check(v); err != nil {
		return err
	}
	if err := k.create(ctx, v); err != nil {
		if err == allocator.ErrAllocated {
			return fmt.Errorf("%w: %s", err, k.format(v))
		}
		return err
	}
	return nil
}

// create takes v's key if it does not exist; allocator.ErrAllocated if it does.
func (k *keyed[T]) create(ctx context.Context, v T) error {
	key := k.prefix + k.format(v)
	id := newWriteID()
	val := string(encodeValue(id, nil))
	taken := false
	err := k.retry.do(ctx, "create "+key, func(ctx context.Context, attempt int) error {
		resp, err := k.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, val)).
			Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			return nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if attempt > 0 && len(kvs) == 1 {
			if got, _, err := decodeValue(key, kvs[0].Value); err == nil && got == id {
				return nil // an earlier attempt of this call was applied
			}
		}
		taken = true
		return nil
	})
	if err != nil {
		return err
	}
	if taken {
		return allocator.ErrAllocated
	}
	return nil
}

// release deletes v's key; releasing a free value is a no-op.
func (k *keyed[T]) release(ctx context.Context, v T) error {
	if err := k.check(v); err != nil {
		return err
	}
	key := k.prefix + k.format(v)
	return k.retry.do(ctx, "delete "+key, func(ctx context.Context, _ int) error {
		_, err := k.cli.Delete(ctx, key)
		return err
	})
}

// watch keeps the mirror equal to the keys: list, then follow from that revision;
// on any break, list again into a new mirror.
func (k *keyed[T]) watch(ctx context.Context) {
	defer close(k.done)
	pause := 25 * time.Millisecond
	for ctx.Err() == nil {
		if err := k.follow(ctx); err != nil && ctx.Err() == nil {
			sleep(ctx, pause)
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 25 * time.Millisecond
	}
}

func (k *keyed[T]) follow(ctx context.Context) error {
	m, rev, err := k.list(ctx)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.mirror = m
	k.mu.Unlock()
	select {
	case <-k.ready:
	default:
		close(k.ready)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for wr := range k.cli.Watch(wctx, k.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := wr.Err(); err != nil {
			return err
		}
		k.mu.Lock()
		for _, ev := range wr.Events {
			v, ok := k.parse(strings.TrimPrefix(string(ev.Kv.Key), k.prefix))
			if !ok {
				continue
			}
			if ev.Type == clientv3.EventTypeDelete {
				k.mirror.Release(v)
			} else {
				k.mirror.Allocate(v) // ErrAllocated: already marked by a proposal here
			}
		}
		k.mu.Unlock()
	}
	return ctx.Err()
}

// list reads every key into a new mirror and returns the revision it is as of.
func (k *keyed[T]) list(ctx context.Context) (mirrorRange[T], int64, error) {
	m, err := k.fresh()
	if err != nil {
		return nil, 0, err
	}
	resp, err := k.cli.Get(ctx, k.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, err
	}
	for _, kv := range resp.Kvs {
		if v, ok := k.parse(strings.TrimPrefix(string(kv.Key), k.prefix)); ok {
			m.Allocate(v)
		}
	}
	return m, resp.Header.Revision, nil
}
