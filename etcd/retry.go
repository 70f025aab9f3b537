package etcd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Retry says how a call retries etcd errors that may pass (no leader, leader
// changed, endpoint unreachable, a timed-out attempt). The zero value is usable.
type Retry struct {
	// Attempts is how many times a call is tried before it fails with
	// ErrUnavailable. Zero means 6.
	Attempts int
	// AttemptTimeout bounds one attempt, so that a cut-off client fails in bounded
	// time rather than waiting for its context. Zero means 2 s.
	AttemptTimeout time.Duration
	// Backoff is the pause after the first failed attempt; it doubles after each
	// further one, up to 1 s, with up to 50 % random jitter. Zero means 25 ms.
	Backoff time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = 2 * time.Second
	}
	if r.Backoff <= 0 {
		r.Backoff = 25 * time.Millisecond
	}
	return r
}

// do runs fn until it succeeds, fails for good, or the attempts run out. fn gets
// the attempt's own deadline and its number (0 first), so that a write can tell a
// retry after an ambiguous failure from a first try.
func (r Retry) do(ctx context.Context, what string, fn func(ctx context.Context, attempt int) error) error {
	r = r.withDefaults()
	pause := r.Backoff
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.AttemptTimeout)
		err := fn(actx, attempt)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("etcd: %s: %w", what, ctx.Err())
		}
		if !transient(err) {
			if closing(err) {
				return fmt.Errorf("etcd: %s: %w: %w", what, ErrUnavailable, err)
			}
			return fmt.Errorf("etcd: %s: %w", what, err)
		}
		if attempt+1 >= r.Attempts {
			return fmt.Errorf("etcd: %s: %w after %d attempts: %w", what, ErrUnavailable, attempt+1, err)
		}
		if err := sleep(ctx, pause+rand.N(pause/2+1)); err != nil {
			return fmt.Errorf("etcd: %s: %w", what, err)
		}
		pause = min(2*pause, time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// code is the gRPC code of an etcd error, whether the client turned it into an
// rpctypes.EtcdError or left it a gRPC status.
func code(err error) codes.Code {
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code()
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Unknown
}

// transient reports whether another attempt may succeed: the attempt timed out
// (the caller's context is checked apart), or etcd said no leader, leader changed,
// request timed out or unavailable.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true
	case codes.Unknown:
		// A member that is being stopped can answer with its raft node's own
		// error, which reaches the client without a gRPC code.
		return strings.Contains(err.Error(), "raft: stopped")
	}
	return false
}

// closing reports whether err says the client itself is closed: no further call
// through it can succeed.
func closing(err error) bool {
	return errors.Is(err, context.Canceled) || code(err) == codes.Canceled
}
