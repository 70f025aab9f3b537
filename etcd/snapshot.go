package etcd

import (
	"context"
	"fmt"

	"github.com/svcnet/svcnet/allocator"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// SnapshotStore keeps one snapshot (an allocator.Services' allocations) in one
// etcd key, written only while a leadership holds: the leading control plane
// persists its allocator there (controlplane.Config.Persist) and the next leader
// restores it when it takes over. A replica that lost its leadership cannot
// overwrite what its successor stored: its Save fails with ErrNotLeader. Build it
// with NewSnapshotStore; the zero value is not usable. Safe for concurrent use.
type SnapshotStore struct {
	cli   *clientv3.Client
	key   string
	retry Retry
	guard []clientv3.Cmp
}

// NewSnapshotStore returns a SnapshotStore over key, such as
// "/svcnet/allocations". Every Save is applied only while every guard holds (see
// Leadership.Guard); with no guard, Saves are unconditional.
func NewSnapshotStore(cli *clientv3.Client, key string, retry Retry, guard ...clientv3.Cmp) *SnapshotStore {
	return &SnapshotStore{cli: cli, key: key, retry: retry, guard: guard}
}

// Save stores blob, in one transaction under the guard: ErrNotLeader when the
// guard no longer holds (nothing was written), ErrUnavailable when etcd could not
// be reached. Writing the same blob twice is harmless, so a retry after an attempt
// whose outcome is unknown needs no write ID.
func (s *SnapshotStore) Save(ctx context.Context, blob []byte) error {
	lost := false
	err := s.retry.do(ctx, "save "+s.key, func(ctx context.Context, _ int) error {
		resp, err := s.cli.Txn(ctx).If(s.guard...).Then(clientv3.OpPut(s.key, string(blob))).Commit()
		if err != nil {
			return err
		}
		lost = !resp.Succeeded
		return nil
	})
	if err != nil {
		return err
	}
	if lost {
		return fmt.Errorf("etcd: save %s: %w", s.key, ErrNotLeader)
	}
	return nil
}

// Load returns the stored blob, nil when nothing was ever saved. The read is
// linearizable: it sees every Save that returned before it.
func (s *SnapshotStore) Load(ctx context.Context) ([]byte, error) {
	var blob []byte
	err := s.retry.do(ctx, "load "+s.key, func(ctx context.Context, _ int) error {
		resp, err := s.cli.Get(ctx, s.key)
		if err != nil {
			return err
		}
		blob = nil
		if len(resp.Kvs) > 0 {
			blob = resp.Kvs[0].Value
		}
		return nil
	})
	return blob, err
}

// Persist returns a function for controlplane.Config.Persist that Saves every
// snapshot with ctx (the leadership's context, so that a persist stops with it).
func (s *SnapshotStore) Persist(ctx context.Context) func(snapshot []byte) error {
	return func(snapshot []byte) error { return s.Save(ctx, snapshot) }
}

// Restore loads the stored snapshot into alloc, which must be built from the same
// configuration as the one that saved it (else allocator.ErrMismatchedRange).
// Nothing stored leaves alloc as it is: a new cluster starts empty. Call it when
// taking the leadership, before the control plane allocates anything.
func (s *SnapshotStore) Restore(ctx context.Context, alloc *allocator.Services) error {
	blob, err := s.Load(ctx)
	if err != nil || blob == nil {
		return err
	}
	if err := alloc.Restore(blob); err != nil {
		return fmt.Errorf("etcd: restore %s: %w", s.key, err)
	}
	return nil
}
