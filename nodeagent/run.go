package nodeagent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/svcnet/svcnet/dataplane"
)

// RetryInterval is how long Run waits before it asks again after a failed
// read or retries a failed kernel batch.
const RetryInterval = time.Second

// Run applies every state d delivers until ctx ends, then returns nil
// after every goroutine it started has ended. A failed read or kernel
// batch is retried every RetryInterval (with the newest state) and shows
// in Health until it succeeds. When Config.Dataplane is a Watcher (a
// *dataplane.Dataplane is), Run also watches the kernel table and repairs
// outside damage as it happens, counting each repair in Stats.Repairs.
func (a *Agent) Run(ctx context.Context, d Delivery) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	if w, ok := a.cfg.Dataplane.(Watcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Watch(ctx, a.repaired); err != nil && ctx.Err() == nil {
				a.log.Error("watching the kernel table stopped", "err", err)
			}
		}()
	}
	var after uint64
	for ctx.Err() == nil {
		st, err := d.Next(ctx, after)
		if ctx.Err() != nil {
			break // stopping: not a read failure
		}
		a.noteRead(err)
		if err == nil {
			after = st.Version
			var serr *SyncError
			if err = a.Apply(ctx, st); err != nil && !errors.As(err, &serr) {
				after = st.Version - 1 // retry with the newest state at least as new
			} else {
				err = nil
			}
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(RetryInterval):
			}
		}
	}
	return nil
}

func (a *Agent) noteRead(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health.ReadErr = err
	if err == nil {
		a.health.LastRead = time.Now()
	}
}

// repaired counts one repair of outside damage and records its outcome.
func (a *Agent) repaired(r dataplane.Repair) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.Repairs++
	a.log.Warn("repaired outside damage to the kernel table", "reason", r.Reason, "err", r.Err)
	if r.Err != nil {
		a.health.SyncErr = r.Err
		a.synced = false
	}
}
