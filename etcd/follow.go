package etcd

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Update is one step of the published state as a Follower delivers it: every
// object that changed since the previous Update (its latest value) and every one
// removed. A step never repeats a change a previous one delivered, and never skips
// one: applying the Updates in order to an empty map gives the published state as
// of Revision.
type Update[T any] struct {
	// Revision is the etcd revision the state is as of after this Update.
	Revision int64
	// Changed holds the objects added or changed, by name, sorted.
	Changed []Named[T]
	// Removed holds the names of the objects removed, sorted.
	Removed []string
	// Relisted is true when the Follower had to list the whole prefix (the first
	// Update, or its revision was compacted away); the Update is still only the
	// difference from what was delivered before.
	Relisted bool
	// Invalid holds objects that could not be decoded, such as ones written in a
	// newer format (ErrUnknownVersion from the codec): the Follower keeps delivering
	// the rest and reports these rather than misread or silently drop them. A name
	// here keeps the last value delivered for it, if any.
	Invalid []NamedError
}

// Named is an object with its name.
type Named[T any] struct {
	Name  string
	Value T
}

// NamedError is an object that could not be decoded.
type NamedError struct {
	Name string
	Err  error
}

// Follower follows the objects a Publisher writes under a prefix and delivers them
// as Updates: the node's side of the published state. It lists once, then watches
// from the listed revision; after a disconnect it resumes from the last revision it
// delivered, and when etcd has compacted that revision it lists again and delivers
// the difference. Build it with NewFollower; the zero value is not usable. Run is
// not safe for concurrent use; State and Revision are.
type Follower[T any] struct {
	cli    *clientv3.Client
	prefix string
	codec  Codec[T]
	seed   maphash.Seed

	mu     sync.Mutex // protects state, rev, status
	state  map[string]entry[T]
	rev    int64 // revision of the last Update delivered; 0 before the first
	status Status
	notify func() // called after the connection changed; set before Run, never changed
}

// entry is what a Follower holds per object: the value and a hash of its encoding,
// so that a rewrite of the same bytes (a retried write) is not delivered again.
type entry[T any] struct {
	value T
	sum   uint64
}

// NewFollower returns a Follower of the objects under prefix.
func NewFollower[T any](cli *clientv3.Client, prefix string, codec Codec[T]) *Follower[T] {
	return &Follower[T]{cli: cli, prefix: prefix, codec: codec, seed: maphash.MakeSeed(), state: map[string]entry[T]{}}
}

// Revision returns the revision of the last Update delivered.
func (f *Follower[T]) Revision() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rev
}

// State returns the objects as of Revision, by name.
func (f *Follower[T]) State() map[string]T {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]T, len(f.state))
	for k, e := range f.state {
		out[k] = e.value
	}
	return out
}

// Status is a Follower's connection to etcd, for a node's logs, metrics and
// health endpoint. The zero value is a Follower that has not reached etcd yet.
type Status struct {
	// Connected is true while the last contact with etcd (a list, a watch event or
	// the probe Run makes every second) succeeded.
	Connected bool
	// Since is when Connected last changed, or when the first contact failed.
	Since time.Time
	// Revision is the etcd revision of the last Update delivered, LastUpdate when
	// it was delivered.
	Revision   int64
	LastUpdate time.Time
	// LastErr is why the last failed contact failed; it stays after a reconnect,
	// for the record (Err tells whether it still holds).
	LastErr error
	// Relists counts lists of the whole prefix: the first one, and one after
	// each watch whose revision etcd had compacted. A reconnect that resumed the
	// watch adds none.
	Relists uint64
}

// Err returns nil while connected, else an error wrapping ErrUnavailable that
// says since when, at which revision, and why.
func (s Status) Err() error {
	switch {
	case s.Connected:
		return nil
	case s.LastErr == nil:
		return fmt.Errorf("etcd: not reached yet: %w", ErrUnavailable)
	}
	return fmt.Errorf("etcd: unreachable since %s, serving revision %d: %w: %w",
		s.Since.UTC().Format(time.RFC3339), s.Revision, ErrUnavailable, s.LastErr)
}

// Status returns the Follower's connection to etcd.
func (f *Follower[T]) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status
	st.Revision = f.rev
	return st
}

// contact records the outcome of a contact with etcd: nil is a success.
func (f *Follower[T]) contact(err error) {
	f.mu.Lock()
	s := &f.status
	changed := s.Connected != (err == nil) || s.Since.IsZero()
	if changed {
		s.Connected, s.Since = err == nil, time.Now()
	}
	if err != nil {
		s.LastErr = err
	}
	f.mu.Unlock()
	if changed && f.notify != nil {
		f.notify()
	}
}

// probeInterval is how often Run checks that etcd answers; probeTimeout bounds one
// check. A watch on a member that went away neither fails nor delivers (the
// client reconnects in silence), so only a probe tells a quiet prefix from a
// lost etcd.
const (
	probeInterval = time.Second
	probeTimeout  = time.Second
)

// probe reads the prefix's own key, linearizably (so a member without a quorum
// fails it), every probeInterval until ctx ends.
func (f *Follower[T]) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := f.cli.Get(pctx, f.prefix, clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		f.contact(err)
	}
}

// Run delivers Updates to fn, one at a time in revision order, until ctx ends
// (then it returns ctx's error) or fn returns an error (then it returns that). A
// Run after an earlier one resumes where that one stopped. While etcd cannot be
// reached, Run keeps retrying with backoff and delivers nothing: the caller keeps
// what it has, and Status says so. Run probes etcd every second while it runs.
func (f *Follower[T]) Run(ctx context.Context, fn func(Update[T]) error) error {
	pctx, stop := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() { defer close(probed); f.probe(pctx) }()
	defer func() { stop(); <-probed }()
	pause := 25 * time.Millisecond
	for {
		err := f.follow(ctx, fn)
		if err != nil && ctx.Err() == nil {
			f.contact(err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fe fnError
		if errors.As(err, &fe) {
			return fe.err
		}
		if err == nil {
			pause = 25 * time.Millisecond
			continue
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		pause = min(2*pause, time.Second)
	}
}

// fnError marks an error from the caller's function, which ends Run.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// follow lists if there is no revision to resume from, then watches until the
// watch breaks. A compacted revision makes it list again.
func (f *Follower[T]) follow(ctx context.Context, fn func(Update[T]) error) error {
	if f.rev == 0 {
		if err := f.relist(ctx, fn); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := f.cli.Watch(wctx, f.prefix, clientv3.WithPrefix(), clientv3.WithRev(f.rev+1), clientv3.WithProgressNotify())
	for wr := range wch {
		if errors.Is(wr.Err(), rpctypes.ErrCompacted) {
			return f.relist(ctx, fn)
		}
		if err := wr.Err(); err != nil {
			return err
		}
		if err := f.apply(wr, fn); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// relistPage is how many objects one read of a relist carries: a node's peak
// memory holds one page of raw values, not the whole prefix at once (10,000
// Services of 10 endpoints are ~20 MB of values, more as gRPC and protobuf copies).
const relistPage = 500

// relist reads every object, a page at a time at one revision, and delivers the
// difference from the state held.
func (f *Follower[T]) relist(ctx context.Context, fn func(Update[T]) error) error {
	next := make(map[string]entry[T], len(f.state))
	u := Update[T]{Relisted: true}
	key, end := f.prefix, clientv3.GetPrefixRangeEnd(f.prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(relistPage)}
		if u.Revision != 0 {
			opts = append(opts, clientv3.WithRev(u.Revision)) // the later pages: as of the first
		}
		resp, err := f.cli.Get(ctx, key, opts...)
		if err != nil {
			return err
		}
		if u.Revision == 0 {
			u.Revision = resp.Header.Revision
		}
		f.relistPage(resp.Kvs, next, &u)
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	f.contact(nil)
	f.mu.Lock()
	f.status.Relists++
	f.mu.Unlock()
	for name := range f.state {
		if _, ok := next[name]; !ok {
			u.Removed = append(u.Removed, name)
		}
	}
	sort.Strings(u.Removed)
	return f.deliver(u, func() { f.state = next }, fn)
}

// relistPage decodes one page of a relist into next and u.
func (f *Follower[T]) relistPage(kvs []*mvccpb.KeyValue, next map[string]entry[T], u *Update[T]) {
	for _, kv := range kvs {
		name := strings.TrimPrefix(string(kv.Key), f.prefix)
		old, had := f.state[name]
		e, changed, err := f.decode(name, kv.Value, old, had)
		if err != nil {
			u.Invalid = append(u.Invalid, NamedError{name, err})
		}
		if changed {
			u.Changed = append(u.Changed, Named[T]{name, e.value})
		}
		if had || err == nil {
			next[name] = e
		}
	}
}

// decode decodes one object's bytes, keeping old when they do not decode, and
// reports whether the value changed.
func (f *Follower[T]) decode(name string, b []byte, old entry[T], had bool) (entry[T], bool, error) {
	sum := maphash.Bytes(f.seed, b)
	if had && old.sum == sum {
		return old, false, nil
	}
	v, err := f.codec.Unmarshal(b)
	if err != nil {
		return old, false, fmt.Errorf("etcd: object %q: %w", name, err)
	}
	return entry[T]{v, sum}, true, nil
}

// apply turns one watch response into an Update. Events come in revision order;
// within one response the last event of a name wins. Only the Run goroutine
// writes f.state and f.rev, so it reads them here without the lock.
func (f *Follower[T]) apply(wr clientv3.WatchResponse, fn func(Update[T]) error) error {
	f.mu.Lock()
	connected := f.status.Connected
	f.mu.Unlock()
	if !connected {
		f.contact(nil)
	}
	rev := wr.Header.Revision // a progress notification: everything up to it was sent
	if n := len(wr.Events); n > 0 {
		rev = wr.Events[n-1].Kv.ModRevision
	} else if !wr.IsProgressNotify() {
		return nil
	}
	if rev <= f.rev {
		return nil // a replay of what was delivered
	}
	delta := map[string]*entry[T]{} // nil: removed
	u := Update[T]{Revision: rev}
	for _, ev := range wr.Events {
		name := strings.TrimPrefix(string(ev.Kv.Key), f.prefix)
		old, had := f.lookup(name, delta)
		if ev.Type == clientv3.EventTypeDelete {
			if had {
				delta[name] = nil
			}
			continue
		}
		e, changed, err := f.decode(name, ev.Kv.Value, old, had)
		if err != nil {
			u.Invalid = append(u.Invalid, NamedError{name, err})
		} else if changed {
			delta[name] = &e
		}
	}
	for name, e := range delta {
		if e != nil {
			u.Changed = append(u.Changed, Named[T]{name, e.value})
		} else if _, was := f.state[name]; was {
			u.Removed = append(u.Removed, name)
		}
	}
	sort.Slice(u.Changed, func(i, j int) bool { return u.Changed[i].Name < u.Changed[j].Name })
	sort.Strings(u.Removed)
	return f.deliver(u, func() {
		for name, e := range delta {
			if e == nil {
				delete(f.state, name)
			} else {
				f.state[name] = *e
			}
		}
	}, fn)
}

// lookup finds name's entry as of the events applied so far.
func (f *Follower[T]) lookup(name string, delta map[string]*entry[T]) (entry[T], bool) {
	if e, ok := delta[name]; ok {
		if e == nil {
			return entry[T]{}, false
		}
		return *e, true
	}
	e, ok := f.state[name]
	return e, ok
}

// deliver hands u to fn and then, under the lock, commits it to the state held,
// so that an Update fn refused is delivered again (as part of the next one) on the
// next Run.
func (f *Follower[T]) deliver(u Update[T], commit func(), fn func(Update[T]) error) error {
	if len(u.Changed) > 0 || len(u.Removed) > 0 || len(u.Invalid) > 0 || u.Relisted {
		if err := fn(u); err != nil {
			return fnError{err}
		}
	}
	f.mu.Lock()
	commit()
	f.rev = u.Revision
	f.status.LastUpdate = time.Now()
	f.mu.Unlock()
	return nil
}
