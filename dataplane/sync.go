package dataplane

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/google/nftables"
)

// Stats describes what one Sync or Update sent to the kernel, for a
// caller's metrics. The zero value describes a call that sent nothing.
type Stats struct {
	// Full reports that the whole table was replaced: the first sync,
	// after a failure or a Resync, or to repair damage.
	Full bool
	// ElementsAdded and ElementsRemoved count the set and map elements
	// sent; a full sync adds every element and removes none.
	ElementsAdded, ElementsRemoved int
	// Messages counts the netlink messages queued, Batches the batches
	// (transactions) sent: one, unless a failure was retried or isolated.
	Messages, Batches int
	// Bytes counts the key and data bytes of the elements sent.
	Bytes int
	// Duration is the wall time of the call.
	Duration time.Duration
}

// Sync makes the kernel's table match svcs in one atomic batch. After a
// successful Sync only the service ports that changed are looked at and
// only their differences are sent, without listing the table; after an
// error, a Resync or on the first call the whole table is replaced.
//
// A service port that is invalid or conflicts with another (see Validate)
// is left out, and so is one the kernel refuses: when a batch fails, Sync
// replaces the whole table (which also repairs outside damage) and, if
// that fails too, finds the failing service ports by committing halves of
// them into a scratch table that is deleted in the same batch (so never
// visible), then programs everything else. Either way it returns a
// *SyncError naming what it left out, with the Stats of what it sent; any
// other error means nothing changed and the next Sync replaces the table.
//
// After an incremental sync that removed UDP endpoints or frontends, the
// conntrack entries DNATed through them are deleted, as kube-proxy does,
// so that UDP clients move on; a failure there is logged, not returned,
// since the rules are committed by then. A cold start of thousands of
// service ports builds their rules on every core, and its bookkeeping for
// later syncs while the kernel commits; Sync returns after all of them.
func (d *Dataplane) Sync(ctx context.Context, svcs []ServicePort) (Stats, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Stats{}, ErrClosed
	}
	var stats Stats
	var refused []PortError
	var dl *delta
	st := d.st
	if st == nil {
		var err error
		if st, err = newState(&d.opts); err != nil {
			return stats, err
		}
		st.overlap = true
		_, refused = st.update(svcs, false)
	} else {
		dl, refused = st.update(svcs, true)
	}
	isolated, err := d.commit(st, dl, &stats)
	stats.Duration = time.Since(start)
	if err != nil {
		return stats, err
	}
	return stats, refusedErr(append(refused, isolated...))
}

// Update adds or replaces the service ports of upsert and deletes those
// remove names (a missing one is ignored), leaving every other service port
// as the last successful Sync or Update left it, in one atomic batch. It is
// for callers that learn of changes one service at a time: its cost
// follows the change, not the number of services. Refused service ports
// are left out and reported as by Sync; a key listed twice (or both
// upserted and removed) fails the call before anything changes. Stale UDP
// flows are cleared as after Sync. Before the first successful Sync, and
// after a failure, Resync or Cleanup, it returns ErrNeedSync.
func (d *Dataplane) Update(ctx context.Context, upsert []ServicePort, remove []Key) (Stats, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Stats{}, ErrClosed
	}
	if d.st == nil {
		return Stats{}, ErrNeedSync
	}
	var stats Stats
	dl, refused, err := d.st.apply(upsert, remove)
	if err != nil {
		return stats, err
	}
	isolated, err := d.commit(d.st, dl, &stats)
	stats.Duration = time.Since(start)
	if err != nil {
		return stats, err
	}
	return stats, refusedErr(append(refused, isolated...))
}

// commit sends st to the kernel: dl alone when it is not nil, else (or
// when that fails) the whole table, and when even that fails, everything
// but the service ports the kernel refuses, which it returns. On success
// st is what the kernel holds and the stale UDP flows of dl are cleared;
// on error the next Sync replaces the whole table.
func (d *Dataplane) commit(st *state, dl *delta, stats *Stats) ([]PortError, error) {
	var err error
	if dl != nil {
		if err = d.send(d.table(), stats, func(x *tx) error { return x.delta(st.rs, dl) }); err != nil {
			// The kernel kept the old table. A full replace does not
			// depend on what it holds, so it also repairs outside damage.
			d.log.Warn("dataplane: incremental sync failed; replacing the whole table", "err", err)
		}
	}
	var refused []PortError
	if dl == nil || err != nil {
		stats.Full = true
		err = d.send(d.table(), stats, func(x *tx) error { return x.full(st) })
		st.settle()
		if err != nil {
			refused, err = d.isolate(st, stats, err)
		}
	}
	if err != nil {
		d.st = nil
		d.log.Error("dataplane sync failed", "full", stats.Full, "err", err)
		return nil, fmt.Errorf("sync table %q: %w", d.opts.table(), err)
	}
	d.st = st
	if d.log.Enabled(context.Background(), slog.LevelDebug) {
		d.log.Debug("dataplane synced", "full", stats.Full, "added", stats.ElementsAdded, "removed", stats.ElementsRemoved)
	}
	if dl != nil && len(dl.stale) > 0 {
		// The rules are committed; a flow left behind only delays a UDP
		// client, so a failure here is logged, not returned.
		n, err := d.clearConntrack(dl.stale)
		if err != nil {
			d.log.Error("dataplane: clearing stale UDP flows", "err", err)
		}
		d.log.Debug("dataplane: cleared stale UDP flows", "flows", n)
	}
	return refused, nil
}

// send fills one batch into table t with fill and commits it. After a
// failure the connection and the encoder are replaced, so that nothing a
// failed batch left queued or pending reaches the next one.
func (d *Dataplane) send(t *nftables.Table, stats *Stats, fill func(*tx) error) error {
	d.b.reset()
	d.x = tx{c: d.enc, b: &d.b, t: t, stats: stats, keys: d.x.keys, gone: d.x.gone}
	x := &d.x
	err := fill(x)
	if err == nil {
		err = x.encode()
	}
	stats.Batches++
	if err == nil && d.b.finish() {
		stats.Messages += d.b.messages()
		err = d.commitBatch(&d.b)
	}
	d.b.trim()
	if err != nil {
		err = errors.Join(err, d.dial(), d.newEncoder())
	}
	return err
}

// isolate finds the service ports of st the kernel refuses, takes them out
// of st and replaces the whole table with the rest. cause is the error of
// the failed full sync, returned when no single service port is to blame.
func (d *Dataplane) isolate(st *state, stats *Stats, cause error) ([]PortError, error) {
	frs := slices.SortedFunc(maps.Values(st.frags), func(a, b *frag) int { return cmp.Compare(a.key.id(), b.key.id()) })
	bad := d.probe(frs, stats)
	if len(bad) == 0 {
		return nil, cause
	}
	refused := make([]PortError, 0, len(bad))
	dl := &delta{}
	for _, fr := range bad {
		st.remove(fr, dl)
		delete(st.frags, fr.key)
		refused = append(refused, PortError{fr.key, fmt.Errorf("service %q: refused by the kernel: %w", fr.key.id(), fr.err)})
	}
	st.order = nil
	d.log.Warn("dataplane: left out service ports the kernel refused", "count", len(bad))
	return refused, d.send(d.table(), stats, func(x *tx) error { return x.full(st) })
}

// probe returns the fragments of frs the kernel refuses, each with its
// error, by committing them (halves, recursively) with the base into a
// scratch table that the same batch deletes again: a batch is checked
// whole before it is committed, and what it commits is never seen.
func (d *Dataplane) probe(frs []*frag, stats *Stats) []*frag {
	pst, err := newState(&d.opts)
	if err != nil {
		return nil
	}
	pst.swap(nil, frs, nil)
	scratch := &nftables.Table{Name: d.opts.table() + "-probe", Family: nftables.TableFamilyINet}
	err = d.send(scratch, stats, func(x *tx) error {
		if err := x.full(pst); err != nil {
			return err
		}
		x.c.DelTable(scratch)
		return nil
	})
	switch {
	case err == nil || len(frs) == 0:
		return nil
	case len(frs) == 1:
		frs[0].err = err
		return frs
	}
	half := len(frs) / 2
	return append(d.probe(frs[:half], stats), d.probe(frs[half:], stats)...)
}
