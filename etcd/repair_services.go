package etcd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/resolved"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServicesRepair reconciles a leading control plane's allocator.Services with the
// Services published under a prefix, as Kubernetes' repair controllers reconcile
// allocations with the Services in etcd:
//   - a published Service whose key the allocator does not hold (its allocation
//     was made by a leader that died before persisting it) is allocated again with
//     exactly the values it was published with, so it keeps them and nobody else
//     gets them; one whose values another key holds is reported in Duplicates,
//     one the allocator cannot take back (outside its ranges) in OutOfRange;
//   - a key the allocator holds that is not published (a Service deleted while
//     no leader ran, or one a leader allocated and died before publishing) is
//     released to the allocator's grace period once 3 consecutive passes find it
//     so (Leaked, then Freed): its holder may still be in flight.
//
// A Service deleted but still published when a pass runs may be taken back
// once more and freed 3 passes later: a repair holds a value too long rather
// than free one in use. Run it on the leader only (under RunWhileLeading),
// beside the control plane that uses the same allocator; the control plane
// persists what it changes. Build it with NewServicesRepair; the zero value is
// not usable. Safe for concurrent use; passes are serialised.
type ServicesRepair struct {
	cli    *clientv3.Client
	prefix string
	alloc  *allocator.Services
	retry  Retry
	rep    repairer[string]
}

// NewServicesRepair returns a repair of alloc against the Services published
// under prefix (the ServicePublisher's).
func NewServicesRepair(cli *clientv3.Client, prefix string, alloc *allocator.Services, retry Retry) *ServicesRepair {
	return &ServicesRepair{cli: cli, prefix: prefix, alloc: alloc, retry: retry}
}

// Repair runs one pass: it reads the published Services and reconciles the
// allocator with them. Values in the report are Service keys, "namespace/name".
func (r *ServicesRepair) Repair(ctx context.Context) (allocator.RepairReport[string], error) {
	pub, err := r.published(ctx)
	if err != nil {
		return allocator.RepairReport[string]{}, err
	}
	held := make([]string, 0, len(pub))
	for key := range pub {
		held = append(held, key)
	}
	slices.Sort(held) // of two Services claiming one value, the first by key keeps it
	return r.rep.repair(ctx, servicesOps{r, pub}, func(string) error { return nil }, held)
}

// Run repairs every interval (zero means 30 s) until ctx ends, starting at
// once, and hands each pass's outcome to report (nil: ignore them). It returns
// ctx's error; a failed pass is reported and tried again at the next interval.
func (r *ServicesRepair) Run(ctx context.Context, interval time.Duration, report func(allocator.RepairReport[string], error)) error {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	for {
		rep, err := r.Repair(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if report != nil {
			report(rep, err)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

// published lists and decodes the published Services, by key. One that does
// not decode (a newer writer's) counts as published under its key, so that its
// allocation is never taken for a leak.
func (r *ServicesRepair) published(ctx context.Context) (map[string]*resolved.Service, error) {
	var out map[string]*resolved.Service
	err := r.retry.do(ctx, "list "+r.prefix, func(ctx context.Context, _ int) error {
		resp, err := r.cli.Get(ctx, r.prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		out = make(map[string]*resolved.Service, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			key := strings.TrimPrefix(string(kv.Key), r.prefix)
			s, err := resolved.UnmarshalService(kv.Value)
			if err != nil {
				out[key] = nil
				continue
			}
			out[key] = &s
		}
		return nil
	})
	return out, err
}

// servicesOps is one pass's view for the repairer: the published Services and
// the allocator.
type servicesOps struct {
	r   *ServicesRepair
	pub map[string]*resolved.Service
}

// allocated lists the keys the allocator holds.
func (o servicesOps) allocated(context.Context) (map[string]int64, error) {
	keys := o.r.alloc.Keys()
	out := make(map[string]int64, len(keys))
	for _, key := range keys {
		out[key] = 0
	}
	return out, nil
}

// allocate takes back a published Service's values for its key.
func (o servicesOps) allocate(_ context.Context, key string) error {
	s := o.pub[key]
	if s == nil {
		return nil // undecodable: nothing known to take back
	}
	_, err := o.r.alloc.Allocate(key, requestOf(s))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, allocator.ErrAllocated):
		return notRepairable{conflict: true}
	default:
		return notRepairable{}
	}
}

// free releases key to the allocator's grace period.
func (o servicesOps) free(_ context.Context, key string, _ int64) error {
	o.r.alloc.Release(key)
	return nil
}

// notRepairable is an allocate that could not take a held value back: another
// holder has it (conflict), or the allocator refuses it (outside its ranges).
type notRepairable struct{ conflict bool }

func (notRepairable) Error() string { return "etcd: value not repairable" }

// requestOf asks for exactly the values s was published with.
func requestOf(s *resolved.Service) allocator.ServiceRequest {
	req := allocator.ServiceRequest{
		Type: allocator.ServiceType(s.Type), Headless: s.Headless, ClusterIPs: s.ClusterIPs,
		ExternalTrafficPolicy: allocator.TrafficPolicy(s.ExternalTrafficPolicy),
		HealthCheckNodePort:   s.HealthCheckNodePort, LoadBalancerIPs: s.LoadBalancerIPs,
	}
	for _, f := range s.IPFamilies {
		req.IPFamilies = append(req.IPFamilies, allocator.IPFamily(f))
	}
	if len(req.IPFamilies) > 1 || len(s.ClusterIPs) > 1 {
		req.IPFamilyPolicy = allocator.PreferDualStack
	}
	for _, p := range s.Ports {
		req.Ports = append(req.Ports, allocator.ServicePort{Name: p.Name, Protocol: allocator.Protocol(p.Protocol), Port: p.Port, NodePort: p.NodePort})
		if p.NodePort == 0 && s.Type == resolved.LoadBalancer {
			req.NoLoadBalancerNodePorts = true
		}
	}
	return req
}
