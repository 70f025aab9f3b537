package etcd

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/svcnet/svcnet/allocator"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Store is an allocator.Store kept in one etcd key: the whole snapshot of a range,
// replaced by compare-and-swap on the key's mod revision (an etcd transaction), as
// Kubernetes keeps its range allocations in one object. A watch keeps a local copy
// of the key fresh, so Load does not round-trip; a CompareAndSwap that loses reads
// the winner's value in the same transaction, so the retry after a conflict starts
// from the current state. Build it with NewStore; the zero value is not usable. Safe
// for concurrent use.
type Store struct {
	cli   *clientv3.Client
	key   string
	retry Retry

	mu     sync.Mutex // protects cached, rev, seen, synced, closed
	cached []byte     // the payload at rev; nil when the key does not exist
	rev    uint64     // mod revision of the cached value; 0 when the key does not exist
	seen   uint64     // the etcd revision the copy is as of: older news is ignored
	synced bool       // the watch is running from the cached revision on
	closed bool

	cancel context.CancelFunc
	done   chan struct{}
}

var _ allocator.Store = (*Store)(nil)

// NewStore returns a Store over key. It starts one goroutine that watches the key
// until Close (or ctx ends); Close it when done.
func NewStore(ctx context.Context, cli *clientv3.Client, key string, retry Retry) *Store {
	ctx, cancel := context.WithCancel(ctx)
	s := &Store{cli: cli, key: key, retry: retry, cancel: cancel, done: make(chan struct{})}
	go s.watch(ctx)
	return s
}

// Close stops the watch and waits for it to end.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
}

// Load returns the latest snapshot the store has seen and its revision: the local
// copy while the watch is running, else a read from etcd. A copy behind etcd only
// makes the next CompareAndSwap conflict, which refreshes it.
func (s *Store) Load(ctx context.Context) ([]byte, uint64, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, 0, ErrClosed
	}
	if s.synced {
		blob, rev := s.cached, s.rev
		s.mu.Unlock()
		return blob, rev, nil
	}
	s.mu.Unlock()
	var blob []byte
	var rev uint64
	err := s.retry.do(ctx, "get "+s.key, func(ctx context.Context, _ int) error {
		resp, err := s.cli.Get(ctx, s.key)
		if err != nil {
			return err
		}
		blob, rev, err = s.observeKVs(resp.Kvs)
		return err
	})
	return blob, rev, err
}

// CompareAndSwap writes blob if the key's mod revision is still rev (rev 0: the key
// does not exist) and returns the new revision, or allocator.ErrConflict. One
// transaction either writes or reads the current value. A retry after an attempt
// whose outcome is unknown recognises that attempt's write by its write ID.
func (s *Store) CompareAndSwap(ctx context.Context, rev uint64, blob []byte) (uint64, error) {
	id := newWriteID()
	val := string(encodeValue(id, blob))
	cmp := clientv3.Compare(clientv3.ModRevision(s.key), "=", int64(rev))
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(s.key), "=", 0)
	}
	var newRev uint64
	conflict := false
	err := s.retry.do(ctx, "compare-and-swap "+s.key, func(ctx context.Context, attempt int) error {
		resp, err := s.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(s.key, val)).Else(clientv3.OpGet(s.key)).Commit()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			newRev = uint64(resp.Header.Revision)
			s.observe(newRev, blob)
			return nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if attempt > 0 && len(kvs) == 1 {
			if got, _, err := decodeValue(s.key, kvs[0].Value); err == nil && got == id {
				// An earlier attempt of this call was applied.
				newRev = uint64(kvs[0].ModRevision)
				_, _, err = s.observeKVs(kvs)
				return err
			}
		}
		conflict = true
		_, _, err = s.observeKVs(kvs)
		return err
	})
	if err != nil {
		return 0, err
	}
	if conflict {
		return 0, allocator.ErrConflict
	}
	return newRev, nil
}

// observeKVs decodes a read of the key and keeps it if it is newer than the copy.
func (s *Store) observeKVs(kvs []*mvccKV) ([]byte, uint64, error) {
	if len(kvs) == 0 {
		return nil, 0, nil
	}
	_, payload, err := decodeValue(s.key, kvs[0].Value)
	if err != nil {
		return nil, 0, err
	}
	rev := uint64(kvs[0].ModRevision)
	s.observe(rev, payload)
	return payload, rev, nil
}

// observe keeps (rev, blob) as the local copy if it is newer than the one held.
func (s *Store) observe(rev uint64, blob []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev > s.seen {
		s.cached, s.rev, s.seen = bytes.Clone(blob), rev, rev
	}
}

// setDeleted records that the key did not exist at revision at.
func (s *Store) setDeleted(at uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at > s.seen {
		s.cached, s.rev, s.seen = nil, 0, at
	}
}

func (s *Store) setSynced(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced = v
}

// watch keeps the local copy fresh: read the key, then follow it from that
// revision; on any break (compaction, lost leader, closed stream) read again.
func (s *Store) watch(ctx context.Context) {
	defer close(s.done)
	defer s.setSynced(false)
	pause := 25 * time.Millisecond
	for ctx.Err() == nil {
		if err := s.follow(ctx); err != nil && ctx.Err() == nil {
			sleep(ctx, pause)
			pause = min(2*pause, time.Second)
			continue
		}
		pause = 25 * time.Millisecond
	}
}

// follow reads the key and watches it until the watch breaks.
func (s *Store) follow(ctx context.Context) error {
	s.setSynced(false)
	resp, err := s.cli.Get(ctx, s.key)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		s.setDeleted(uint64(resp.Header.Revision))
	} else if _, _, err := s.observeKVs(resp.Kvs); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, s.key, clientv3.WithRev(resp.Header.Revision+1))
	s.setSynced(true)
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return err
		}
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypeDelete {
				s.setDeleted(uint64(ev.Kv.ModRevision))
				continue
			}
			if _, _, err := s.observeKVs([]*mvccKV{ev.Kv}); err != nil {
				return err
			}
		}
	}
	return errors.New("watch closed")
}
