package nodeagent

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/resolved"
)

// Apply makes the node serve st: DNS first (so names answer even when the
// kernel batch fails), then the kernel. The first call, and the first
// after a failed kernel batch, sends everything (dataplane Sync); later
// calls send only the services whose Revision changed (dataplane Update).
// Services that fail resolved.Service.Validate, or whose ports the kernel
// refuses, are left out and returned in a *SyncError; every other service
// is served. Any other error is the kernel batch's, and the next Apply
// retries with a full sync.
func (a *Agent) Apply(ctx context.Context, st *resolved.State) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	var err error
	if a.synced && a.prev != nil {
		err = a.incremental(ctx, st)
		if errors.Is(err, dataplane.ErrNeedSync) {
			err = a.full(ctx, st)
		}
	} else {
		err = a.full(ctx, st)
	}
	a.stats.Syncs++
	a.stats.LastSyncDuration = time.Since(start)
	a.health.LastSync, a.health.Version = time.Now(), st.Version
	if err != nil {
		a.stats.FailedSyncs++
		a.synced = false
		a.health.SyncErr = err
		a.log.Error("sync failed", "version", st.Version, "err", err)
		return err
	}
	a.prev, a.synced = st, true
	a.stats.RefusedServices = len(a.refused)
	a.health.SyncErr = nil
	if len(a.refused) > 0 {
		serr := &SyncError{Refused: maps.Clone(a.refused)}
		a.health.SyncErr = serr
		a.log.Warn("services left out", "version", st.Version, "err", serr)
		return serr
	}
	return nil
}

// full sends every valid service to DNS and the kernel.
func (a *Agent) full(ctx context.Context, st *resolved.State) error {
	a.stats.FullSyncs++
	clear(a.refused)
	clear(a.keys)
	// ports is not kept after the sync: the dataplane keeps its own copy,
	// and holding this one would cost a node as much again.
	ports := make([]dataplane.ServicePort, 0, len(st.Services))
	for _, s := range byAge(st) {
		if err := s.Validate(); err != nil {
			a.refused[s.Ref()] = err
			continue
		}
		n := len(ports)
		ports = AppendServicePorts(ports, s, a.cfg.Node, a.cfg.Zone)
		a.keys[s.Ref()] = keysOf(ports[n:])
	}
	a.replaceDNS(st)
	_, err := a.cfg.Dataplane.Sync(ctx, ports)
	return a.kernelResult(err)
}

// incremental sends the services that changed since the last sync.
func (a *Agent) incremental(ctx context.Context, st *resolved.State) error {
	changed, removed := resolved.Diff(a.prev, st)
	var upsert []dataplane.ServicePort
	var remove []dataplane.Key
	for _, r := range removed {
		remove = append(remove, a.keys[r]...)
		delete(a.keys, r)
		delete(a.refused, r)
		a.deleteDNS(r)
	}
	for _, s := range changed {
		r := s.Ref()
		old := a.keys[r]
		delete(a.refused, r)
		delete(a.keys, r)
		if err := s.Validate(); err != nil {
			a.refused[r] = err
			remove = append(remove, old...)
			a.deleteDNS(r)
			continue
		}
		n := len(upsert)
		upsert = AppendServicePorts(upsert, s, a.cfg.Node, a.cfg.Zone)
		now := keysOf(upsert[n:])
		a.keys[r] = now
		remove = appendGone(remove, old, now)
		a.setDNS(s)
	}
	if len(upsert) == 0 && len(remove) == 0 {
		return nil
	}
	_, err := a.cfg.Dataplane.Update(ctx, upsert, remove)
	return a.kernelResult(err)
}

// kernelResult records the service ports the kernel refused against their
// services and returns only an error that left the kernel unprogrammed.
func (a *Agent) kernelResult(err error) error {
	var serr *dataplane.SyncError
	if !errors.As(err, &serr) {
		return err
	}
	for _, pe := range serr.Refused {
		r := resolved.Ref{Namespace: pe.Key.Namespace, Name: pe.Key.Name}
		a.refused[r] = errors.Join(a.refused[r], pe.Err)
	}
	return nil
}

// byAge orders st's services oldest revision first (then by name): where
// two services claim one frontend the dataplane refuses the later one, and
// the established service must keep its place against a newcomer.
func byAge(st *resolved.State) []*resolved.Service {
	out := slices.Clone(st.Services)
	slices.SortStableFunc(out, func(a, b *resolved.Service) int { return cmp.Compare(a.Revision, b.Revision) })
	return out
}

func keysOf(ports []dataplane.ServicePort) []dataplane.Key {
	keys := make([]dataplane.Key, len(ports))
	for i := range ports {
		keys[i] = ports[i].Key()
	}
	return keys
}

// appendGone appends the keys of old that now lacks.
func appendGone(dst, old, now []dataplane.Key) []dataplane.Key {
	for _, k := range old {
		found := false
		for _, n := range now {
			found = found || n == k
		}
		if !found {
			dst = append(dst, k)
		}
	}
	return dst
}
