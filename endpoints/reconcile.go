package endpoints

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Label keys the controller sets on every slice it manages.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	// ManagedBy is the LabelManagedBy value this package writes.
	ManagedBy = "endpointslice-controller.k8s.io"
)

// Config tunes the reconciler. The zero value uses Kubernetes' defaults.
type Config struct {
	// MaxEndpointsPerSlice caps a slice's endpoints. Zero means 100; values
	// above 1000 mean 1000.
	MaxEndpointsPerSlice int
}

func (c Config) max() int {
	switch {
	case c.MaxEndpointsPerSlice <= 0:
		return 100
	case c.MaxEndpointsPerSlice > 1000:
		return 1000
	}
	return c.MaxEndpointsPerSlice
}

// Slice is an endpoint slice as stored. The zero value is an unnamed
// placeholder of no family and is only valid as a Plan element's shape.
type Slice struct {
	Name      string
	Family    int    // 4 or 6
	Ports     []Port // sorted; nil for a placeholder
	Endpoints []Endpoint
	Labels    map[string]string
}

// Plan is what Reconcile decided: slices to create, to update (by name, in
// full) and names to delete. The zero value is the empty plan.
type Plan struct {
	Create []Slice
	Update []Slice
	Delete []string
}

// IsEmpty reports whether the plan writes nothing.
func (p *Plan) IsEmpty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// Reconcile plans the writes that turn existing (the slices s has now) into
// desired (from [Desired]) with the Kubernetes minimal-churn algorithm. It
// is deterministic: new slices are named "<service>-<n>" with the smallest
// n ≥ 1 no existing or planned slice uses, where Kubernetes appends a
// random suffix. Reconcile does not modify its arguments.
func Reconcile(cfg Config, s *Service, desired []Group, existing []Slice) Plan {
	max := cfg.max()
	labels := sliceLabels(s)
	used := make(map[string]bool, len(existing))
	byKey := map[string][]*Slice{}
	var keys []string
	for i := range existing {
		e := &existing[i]
		used[e.Name] = true
		k := (&Group{Family: e.Family, Ports: e.Ports}).Key()
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], e)
	}
	var plan Plan
	var deletes []*Slice
	kept := 0
	for gi := range desired {
		g := &desired[gi]
		k := g.Key()
		have := byKey[k]
		delete(byKey, k)
		c, u, d, n := reconcileGroup(max, g, have, labels)
		plan.Create = append(plan.Create, c...)
		plan.Update = append(plan.Update, u...)
		deletes = append(deletes, d...)
		kept += n
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, e := range byKey[k] {
			deletes = append(deletes, e)
		}
	}
	slices.SortFunc(deletes, func(a, b *Slice) int { return strings.Compare(a.Name, b.Name) })
	// A service with no other slice keeps one placeholder so consumers can
	// tell "no endpoints" from "not reconciled".
	if kept+len(plan.Create)+len(plan.Update) == 0 {
		ph := Slice{Family: firstFamily(s), Labels: labels}
		if i := slices.IndexFunc(deletes, func(e *Slice) bool { return e.Ports == nil && len(e.Endpoints) == 0 }); i >= 0 {
			if !maps.Equal(deletes[i].Labels, labels) {
				ph.Name = deletes[i].Name
				ph.Family = deletes[i].Family
				plan.Update = append(plan.Update, ph)
			}
			deletes = slices.Delete(deletes, i, i+1)
		} else {
			plan.Create = append(plan.Create, ph)
		}
	}
	// A create paired with a delete of the same family becomes an update
	// that reuses the deleted slice's name.
	for i := range plan.Create {
		c := &plan.Create[i]
		j := slices.IndexFunc(deletes, func(e *Slice) bool { return e.Family == c.Family })
		if j < 0 {
			continue
		}
		c.Name = deletes[j].Name
		plan.Update = append(plan.Update, *c)
		deletes = slices.Delete(deletes, j, j+1)
	}
	plan.Create = slices.DeleteFunc(plan.Create, func(c Slice) bool { return c.Name != "" })
	for _, d := range deletes {
		plan.Delete = append(plan.Delete, d.Name)
	}
	n := 0
	for i := range plan.Create {
		for {
			n++
			name := sliceName(s.Name, n)
			if !used[name] {
				used[name] = true
				plan.Create[i].Name = name
				break
			}
		}
	}
	if len(plan.Update) == 0 {
		plan.Update = nil
	}
	if len(plan.Create) == 0 {
		plan.Create = nil
	}
	return plan
}

func firstFamily(s *Service) int {
	if len(s.Families) > 0 {
		return s.Families[0]
	}
	return 4
}

// sliceName keeps the name within 63 characters as generateName does: the
// base is cut so that base, dash and suffix fit.
func sliceName(svc string, n int) string {
	suffix := strconv.Itoa(n)
	base := svc
	if limit := 63 - 1 - len(suffix); len(base) > limit {
		base = base[:limit]
	}
	return base + "-" + suffix
}

func sliceLabels(s *Service) map[string]string {
	l := make(map[string]string, len(s.Labels)+2)
	maps.Copy(l, s.Labels)
	l[LabelServiceName] = s.Name
	l[LabelManagedBy] = ManagedBy
	return l
}

type epKey struct {
	addr netip.Addr
	ref  Ref
	host string
}

func keyOf(e *Endpoint) epKey {
	return epKey{addr: e.Address, ref: e.TargetRef, host: e.Hostname}
}

// finder returns a lookup from an existing endpoint's identity to its index
// in eps. [Desired] sorts endpoints by address, and a binary search over
// them costs no allocation, where a map of every endpoint made a 10,000
// endpoint reconcile cost ~1.5 MB; groups built by hand and not sorted
// get the map.
func finder(eps []Endpoint) func(*Endpoint) (int, bool) {
	byAddr := func(a Endpoint, b netip.Addr) int { return a.Address.Compare(b) }
	if slices.IsSortedFunc(eps, func(a, b Endpoint) int { return a.Address.Compare(b.Address) }) {
		// Slices are packed from runs of sorted endpoints, so the entry
		// after the last one found is the usual answer: try it before
		// searching.
		next := 0
		return func(e *Endpoint) (int, bool) {
			k := keyOf(e)
			i := next
			if i >= len(eps) || eps[i].Address != e.Address {
				i, _ = slices.BinarySearchFunc(eps, e.Address, byAddr)
			}
			for ; i < len(eps) && eps[i].Address == e.Address; i++ {
				if keyOf(&eps[i]) == k {
					next = i + 1
					return i, true
				}
			}
			return 0, false
		}
	}
	want := make(map[epKey]int, len(eps))
	for i := range eps {
		want[keyOf(&eps[i])] = i
	}
	return func(e *Endpoint) (int, bool) {
		i, ok := want[keyOf(e)]
		return i, ok
	}
}

// reconcileGroup runs steps 1–3 for one family and port set. It returns
// slices to create and update, slices to delete, and how many slices stay
// unchanged.
func reconcileGroup(max int, g *Group, have []*Slice, labels map[string]string) (create, update []Slice, deletes []*Slice, unchanged int) {
	find := finder(g.Endpoints)
	placed := make([]bool, len(g.Endpoints))
	slices.SortFunc(have, func(a, b *Slice) int { return strings.Compare(a.Name, b.Name) })
	var keep []*Slice
	var idx []int // desired indices kept by the slice at hand, reused
	// Step 1: drop stale endpoints and update changed ones in place.
	for _, e := range have {
		// Most slices are unchanged: check first, so only changed slices
		// allocate (the reconcile cost follows the changed slices).
		changed := !maps.Equal(e.Labels, labels)
		idx = idx[:0]
		for i := range e.Endpoints {
			old := &e.Endpoints[i]
			j, ok := find(old)
			if !ok || placed[j] {
				changed = true
				continue
			}
			placed[j] = true
			idx = append(idx, j)
			if g.Endpoints[j] != *old {
				changed = true
			}
		}
		var eps []Endpoint
		if changed && len(idx) > 0 {
			eps = make([]Endpoint, len(idx))
			for n, j := range idx {
				eps[n] = g.Endpoints[j]
			}
		}
		switch {
		case len(idx) == 0:
			deletes = append(deletes, e)
		case changed:
			update = append(update, Slice{Name: e.Name, Family: g.Family, Ports: g.Ports, Endpoints: eps, Labels: labels})
		default:
			keep = append(keep, e)
		}
	}
	var rest []Endpoint
	for i := range g.Endpoints {
		if !placed[i] {
			rest = append(rest, g.Endpoints[i])
		}
	}
	// Step 2: fill slices already being updated, fullest first.
	slices.SortStableFunc(update, func(a, b Slice) int { return cmp.Compare(len(b.Endpoints), len(a.Endpoints)) })
	for i := range update {
		if len(rest) == 0 {
			break
		}
		room := min(max-len(update[i].Endpoints), len(rest))
		if room <= 0 {
			continue
		}
		update[i].Endpoints = append(update[i].Endpoints, rest[:room]...)
		rest = rest[room:]
	}
	// Step 3: new full slices; a final partial batch goes into the
	// unchanged slice that ends closest to full, else one more create.
	for len(rest) > 0 {
		if len(rest) < max {
			best := -1
			for i, e := range keep {
				if len(e.Endpoints)+len(rest) <= max && (best < 0 || len(e.Endpoints) > len(keep[best].Endpoints)) {
					best = i
				}
			}
			if best >= 0 {
				e := keep[best]
				eps := append(slices.Clip(e.Endpoints), rest...)
				update = append(update, Slice{Name: e.Name, Family: g.Family, Ports: g.Ports, Endpoints: eps, Labels: labels})
				keep = slices.Delete(keep, best, best+1)
				break
			}
		}
		n := min(max, len(rest))
		create = append(create, Slice{Family: g.Family, Ports: g.Ports, Endpoints: slices.Clone(rest[:n]), Labels: labels})
		rest = rest[n:]
	}
	return create, update, deletes, len(keep)
}
