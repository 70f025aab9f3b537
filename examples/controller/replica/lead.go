package replica

import (
	"context"
	"fmt"
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
	alloc, err := r.cfg.NewAllocator()
	if err != nil {
		return err
	}
	store := etcd.NewSnapshotStore(r.cfg.Client, AllocationsKey(r.cfg.Prefix), etcd.Retry{}, l.Guard())
	if err := store.Restore(ctx, alloc); err != nil {
		return fmt.Errorf("restore %s: %w", AllocationsKey(r.cfg.Prefix), err)
	}
	repair := etcd.NewServicesRepair(r.cfg.Client, ServicesKey(r.cfg.Prefix), alloc, etcd.Retry{})
	rep, err := repair.Repair(ctx)
	if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	base, err := r.maxRevision(ctx)
	if err != nil {
		return err
	}
	persist := store.Persist(ctx)
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
	r.cfg.Log.Info("leading", "replica", r.cfg.Name, "restored", alloc.Len(), "remarked", len(rep.Remarked),
		"duplicates", len(rep.Duplicates), "took", time.Since(start).Round(time.Millisecond))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		repair.Run(ctx, r.cfg.RepairInterval, r.noteRepair)
	}()
	pub := etcd.NewServicePublisher(r.cfg.Client, ServicesKey(r.cfg.Prefix), etcd.Retry{}, l.Guard())
	err = cp.Run(ctx, r.cfg.Source, above{pub, base})
	wg.Wait()
	r.cfg.Log.Info("leadership over", "replica", r.cfg.Name)
	return err
}

// noteRepair records a repair pass and logs what it changed.
func (r *Replica) noteRepair(rep allocator.RepairReport[string], err error) {
	if err != nil {
		r.cfg.Log.Warn("repair pass failed", "err", err)
		return
	}
	if len(rep.Remarked)+len(rep.Duplicates)+len(rep.OutOfRange)+len(rep.Freed) > 0 {
		r.cfg.Log.Warn("repair", "remarked", rep.Remarked, "duplicates", rep.Duplicates, "outOfRange", rep.OutOfRange, "freed", rep.Freed)
	}
	r.setRepair(rep)
}

// maxRevision returns the highest Revision of the Services published
// before this leadership (see above). One that does not decode (a newer
// writer's format) counts for nothing: this leader cannot publish it anyway.
func (r *Replica) maxRevision(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	prefix := ServicesKey(r.cfg.Prefix)
	resp, err := r.cfg.Client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", prefix, err)
	}
	var m uint64
	for _, kv := range resp.Kvs {
		if s, err := resolved.UnmarshalService(kv.Value); err == nil {
			m = max(m, s.Revision)
		}
	}
	return m, nil
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
	out := &resolved.State{Version: st.Version + a.base, Services: make([]*resolved.Service, len(st.Services))}
	for i, s := range st.Services {
		c := *s // st's Services are shared with other States: restamp a copy (its slices stay shared and unmodified)
		c.Revision += a.base
		out.Services[i] = &c
	}
	return a.sink.Publish(ctx, out)
}
