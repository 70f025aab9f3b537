package etcd

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/svcnet/svcnet/resolved"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServiceCodec publishes resolved Services one key each, named
// "namespace/name", in package resolved's versioned encoding (MarshalService):
// a reader refuses a format version it does not know with
// resolved.ErrUnsupportedFormat. Services go by pointer, as in a resolved.State,
// so that a Follower and the States it feeds share one decoded Service.
func ServiceCodec() Codec[*resolved.Service] {
	return Codec[*resolved.Service]{
		Name:    func(s *resolved.Service) string { return s.Ref().String() },
		Marshal: resolved.MarshalService,
		Unmarshal: func(b []byte) (*resolved.Service, error) {
			s, err := resolved.UnmarshalService(b)
			if err != nil {
				return nil, err
			}
			return &s, nil
		},
	}
}

// ServicePublisher publishes a control plane's resolved State to etcd, one key per
// Service under a prefix. Build it with NewServicePublisher; the zero value is not
// usable. Safe for concurrent use.
type ServicePublisher struct {
	p *Publisher[*resolved.Service]
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
// the etcd revision it is as of. Consecutive States share every Service that did
// not change, with the Follower that decoded it, and building the next one costs
// one copy of the State's list of pointers plus the changed Services: no sort,
// no decode of what did not change.
//
// While etcd cannot be reached the last State stays the newest, so a node keeps
// its rules and DNS, and Next says so with an error (see Next and Status). Build
// it with NewServiceDelivery and run Run; the zero value is not usable. Next,
// Status and Invalid are safe for concurrent use with Run.
type ServiceDelivery struct {
	f   *Follower[*resolved.Service]
	cur []*resolved.Service // the newest State's Services; only Run's goroutine writes it

	mu       sync.Mutex // protects st, invalid, wake, reported
	st       *resolved.State
	invalid  []NamedError
	wake     chan struct{} // closed and replaced when st or the connection changes
	reported bool          // Next reported an outage and has handed out no State since
}

// NewServiceDelivery returns a delivery of the Services under prefix.
func NewServiceDelivery(cli *clientv3.Client, prefix string) *ServiceDelivery {
	d := &ServiceDelivery{f: NewFollower(cli, prefix, ServiceCodec()), wake: make(chan struct{})}
	d.f.notify = d.wakeUp
	return d
}

// Run follows etcd until ctx ends (see Follower.Run): while etcd cannot be
// reached, the last State stays the newest, so a node keeps its rules and DNS;
// when etcd returns, Run resumes from the last revision, or lists again when etcd
// compacted it, and the next State catches up.
func (d *ServiceDelivery) Run(ctx context.Context) error {
	return d.f.Run(ctx, func(u Update[*resolved.Service]) error {
		st, invalid := d.apply(u)
		d.mu.Lock()
		d.st, d.invalid = st, invalid
		d.mu.Unlock()
		d.wakeUp()
		return nil
	})
}

// wakeUp wakes every Next waiting for a State or a change of connection.
func (d *ServiceDelivery) wakeUp() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.wake)
	d.wake = make(chan struct{})
}

// edit is one Service of an Update, placed by namespace and name; svc nil
// removes it.
type edit struct {
	ns, name string
	svc      *resolved.Service
}

func compareEdit(s *resolved.Service, e edit) int {
	return cmp.Or(cmp.Compare(s.Namespace, e.ns), cmp.Compare(s.Name, e.name))
}

// apply folds u into the Services of the newest State and returns the next
// State, with the Services it refused: the pointers to the unchanged Services are
// copied over in runs between the edits, each edit found by binary search, so the order (namespace, name) holds without a
// sort. A Service published under a key other than its own namespace/name is
// refused (reported in Invalid), since the key is what removes it later.
func (d *ServiceDelivery) apply(u Update[*resolved.Service]) (*resolved.State, []NamedError) {
	edits := make([]edit, 0, len(u.Changed)+len(u.Removed))
	for i := range u.Changed {
		s := u.Changed[i].Value
		if s.Ref().String() != u.Changed[i].Name {
			u.Invalid = append(u.Invalid, NamedError{u.Changed[i].Name, fmt.Errorf("etcd: service %s published under key %q", s.Ref(), u.Changed[i].Name)})
			continue
		}
		edits = append(edits, edit{s.Namespace, s.Name, s})
	}
	for _, name := range u.Removed {
		ns, n, _ := strings.Cut(name, "/")
		edits = append(edits, edit{ns, n, nil})
	}
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name)) })
	prev := d.cur
	out := make([]*resolved.Service, 0, len(prev)+len(edits))
	at := 0
	for _, e := range edits {
		i, found := slices.BinarySearchFunc(prev[at:], e, compareEdit)
		out = append(out, prev[at:at+i]...)
		at += i
		if found {
			at++
		}
		if e.svc != nil {
			out = append(out, e.svc)
		}
	}
	out = append(out, prev[at:]...)
	d.cur = out
	return &resolved.State{Version: uint64(u.Revision), Services: out}, u.Invalid
}

// Next returns the newest State once its Version is above after (see
// nodeagent.Delivery), waiting for one while etcd can be reached. While it cannot
// (Status().Connected is false after a failed contact), Next returns at once an
// error wrapping ErrUnavailable that says since when, so that nodeagent.Run
// reports it in Health.ReadErr and keeps the last State programmed. After such an
// error, the first Next once etcd is reachable again returns the newest State
// even when its Version is not above after (applying a State twice changes
// nothing), so the caller learns that the outage is over; States that catch up
// on what changed meanwhile follow as usual.
func (d *ServiceDelivery) Next(ctx context.Context, after uint64) (*resolved.State, error) {
	for {
		status := d.f.Status()
		d.mu.Lock()
		st, wake := d.st, d.wake
		switch {
		case st != nil && (st.Version > after || d.reported && status.Connected):
			d.reported = false
			d.mu.Unlock()
			return st, nil
		case !status.Connected && status.LastErr != nil:
			d.reported = true
			d.mu.Unlock()
			return nil, status.Err()
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

// Status returns the state of the delivery's connection to etcd, for a node's
// logs, metrics and health endpoint.
func (d *ServiceDelivery) Status() Status { return d.f.Status() }

// Invalid returns the Services the last update could not decode, such as ones
// written in a newer format: the node keeps their last good version.
func (d *ServiceDelivery) Invalid() []NamedError {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.invalid)
}
