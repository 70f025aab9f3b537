package replica

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/etcd"
	"github.com/svcnet/svcnet/resolved"
)

// etcdTimeout bounds one read or guarded write of the leader's own; the
// publisher has its own retries (etcd.Retry).
const etcdTimeout = 5 * time.Second

// lead is one leadership: take over, then run the control plane and the
// repair loop until the leadership (ctx) ends.
func (r *Replica) lead(ctx context.Context, l etcd.Leadership) error {
	start := time.Now()
	alloc, published, err := r.restore(ctx)
	if err != nil {
		return err
	}
	src := &source{src: r.cfg.Source}
	rep := repair(alloc, published, nil)
	persist := r.persister(ctx, l.Guard())
	if len(rep.Remarked) > 0 {
		// Store the repaired snapshot before anything is published on it.
		if err := persist(alloc.Snapshot()); err != nil {
			return err
		}
	}
	cp, err := controlplane.New(controlplane.Config{Allocator: alloc, Persist: persist, ExternalIPs: r.cfg.ExternalIPs})
	if err != nil {
		return err
	}
	r.leading(cp, rep)
	defer r.standBy(nil)
	r.cfg.Log.Info("leading", "replica", r.cfg.Name, "restored", alloc.Len(), "published", len(published),
		"remarked", len(rep.Remarked), "conflicts", len(rep.Conflicts), "took", time.Since(start).Round(time.Millisecond))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.repairLoop(ctx, alloc, src)
	}()
	pub := etcd.NewServicePublisher(r.cfg.Client, ServicesKey(r.cfg.Prefix), etcd.Retry{}, l.Guard())
	err = cp.Run(ctx, src, above{pub, maxRevision(published)})
	wg.Wait()
	r.cfg.Log.Info("leadership over", "replica", r.cfg.Name)
	return err
}

// restore builds a fresh allocator from the persisted snapshot and reads
// the published Services.
func (r *Replica) restore(ctx context.Context) (*allocator.Services, []resolved.Service, error) {
	alloc, err := r.cfg.NewAllocator()
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	key := AllocationsKey(r.cfg.Prefix)
	resp, err := r.cfg.Client.Get(rctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 1 {
		if err := alloc.Restore(resp.Kvs[0].Value); err != nil {
			return nil, nil, fmt.Errorf("restore %s: %w", key, err)
		}
	}
	published, err := r.published(rctx)
	return alloc, published, err
}

// published reads the Services published under ServicesKey. One that does
// not decode (a newer writer's format) is left out of the repair: the
// leader neither re-marks nor frees what it cannot read.
func (r *Replica) published(ctx context.Context) ([]resolved.Service, error) {
	prefix := ServicesKey(r.cfg.Prefix)
	resp, err := r.cfg.Client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", prefix, err)
	}
	var out []resolved.Service
	for _, kv := range resp.Kvs {
		s, err := resolved.UnmarshalService(kv.Value)
		if err != nil {
			r.cfg.Log.Warn("published service unreadable; left to its writer", "key", string(kv.Key), "err", err)
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// persister returns the control plane's Persist: the snapshot is written to
// AllocationsKey only while guard (the leadership) holds.
func (r *Replica) persister(ctx context.Context, guard clientv3.Cmp) func([]byte) error {
	key := AllocationsKey(r.cfg.Prefix)
	return func(snap []byte) error {
		ctx, cancel := context.WithTimeout(ctx, etcdTimeout)
		defer cancel()
		resp, err := r.cfg.Client.Txn(ctx).If(guard).Then(clientv3.OpPut(key, string(snap))).Commit()
		if err != nil {
			return fmt.Errorf("persist %s: %w", key, err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("persist %s: %w", key, etcd.ErrNotLeader)
		}
		return nil
	}
}

// repairLoop repairs the allocator against the published Services every
// RepairInterval until ctx ends. Values it allocates again are persisted
// by the control plane's next pass, which stores any snapshot change.
func (r *Replica) repairLoop(ctx context.Context, alloc *allocator.Services, src *source) {
	t := time.NewTicker(r.cfg.RepairInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, etcdTimeout)
		published, err := r.published(rctx)
		cancel()
		if err != nil {
			r.cfg.Log.Warn("repair: cannot read published services", "err", err)
			continue
		}
		rep := repair(alloc, published, src.current())
		if len(rep.Remarked)+len(rep.Conflicts) > 0 {
			r.cfg.Log.Warn("repair", "remarked", rep.Remarked, "conflicts", rep.Conflicts)
		}
		r.setRepair(rep)
	}
}

// above publishes every State with its Service Revisions (and Version)
// raised by base, the highest Revision published before this leadership.
// A new leader's control plane counts versions from 1 again, and node
// agents program only the Services whose Revision changed: without this, a
// Service the new leader changed at a Revision the old one had already used
// for it would be skipped by a node that missed the states in between.
// (etcd.ServiceDelivery hands out the published Revisions as they are;
// stamping each Service with its key's etcd ModRevision there would make
// every publisher safe, and this unnecessary.)
type above struct {
	sink controlplane.Sink
	base uint64
}

func (a above) Publish(ctx context.Context, st *resolved.State) error {
	if a.base == 0 {
		return a.sink.Publish(ctx, st)
	}
	out := &resolved.State{Version: st.Version + a.base, Services: slices.Clone(st.Services)}
	for i := range out.Services {
		out.Services[i].Revision += a.base // the Service values are copies; their slices stay shared and unmodified
	}
	return a.sink.Publish(ctx, out)
}

func maxRevision(published []resolved.Service) uint64 {
	var m uint64
	for i := range published {
		m = max(m, published[i].Revision)
	}
	return m
}

// source is Config.Source as the leadership reads it: it remembers the
// latest input's service names for the repair loop.
type source struct {
	src controlplane.Source

	mu   sync.Mutex // protects keys
	keys map[string]bool
}

func (s *source) Next(ctx context.Context, after uint64) (controlplane.Input, uint64, error) {
	in, gen, err := s.src.Next(ctx, after)
	if err != nil {
		return in, gen, err
	}
	keys := make(map[string]bool, len(in.Services))
	for i := range in.Services {
		keys[in.Services[i].Spec.Ref().String()] = true
	}
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
	return in, gen, nil
}

// current returns the latest input's service names; nil before the first.
func (s *source) current() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys
}
