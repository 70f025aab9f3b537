package etcd

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/svcnet/svcnet/resolved"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServiceCodec publishes resolved Services one key each, named
// "namespace/name", in package resolved's versioned encoding (MarshalService):
// a reader refuses a format version it does not know with
// resolved.ErrUnsupportedFormat.
func ServiceCodec() Codec[resolved.Service] {
	return Codec[resolved.Service]{
		Name:      func(s resolved.Service) string { return s.Ref().String() },
		Marshal:   func(s resolved.Service) ([]byte, error) { return resolved.MarshalService(&s) },
		Unmarshal: resolved.UnmarshalService,
	}
}

// ServicePublisher publishes a control plane's resolved State to etcd, one key per
// Service under a prefix. Build it with NewServicePublisher; the zero value is not
// usable. Safe for concurrent use.
type ServicePublisher struct {
	p *Publisher[resolved.Service]
}

// NewServicePublisher returns a publisher of Services under prefix, such as
// "/svcnet/services/"; guard is as for NewPublisher (the leader's Guard).
func NewServicePublisher(cli *clientv3.Client, prefix string, retry Retry, guard ...clientv3.Cmp) *ServicePublisher {
	return &ServicePublisher{NewPublisher(cli, prefix, ServiceCodec(), retry, guard...)}
}

// Publish makes the published Services equal to st's, writing only those whose
// encoding changed.
func (p *ServicePublisher) Publish(ctx context.Context, st *resolved.State) error {
	_, _, err := p.p.Sync(ctx, st.Services)
	return err
}

// ServiceDelivery follows the Services published under a prefix and hands them
// out as whole resolved States, the node agent's Delivery: each State's Version is
// the etcd revision it is as of. Build it with NewServiceDelivery and run Run; the
// zero value is not usable. Next and Invalid are safe for concurrent use with Run.
type ServiceDelivery struct {
	f      *Follower[resolved.Service]
	latest resolved.Latest
	svcs   map[string]resolved.Service // only Run's goroutine touches it

	mu      sync.Mutex // protects invalid
	invalid []NamedError
}

// NewServiceDelivery returns a delivery of the Services under prefix.
func NewServiceDelivery(cli *clientv3.Client, prefix string) *ServiceDelivery {
	return &ServiceDelivery{f: NewFollower(cli, prefix, ServiceCodec()), svcs: map[string]resolved.Service{}}
}

// Run follows etcd until ctx ends (see Follower.Run): while etcd cannot be
// reached, the last State stays the newest, so a node keeps its rules and DNS.
func (d *ServiceDelivery) Run(ctx context.Context) error {
	return d.f.Run(ctx, func(u Update[resolved.Service]) error {
		for _, c := range u.Changed {
			d.svcs[c.Name] = c.Value
		}
		for _, name := range u.Removed {
			delete(d.svcs, name)
		}
		d.mu.Lock()
		d.invalid = u.Invalid
		d.mu.Unlock()
		st := &resolved.State{Version: uint64(u.Revision), Services: make([]resolved.Service, 0, len(d.svcs))}
		for _, s := range d.svcs {
			st.Services = append(st.Services, s)
		}
		slices.SortFunc(st.Services, func(a, b resolved.Service) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		return d.latest.Publish(ctx, st)
	})
}

// Next returns the newest State once its Version is above after (see
// nodeagent.Delivery).
func (d *ServiceDelivery) Next(ctx context.Context, after uint64) (*resolved.State, error) {
	return d.latest.Next(ctx, after)
}

// Invalid returns the Services the last update could not decode, such as ones
// written in a newer format: the node keeps their last good version.
func (d *ServiceDelivery) Invalid() []NamedError {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.invalid)
}
