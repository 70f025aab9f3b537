package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Election configures RunWhileLeading. Replicas that share Prefix elect one leader
// among them.
type Election struct {
	// Prefix is the election's key prefix, such as "/svcnet/leader"; candidacies
	// are keys below Prefix+"/".
	Prefix string
	// ID names this replica; Leader reports it.
	ID string
	// TTL is the lease that keeps a candidacy alive, in whole seconds (etcd leases),
	// at least 1 s. etcd raises a shorter lease to its own minimum, 1.5 election
	// timeouts (2 s at etcd's defaults), so that is the shortest TTL in effect. A leader that dies without resigning is replaced once it has
	// expired: the takeover bound is TTL plus one etcd election timeout, when the
	// cluster itself needs a new raft leader too. Zero means 5 s.
	TTL time.Duration
}

// Leadership is what a leader's function gets: the election key it holds.
type Leadership struct {
	key string
	rev int64
}

// Guard is a transaction condition that holds only while this leadership does:
// give it to NewPublisher so that a replica that lost its leadership cannot
// overwrite what its successor published.
func (l Leadership) Guard() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(l.key), "=", l.rev)
}

// RunWhileLeading campaigns for leadership and, each time this replica leads, runs
// fn with a context that ends when the leadership is lost (the lease could not be
// kept alive) or ctx ends. When fn returns because the leadership was lost,
// RunWhileLeading campaigns again; when fn returns for any other reason, it
// resigns (so a standby takes over at once, not after TTL) and returns fn's error.
// It returns ctx's error when ctx ends. It uses etcd's concurrency package.
func RunWhileLeading(ctx context.Context, cli *clientv3.Client, e Election, fn func(context.Context, Leadership) error) error {
	ttl := int(e.TTL / time.Second)
	if e.TTL == 0 {
		ttl = 5
	}
	if ttl < 1 {
		return fmt.Errorf("etcd: election %q: ttl %v below 1s", e.Prefix, e.TTL)
	}
	pause := 25 * time.Millisecond
	for {
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
		if err == nil {
			var again bool
			again, err = lead(ctx, s, e, fn)
			s.Close() // revokes the lease: nothing of this candidacy stays behind
			if !again {
				return err
			}
			pause = 25 * time.Millisecond
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		pause = min(2*pause, time.Second)
	}
}

// lead campaigns in session s and runs fn while leading. It reports whether to
// campaign again: the session was lost (before or while leading).
func lead(ctx context.Context, s *concurrency.Session, e Election, fn func(context.Context, Leadership) error) (bool, error) {
	lctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	defer func() { cancel(); <-watched }()
	go func() { // ends the leadership's context when the session is lost
		defer close(watched)
		select {
		case <-s.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	el := concurrency.NewElection(s, e.Prefix)
	if err := el.Campaign(lctx, e.ID); err != nil {
		return ctx.Err() == nil, err
	}
	err := fn(lctx, Leadership{key: el.Key(), rev: el.Rev()})
	lost := ctx.Err() == nil && isDone(s.Done())
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer rcancel()
	if rerr := el.Resign(rctx); rerr != nil && !lost && err == nil && ctx.Err() == nil {
		err = rerr
	}
	if lost {
		return true, errors.Join(err, errLostLeadership)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return false, err
}

var errLostLeadership = errors.New("etcd: leadership lost")

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Leader returns the ID of the replica that leads the election under prefix, or
// concurrency.ErrElectionNoLeader.
func Leader(ctx context.Context, cli *clientv3.Client, prefix string) (string, error) {
	resp, err := cli.Get(ctx, prefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("etcd: leader of %q: %w", prefix, err)
	}
	if len(resp.Kvs) == 0 {
		return "", concurrency.ErrElectionNoLeader
	}
	return string(resp.Kvs[0].Value), nil
}
