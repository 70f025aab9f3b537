package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Codec says how a published object of type T is named and encoded. The encoding
// must carry its own format version and refuse versions it does not know (as
// package resolved's MarshalService and UnmarshalService do), so that an older
// reader never misreads a newer writer's object.
type Codec[T any] struct {
	// Name is the object's key below the publisher's prefix, such as
	// "namespace/name".
	Name func(T) string
	// Marshal encodes an object.
	Marshal func(T) ([]byte, error)
	// Unmarshal decodes an object Marshal wrote.
	Unmarshal func([]byte) (T, error)
}

// ErrNotLeader is returned by a Publisher's writes when its guard no longer holds:
// the replica lost its leadership, and the write was not applied.
var ErrNotLeader = errors.New("etcd: no longer leader")

// maxTxnOps is how many writes one transaction carries; etcd refuses more than
// 128 by default (--max-txn-ops).
const maxTxnOps = 100

// Publisher writes objects of type T, one key each, under a prefix: the control
// plane's side of the published state. Build it with NewPublisher; the zero value is
// not usable. Safe for concurrent use.
type Publisher[T any] struct {
	cli    *clientv3.Client
	prefix string
	codec  Codec[T]
	retry  Retry
	guard  []clientv3.Cmp
}

// NewPublisher returns a Publisher of objects under prefix. Every write it makes is
// applied only while every guard holds (see Leadership.Guard), else it fails with
// ErrNotLeader: a replica that lost its leadership cannot overwrite its successor.
func NewPublisher[T any](cli *clientv3.Client, prefix string, codec Codec[T], retry Retry, guard ...clientv3.Cmp) *Publisher[T] {
	return &Publisher[T]{cli: cli, prefix: prefix, codec: codec, retry: retry, guard: guard}
}

// Put publishes v and returns the etcd revision of the write.
func (p *Publisher[T]) Put(ctx context.Context, v T) (int64, error) {
	b, err := p.codec.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("etcd: publish %q: %w", p.codec.Name(v), err)
	}
	return p.commit(ctx, "publish "+p.codec.Name(v), []clientv3.Op{clientv3.OpPut(p.prefix+p.codec.Name(v), string(b))})
}

// Delete removes the object called name; removing a missing one is no error.
func (p *Publisher[T]) Delete(ctx context.Context, name string) (int64, error) {
	return p.commit(ctx, "unpublish "+name, []clientv3.Op{clientv3.OpDelete(p.prefix + name)})
}

// Sync makes the published objects equal to all: it writes the objects whose
// encoding changed and deletes those not in all, in transactions of up to 100
// writes each (a watcher may see a large Sync in steps, each a consistent prefix of
// it). It returns how many keys it wrote and deleted.
func (p *Publisher[T]) Sync(ctx context.Context, all []T) (written, deleted int, err error) {
	var cur map[string][]byte
	err = p.retry.do(ctx, "list "+p.prefix, func(ctx context.Context, _ int) error {
		resp, err := p.cli.Get(ctx, p.prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		cur = make(map[string][]byte, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			cur[string(kv.Key)] = kv.Value
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	var ops []clientv3.Op
	for _, v := range all {
		key := p.prefix + p.codec.Name(v)
		b, err := p.codec.Marshal(v)
		if err != nil {
			return 0, 0, fmt.Errorf("etcd: publish %q: %w", p.codec.Name(v), err)
		}
		old, ok := cur[key]
		delete(cur, key)
		if !ok || !bytes.Equal(old, b) {
			ops = append(ops, clientv3.OpPut(key, string(b)))
			written++
		}
	}
	gone := make([]string, 0, len(cur))
	for key := range cur {
		gone = append(gone, key)
	}
	sort.Strings(gone)
	for _, key := range gone {
		ops = append(ops, clientv3.OpDelete(key))
	}
	for len(ops) > 0 {
		n := min(len(ops), maxTxnOps)
		if _, err := p.commit(ctx, "sync "+p.prefix, ops[:n]); err != nil {
			return 0, 0, err
		}
		ops = ops[n:]
	}
	return written, len(gone), nil
}

// commit applies ops in one transaction under the guard. A retry after an attempt
// whose outcome is unknown writes the same values again: idempotent, and a Follower
// drops the rewrite of an unchanged value.
func (p *Publisher[T]) commit(ctx context.Context, what string, ops []clientv3.Op) (int64, error) {
	var rev int64
	lost := false
	err := p.retry.do(ctx, what, func(ctx context.Context, _ int) error {
		resp, err := p.cli.Txn(ctx).If(p.guard...).Then(ops...).Commit()
		if err != nil {
			return err
		}
		lost, rev = !resp.Succeeded, resp.Header.Revision
		return nil
	})
	if err != nil {
		return 0, err
	}
	if lost {
		return 0, fmt.Errorf("etcd: %s: %w", what, ErrNotLeader)
	}
	return rev, nil
}
