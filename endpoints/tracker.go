package endpoints

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// ServicePortName names one port of one service, the unit a proxy
// programs. The zero value names nothing.
type ServicePortName struct {
	Service  Ref
	Port     string // the service port name; zero means unnamed
	Protocol Protocol
}

// Change is what happened to one service port since the last
// [Tracker.Changes]: endpoints added, removed, and changed in place
// (conditions, node, zone, hints). The zero value is no change.
type Change struct {
	Port    ServicePortName
	Added   []TrackedEndpoint
	Removed []TrackedEndpoint
	Updated []TrackedEndpoint // the new value
}

// TrackedEndpoint is an endpoint as a dataplane sees it: one address and
// port. The zero value is invalid.
type TrackedEndpoint struct {
	AddrPort netip.AddrPort
	Endpoint Endpoint
}

type trackKey struct {
	portKey
	ap netip.AddrPort
}

// portKey is a service port within one service.
type portKey struct {
	port  string
	proto Protocol
}

// trackedSlice is a slice as the tracker keeps it: its entries in the
// slice's order, and where in list each key last appears.
type trackedSlice struct {
	list []trackEntry
	eps  map[trackKey]int
}

type trackEntry struct {
	k trackKey
	e Endpoint
}

func (ts *trackedSlice) index() {
	ts.eps = make(map[trackKey]int, len(ts.list))
	for i, en := range ts.list {
		ts.eps[en.k] = i
	}
}

// value returns the endpoint the slice holds under k (one it holds).
func (ts *trackedSlice) value(k trackKey) Endpoint { return ts.list[ts.eps[k]].e }

type serviceTrack struct {
	pending map[string]*trackedSlice                // by slice name
	where   map[trackKey][]string                   // slice names holding a key, sorted
	applied map[portKey]map[netip.AddrPort]Endpoint // what Changes handed out
	dirty   map[trackKey]struct{}
}

// Tracker follows endpoint slices per service, as kube-proxy's
// endpoints change tracker does: feed it slice updates and deletions in any
// order; [Tracker.Changes] hands out, per changed service port, the
// endpoints added, removed and updated since the last call. An endpoint
// may sit in several slices (while it moves between them): it is
// deduplicated by address:port, the value of the slice whose name sorts
// first winning. The zero value is not usable; use [NewTracker]. A Tracker
// is not safe for concurrent use.
type Tracker struct {
	services map[Ref]*serviceTrack
}

// NewTracker returns an empty Tracker.
func NewTracker() *Tracker { return &Tracker{services: map[Ref]*serviceTrack{}} }

func (t *Tracker) service(svc Ref) *serviceTrack {
	st := t.services[svc]
	if st == nil {
		st = &serviceTrack{pending: map[string]*trackedSlice{}, where: map[trackKey][]string{},
			applied: map[portKey]map[netip.AddrPort]Endpoint{}, dirty: map[trackKey]struct{}{}}
		t.services[svc] = st
	}
	return st
}

// Update records the current content of slice s of service svc. An update
// that changes nothing yields no change.
func (t *Tracker) Update(svc Ref, s *Slice) {
	st := t.service(svc)
	ts := &trackedSlice{list: make([]trackEntry, 0, len(s.Endpoints)*len(s.Ports))}
	for _, p := range s.Ports {
		for _, e := range s.Endpoints {
			ts.list = append(ts.list, trackEntry{trackKey{portKey{p.Name, p.Protocol}, netip.AddrPortFrom(e.Address, p.Port)}, e})
		}
	}
	st.replace(s.Name, ts)
}

// Delete records that slice name of service svc is gone.
func (t *Tracker) Delete(svc Ref, name string) {
	if st := t.services[svc]; st != nil {
		st.replace(name, nil)
	}
}

func (st *serviceTrack) replace(name string, ts *trackedSlice) {
	old := st.pending[name]
	// The common update keeps a slice's endpoints in place and changes a
	// few of their conditions: with the keys in the same places the index
	// is the same, so only the changed entries need looking at.
	if old != nil && ts != nil && sameKeys(old.list, ts.list) {
		for i := range ts.list {
			if en := &ts.list[i]; en.e != old.list[i].e {
				st.dirty[en.k] = struct{}{}
			}
		}
		ts.eps = old.eps
		st.pending[name] = ts
		return
	}
	if ts != nil {
		ts.index()
	}
	if old != nil {
		for k := range old.eps {
			if ts == nil || !hasKey(ts, k) {
				st.dirty[k] = struct{}{}
				names := st.where[k]
				if i, ok := slices.BinarySearch(names, name); ok {
					names = slices.Delete(names, i, i+1)
				}
				if len(names) == 0 {
					delete(st.where, k)
				} else {
					st.where[k] = names
				}
			} else if ts.value(k) != old.value(k) {
				st.dirty[k] = struct{}{}
			}
		}
	}
	if ts == nil {
		delete(st.pending, name)
		return
	}
	st.pending[name] = ts
	for k := range ts.eps {
		if old != nil && hasKey(old, k) {
			continue
		}
		st.dirty[k] = struct{}{}
		names := st.where[k]
		if i, ok := slices.BinarySearch(names, name); !ok {
			st.where[k] = slices.Insert(names, i, name)
		}
	}
}

func sameKeys(a, b []trackEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].k != b[i].k {
			return false
		}
	}
	return true
}

func hasKey(ts *trackedSlice, k trackKey) bool {
	_, ok := ts.eps[k]
	return ok
}

// Changes returns the changes since the last call, sorted by service port,
// and makes the pending state the applied one. Services and ports whose
// endpoints did not change do not appear.
func (t *Tracker) Changes() []Change {
	var out []Change
	for svc, st := range t.services {
		if len(st.dirty) == 0 {
			continue
		}
		byPort := map[ServicePortName]*Change{}
		for k := range st.dirty {
			var now Endpoint
			names := st.where[k]
			if len(names) > 0 {
				now = st.pending[names[0]].value(k)
			}
			applied := st.applied[k.portKey]
			was, had := applied[k.ap]
			var list *[]TrackedEndpoint
			spn := ServicePortName{Service: svc, Port: k.port, Protocol: k.proto}
			c := byPort[spn]
			if c == nil {
				c = &Change{Port: spn}
				byPort[spn] = c
			}
			switch {
			case len(names) == 0 && had:
				list, now = &c.Removed, was
				if delete(applied, k.ap); len(applied) == 0 {
					delete(st.applied, k.portKey)
				}
			case len(names) == 0:
				continue
			case !had:
				list = &c.Added
				if applied == nil {
					applied = map[netip.AddrPort]Endpoint{}
					st.applied[k.portKey] = applied
				}
				applied[k.ap] = now
			case was != now:
				list = &c.Updated
				applied[k.ap] = now
			default:
				continue
			}
			*list = append(*list, TrackedEndpoint{AddrPort: k.ap, Endpoint: now})
		}
		clear(st.dirty)
		for _, c := range byPort {
			if len(c.Added)+len(c.Removed)+len(c.Updated) == 0 {
				continue
			}
			for _, l := range [][]TrackedEndpoint{c.Added, c.Removed, c.Updated} {
				slices.SortFunc(l, func(a, b TrackedEndpoint) int { return a.AddrPort.Compare(b.AddrPort) })
			}
			out = append(out, *c)
		}
		if len(st.pending) == 0 && len(st.applied) == 0 {
			delete(t.services, svc)
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return compareServicePort(a.Port, b.Port) })
	return out
}

// AppendEndpoints appends to dst the whole current endpoint list of port,
// as of the last [Tracker.Changes] (the state its deltas lead to), sorted
// by address and port. It is what a dataplane's full update of one
// service port takes, so a consumer of the deltas keeps no shadow copy.
// It allocates only to grow dst.
func (t *Tracker) AppendEndpoints(dst []TrackedEndpoint, port ServicePortName) []TrackedEndpoint {
	st := t.services[port.Service]
	if st == nil {
		return dst
	}
	from := len(dst)
	for ap, e := range st.applied[portKey{port.Port, port.Protocol}] {
		dst = append(dst, TrackedEndpoint{AddrPort: ap, Endpoint: e})
	}
	slices.SortFunc(dst[from:], func(a, b TrackedEndpoint) int { return a.AddrPort.Compare(b.AddrPort) })
	return dst
}

// AppendUsableEndpoints appends to dst the endpoints of port a proxy on
// node in zone uses, as of the last [Tracker.Changes]: [AppendEndpoints]
// filtered by the one rule of [AppendUsable].
func (t *Tracker) AppendUsableEndpoints(dst []TrackedEndpoint, port ServicePortName, node, zone string, policy TrafficPolicy) []TrackedEndpoint {
	from := len(dst)
	dst = t.AppendEndpoints(dst, port)
	u := newUsable(node, zone, policy)
	for i := range dst[from:] {
		u.observe(&dst[from+i].Endpoint)
	}
	kept := dst[:from]
	for _, te := range dst[from:] {
		if u.keeps(&te.Endpoint) {
			kept = append(kept, te)
		}
	}
	return kept
}

// AppendPorts appends to dst every service port that has endpoints as of
// the last [Tracker.Changes], sorted, so that a full sync can walk them
// with [Tracker.AppendEndpoints].
func (t *Tracker) AppendPorts(dst []ServicePortName) []ServicePortName {
	from := len(dst)
	for svc, st := range t.services {
		for pk := range st.applied {
			dst = append(dst, ServicePortName{Service: svc, Port: pk.port, Protocol: pk.proto})
		}
	}
	slices.SortFunc(dst[from:], compareServicePort)
	return dst
}

func compareServicePort(a, b ServicePortName) int {
	return cmp.Or(strings.Compare(a.Service.Namespace, b.Service.Namespace),
		strings.Compare(a.Service.Name, b.Service.Name),
		strings.Compare(a.Port, b.Port), strings.Compare(a.Protocol.String(), b.Protocol.String()))
}
