package controlplane

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

// ControlPlane turns Services and Pods into resolved state: it allocates
// each Service's addresses and ports, computes its endpoint slices with
// minimal churn, and stamps a service's revision only when its resolved
// form changed. A service it cannot resolve is left out and reported; it
// never stops the others. Build it with New. Safe for concurrent use;
// Resolve calls are serialised.
type ControlPlane struct {
	cfg Config

	mu           sync.Mutex // protects everything below
	prev         map[resolved.Ref]*resolved.Service
	version      uint64
	last         *resolved.State // the last state Resolve returned
	index        endpoints.ServiceIndex
	selectors    map[resolved.Ref]map[string]string // what index holds per service
	persisted    []byte                             // the last snapshot stored
	persistedGen uint64                             // the allocator's Generation when persisted was taken
	dirty        bool                               // the allocator holds changes Persist has not stored
	health       Health
	started      bool                      // a Resolve ran: restored services not seen were released
	prevRefs     map[resolved.Ref]bool     // the services the last Resolve was given
	owners       map[frontend]resolved.Ref // who published each frontend last
	inputs       map[resolved.Ref]input    // what each service in prev was resolved from
}

// input is what a service was resolved from: the same again resolves to
// the same service, so Resolve reuses it without allocating or
// reconciling (under churn most services are unchanged).
type input struct {
	svc  Service
	pods []endpoints.Workload
}

// unchanged returns the service published last time when sv and its pods
// are what it was resolved from, or nil. Sources that hand over the same
// maps and slices for unchanged objects (the manifests Loader does) make
// the comparison cheap: reflect.DeepEqual stops at identical pointers.
func (c *ControlPlane) unchanged(sv *Service, pods []endpoints.Workload) *resolved.Service {
	r := sv.Spec.Ref()
	old, ok := c.inputs[r]
	prev := c.prev[r]
	if !ok || prev == nil || !reflect.DeepEqual(old.pods, pods) || !reflect.DeepEqual(old.svc, *sv) {
		return nil
	}
	return prev
}

// New returns a ControlPlane for cfg; it returns an error when
// cfg.Allocator is nil.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.Allocator == nil {
		return nil, errors.New("controlplane: Config.Allocator is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ControlPlane{cfg: cfg, prev: map[resolved.Ref]*resolved.Service{}, selectors: map[resolved.Ref]map[string]string{},
		inputs: map[resolved.Ref]input{}}, nil
}

// Health is what a ControlPlane last did. The zero value means nothing
// happened yet.
type Health struct {
	// LastResolve is when the last Resolve ended; Refused are the
	// services it left out, with why.
	LastResolve time.Time
	Refused     map[resolved.Ref]error
	// LastRead and ReadErr are Run's last read from its Source.
	LastRead time.Time
	ReadErr  error
	// LastPersist is when the allocations were last stored; PersistErr
	// says why the latest attempt failed. While it is set, allocations
	// made since LastPersist would be lost on a restart.
	LastPersist time.Time
	PersistErr  error
	// PublishErr is why the last Publish failed.
	PublishErr error
	// Version is the last published state version.
	Version uint64
}

// OK reports whether reading, persisting and publishing work, with the
// reason when they do not. Refused services are reported but do not make
// the control plane unhealthy: every other service is served.
func (h Health) OK() (bool, string) {
	switch {
	case h.ReadErr != nil:
		return false, "read: " + h.ReadErr.Error()
	case h.PersistErr != nil:
		return false, "allocations not persisted: " + h.PersistErr.Error()
	case h.PublishErr != nil:
		return false, "publish: " + h.PublishErr.Error()
	}
	return true, ""
}

// Health returns the control plane's health; Refused is a copy.
func (c *ControlPlane) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health
	h.Refused = maps.Clone(h.Refused)
	return h
}

// Resolve resolves in into the next State; a service whose spec and pods
// are those it was last resolved from is reused as it is (see Input for
// what that asks of the caller). When no service changed it
// returns the previous State again, version and all. Services that disappeared are
// released to the allocator's grace period (they get the same values if
// they come back within it); values released longer ago are freed. It
// returns the state and an error joining the refused services' errors;
// the state holds every other service. A changed allocation is persisted
// before Resolve returns; a persist failure is in Health and retried by
// the next Resolve or by Run.
func (c *ControlPlane) Resolve(in Input) (*resolved.State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Allocator.Expire(c.cfg.Now()) // first, so that a new service may take what ran out
	refused := map[resolved.Ref]error{}
	specs := c.admit(in.Services, refused)
	pods := c.selectPods(specs, in.Workloads)
	out := make([]*resolved.Service, 0, len(specs))
	for _, sv := range specs {
		r := sv.Spec.Ref()
		if s := c.unchanged(sv, pods[r]); s != nil {
			out = append(out, s)
			continue
		}
		s, err := c.resolve(sv, pods[r])
		if err != nil {
			delete(c.inputs, r)
			refused[r] = err
			continue
		}
		c.inputs[r] = input{svc: *sv, pods: pods[r]}
		out = append(out, s)
	}
	out = c.claimFrontends(out, refused)
	st := c.stamp(out)
	c.releaseGone(in.Services)
	c.health.LastResolve, c.health.Refused = c.cfg.Now(), refused
	c.persist()
	return st, joinRefused(refused)
}

// stamp gives each service its revision (the previous one when its
// resolved form is unchanged) and returns the next state: the previous
// State itself, version and all, when nothing changed.
func (c *ControlPlane) stamp(out []*resolved.Service) *resolved.State {
	next := make(map[resolved.Ref]*resolved.Service, len(out))
	st := &resolved.State{Version: c.version + 1, Services: make([]*resolved.Service, 0, len(out))}
	changed := false
	for _, s := range out {
		switch old := c.prev[s.Ref()]; {
		case old == s:
			// Reused as it is: stamped already, and shared with the States
			// handed out, which readers may be reading now.
		case old != nil && equalResolved(old, s):
			s.Revision = old.Revision
		default:
			s.Revision, changed = st.Version, true
		}
		next[s.Ref()] = s
		st.Services = append(st.Services, s)
	}
	if !changed && c.last != nil && len(next) == len(c.prev) {
		st = c.last // nothing changed: the same version, and node agents do nothing
	} else {
		st.Sort()
		c.version, c.last = st.Version, st
	}
	c.prev = next
	return st
}

// releaseGone releases to the grace period every service the allocator
// holds that in does not list: those the previous Resolve was given, and
// on the first Resolve those restored from a snapshot (a service deleted
// while the control plane was down would otherwise hold its values for
// ever). A released service that comes back within the grace period gets
// the same values.
func (c *ControlPlane) releaseGone(in []Service) {
	inInput := make(map[resolved.Ref]bool, len(in))
	for i := range in {
		inInput[in[i].Spec.Ref()] = true
	}
	gone := make([]string, 0)
	if !c.started {
		c.started = true
		for _, k := range c.cfg.Allocator.Keys() {
			ns, name, _ := strings.Cut(k, "/")
			if !inInput[resolved.Ref{Namespace: ns, Name: name}] {
				gone = append(gone, k)
			}
		}
	}
	for r := range c.prevRefs {
		if !inInput[r] {
			gone = append(gone, r.String())
		}
	}
	for _, k := range gone {
		c.cfg.Allocator.Release(k) // kept for the grace period
	}
	c.prevRefs = inInput
	for r := range c.inputs {
		if !inInput[r] {
			delete(c.inputs, r)
		}
	}
}

// admit checks the services as a set: one name claimed twice keeps the
// first and refuses the rest (a source lists established objects first),
// and external IPs must come from Config.ExternalIPs.
func (c *ControlPlane) admit(in []Service, refused map[resolved.Ref]error) []*Service {
	seen := map[resolved.Ref]bool{}
	var out []*Service
	for i := range in {
		sv := &in[i]
		r := sv.Spec.Ref()
		if seen[r] {
			refused[r] = fmt.Errorf("service %s: defined twice; the first definition is kept", r)
			continue
		}
		seen[r] = true
		if err := c.checkExternalIPs(sv); err != nil {
			refused[r] = err
			continue
		}
		out = append(out, sv)
	}
	return out
}

func (c *ControlPlane) checkExternalIPs(sv *Service) error {
	for _, a := range sv.Spec.ExternalIPs {
		if !slices.ContainsFunc(c.cfg.ExternalIPs, func(p netip.Prefix) bool { return p.Contains(a) }) {
			return fmt.Errorf("service %s: externalIPs: %v is not in an allowed prefix %v", sv.Spec.Ref(), a, c.cfg.ExternalIPs)
		}
	}
	return nil
}

// persist stores the allocator's snapshot when it changed since the last
// successful store.
func (c *ControlPlane) persist() {
	if c.cfg.Persist == nil {
		return
	}
	gen := c.cfg.Allocator.Generation()
	if !c.dirty && gen == c.persistedGen && c.persisted != nil {
		return // nothing changed: no snapshot to encode (most Resolves under churn)
	}
	snap := c.cfg.Allocator.Snapshot()
	if !c.dirty && bytes.Equal(snap, c.persisted) {
		c.persistedGen = gen
		return
	}
	if err := c.cfg.Persist(snap); err != nil {
		c.dirty, c.health.PersistErr = true, err
		return
	}
	c.dirty, c.persisted, c.persistedGen, c.health.PersistErr = false, snap, gen, nil
	c.health.LastPersist = c.cfg.Now()
}

func joinRefused(refused map[resolved.Ref]error) error {
	refs := slices.SortedFunc(maps.Keys(refused), func(a, b resolved.Ref) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	errs := make([]error, len(refs))
	for i, r := range refs {
		errs[i] = refused[r]
	}
	return errors.Join(errs...)
}

// selectPods buckets workloads by the services that select them, through
// an endpoints.ServiceIndex kept across calls (only changed selectors are
// set again): the cost grows with the pods and their matches, not with
// pods × services.
func (c *ControlPlane) selectPods(specs []*Service, workloads []endpoints.Workload) map[resolved.Ref][]endpoints.Workload {
	seen := make(map[resolved.Ref]bool, len(specs))
	for _, sv := range specs {
		r := sv.Spec.Ref()
		seen[r] = true
		if old, ok := c.selectors[r]; ok && maps.Equal(old, sv.Selector) {
			continue
		}
		c.index.Set(&endpoints.Service{Namespace: r.Namespace, Name: r.Name, Selector: sv.Selector})
		c.selectors[r] = sv.Selector
	}
	for r := range c.selectors {
		if !seen[r] {
			c.index.Delete(endpoints.Ref{Namespace: r.Namespace, Name: r.Name})
			delete(c.selectors, r)
		}
	}
	out := map[resolved.Ref][]endpoints.Workload{}
	var refs []endpoints.Ref
	for i := range workloads {
		refs = c.index.AppendSelecting(refs[:0], &workloads[i])
		for _, r := range refs {
			k := resolved.Ref{Namespace: r.Namespace, Name: r.Name}
			out[k] = append(out[k], workloads[i])
		}
	}
	return out
}
