package controlplane

import (
	"context"
	"errors"
	"time"

	"github.com/svcnet/svcnet/resolved"
)

// RetryInterval is how often Run retries a failed read, persist or
// publish, and frees values whose grace period ran out.
const RetryInterval = time.Second

// Run resolves every input src produces and publishes the result to sink
// until ctx ends, then returns nil. It starts no goroutine: it waits for
// src at most RetryInterval at a time, and in between frees allocations
// whose grace period ran out and retries what failed.
func (c *ControlPlane) Run(ctx context.Context, src Source, sink Sink) error {
	var gen uint64
	var last Input
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, RetryInterval)
		in, g, err := src.Next(rctx, gen)
		cancel()
		if ctx.Err() != nil {
			break
		}
		fresh := err == nil
		switch {
		case fresh:
			gen, last = g, in
			c.noteRead(nil)
		case errors.Is(err, context.DeadlineExceeded): // nothing new within RetryInterval
		default:
			c.noteRead(err)
			sleep(ctx, RetryInterval)
		}
		if gen == 0 {
			continue // nothing read yet
		}
		if fresh || c.retrying() {
			st, _ := c.Resolve(last) // refused services are reported in Health
			c.publish(ctx, sink, st)
		} else {
			c.expire()
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (c *ControlPlane) noteRead(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health.ReadErr = err
	if err == nil {
		c.health.LastRead = c.cfg.Now()
	}
}

// retrying reports whether a persist or a publish failed and is due again.
func (c *ControlPlane) retrying() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirty || c.health.PublishErr != nil
}

// expire frees the values of services gone longer than the grace period,
// and persists that.
func (c *ControlPlane) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Allocator.Expire(c.cfg.Now())
	c.persist()
}

func (c *ControlPlane) publish(ctx context.Context, sink Sink, st *resolved.State) {
	err := sink.Publish(ctx, st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health.PublishErr = err
	if err == nil {
		c.health.Version = st.Version
	}
}
