package endpoints

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Label keys the controller sets on slices it manages. They are reserved:
// a Service's own labels under these keys are not copied onto its slices,
// as the Kubernetes 1.37 controller skips them.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelManagedBy   = "endpointslice.kubernetes.io/managed-by"
	// LabelHeadless is set, empty, on every slice of a headless service,
	// from [Service.Headless] only.
	LabelHeadless = "service.kubernetes.io/headless"
	// ManagedBy is the LabelManagedBy value this package writes.
	ManagedBy = "endpointslice-controller.k8s.io"
)

// Config tunes the reconciler. The zero value uses Kubernetes' defaults
// and repacks sparse slices as SliceOverheadPercent describes.
type Config struct {
	// MaxEndpointsPerSlice caps a slice's endpoints. Zero means 100, the
	// Kubernetes default. Reconcile rejects a negative value or one above
	// 1000 with ErrInvalidConfig, as kube-controller-manager rejects its
	// --max-endpoints-per-slice flag.
	MaxEndpointsPerSlice int
	// SliceOverheadPercent bounds the slices a group of n endpoints may
	// use beyond the minimum m = ceil(n/MaxEndpointsPerSlice): at most
	// m + max(1, m·SliceOverheadPercent/100). When Kubernetes' placement
	// leaves more, Reconcile merges the emptiest slices into the room of
	// the others (see Reconcile). Zero means 10: from ten slices' worth of
	// endpoints up, slices/m stays ≤ 1.1. Below that the one spare slice
	// is what lets an addition become one create instead of several
	// updates, as Kubernetes prefers. Negative turns repacking off, as in
	// Kubernetes: slices are never merged, and the sparse slices
	// scale-downs leave stay.
	SliceOverheadPercent int
}

func (c Config) max() int {
	if c.MaxEndpointsPerSlice == 0 {
		return 100
	}
	return c.MaxEndpointsPerSlice
}

func (c Config) validate() error {
	if c.MaxEndpointsPerSlice < 0 || c.MaxEndpointsPerSlice > 1000 {
		return fmt.Errorf("%w: MaxEndpointsPerSlice %d is not between 1 and 1000", ErrInvalidConfig, c.MaxEndpointsPerSlice)
	}
	return nil
}

// sliceLimit is how many slices a group of n endpoints may keep before
// Reconcile repacks it; -1 when repacking is off.
func (c Config) sliceLimit(n int) int {
	pct := c.SliceOverheadPercent
	switch {
	case pct < 0:
		return -1
	case pct == 0:
		pct = 10
	}
	m := (n + c.max() - 1) / c.max()
	return m + max(1, m*pct/100)
}

// Slice is an endpoint slice as stored. The zero value is an unnamed
// placeholder of no family and is only valid as a Plan element's shape.
type Slice struct {
	Name      string
	Family    IPFamily // IPv4 or IPv6
	Ports     []Port   // sorted; nil for a placeholder
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
// desired (from [Desired]) with the Kubernetes minimal-churn algorithm.
//
// Two things differ from Kubernetes. The plan is deterministic: new slices
// are named "<service>-<n>" with the smallest n ≥ 1 no existing or planned
// slice uses, where Kubernetes appends a random suffix. And a group whose
// slices exceed the bound of [Config.SliceOverheadPercent] after
// Kubernetes' placement is repacked: its smallest slices (ties: a slice
// being created, then one being updated, then an unchanged one, then by
// name) are emptied and deleted until the bound holds, and their endpoints
// fill the room of the slices this plan already writes, fullest first,
// then of unchanged slices, roomiest first, so the fewest extra slices are
// written. Kubernetes never merges slices, so after scale-downs a service
// can keep several times the slices it needs.
//
// Reconcile does not modify its arguments. It returns an error wrapping
// [ErrInvalidConfig], [ErrInvalidService] (see [Service.Validate]) or
// [ErrDuplicateSlice] and an empty plan when its input is invalid.
func Reconcile(cfg Config, s *Service, desired []Group, existing []Slice) (Plan, error) {
	if err := cfg.validate(); err != nil {
		return Plan{}, err
	}
	if err := s.Validate(); err != nil {
		return Plan{}, err
	}
	labels := sliceLabels(s)
	byName, err := sortedByName(s, existing)
	if err != nil {
		return Plan{}, err
	}
	have, deletes := splitByGroup(desired, byName)
	var plan Plan
	var live [7]int // slices each family keeps or writes, by IPFamily
	for gi := range desired {
		c, u, d, n := reconcileGroup(cfg, &desired[gi], have[gi], labels)
		plan.Create = append(plan.Create, c...)
		plan.Update = append(plan.Update, u...)
		deletes = append(deletes, d...)
		live[desired[gi].Family%7] += n + len(c) + len(u)
	}
	slices.SortFunc(deletes, func(a, b *Slice) int { return strings.Compare(a.Name, b.Name) })
	deletes = placeholders(&plan, s, labels, live, deletes)
	nameCreates(&plan, s.Name, byName, deletes)
	if len(plan.Update) == 0 {
		plan.Update = nil
	}
	if len(plan.Create) == 0 {
		plan.Create = nil
	}
	return plan, nil
}

// sortedByName gives a name-ordered view of existing, which finds
// duplicate names and answers which names are taken without a map.
func sortedByName(s *Service, existing []Slice) ([]*Slice, error) {
	byName := make([]*Slice, len(existing))
	for i := range existing {
		byName[i] = &existing[i]
	}
	slices.SortFunc(byName, func(a, b *Slice) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(byName); i++ {
		if byName[i].Name == byName[i-1].Name {
			return nil, fmt.Errorf("%w: service %s/%s: %q", ErrDuplicateSlice, s.Namespace, s.Name, byName[i].Name)
		}
	}
	return byName, nil
}

// splitByGroup gives each desired group its slices, in name order, and
// the slices of no desired group, which are to be deleted.
func splitByGroup(desired []Group, byName []*Slice) (have [][]*Slice, deletes []*Slice) {
	// Each group's slices, in name order, carved from one array; slices
	// of no desired group are deleted.
	groupOf := groupFinder(desired)
	count := make([]int, len(desired))
	gis := make([]int, len(byName)) // each slice's group, found once
	for i, e := range byName {
		if gis[i] = groupOf(e); gis[i] >= 0 {
			count[gis[i]]++
		}
	}
	have = make([][]*Slice, len(desired))
	backing := make([]*Slice, 0, len(byName))
	for gi, n := range count {
		have[gi] = backing[len(backing) : len(backing) : len(backing)+n]
		backing = backing[:len(backing)+n]
	}
	for i, e := range byName {
		if gi := gis[i]; gi >= 0 {
			have[gi] = append(have[gi], e)
		} else {
			deletes = append(deletes, e)
		}
	}
	return have, deletes
}

// nameCreates turns creates paired with deletes into updates, names the
// remaining creates with free names and lists the remaining deletes.
func nameCreates(plan *Plan, service string, byName, deletes []*Slice) {
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
			name := sliceName(service, n)
			if _, taken := slices.BinarySearchFunc(byName, name, func(e *Slice, name string) int { return strings.Compare(e.Name, name) }); !taken {
				plan.Create[i].Name = name
				break
			}
		}
	}
}

// groupFinder returns a lookup from a slice to the index of the first
// desired group with its family and port set, or -1. A service usually has
// a group or two (one per family and port mapping), where a scan costs no
// allocation; many port mappings (pods that number a named port each
// their own way) get a map.
func groupFinder(desired []Group) func(*Slice) int {
	if len(desired) <= 8 {
		return func(e *Slice) int {
			for gi := range desired {
				if g := &desired[gi]; g.Family == e.Family && slices.Equal(g.Ports, e.Ports) {
					return gi
				}
			}
			return -1
		}
	}
	byKey := make(map[string]int, len(desired))
	for gi := range desired {
		if k := desired[gi].Key(); byKey[k] == 0 {
			byKey[k] = gi + 1
		}
	}
	return func(e *Slice) int { return byKey[(&Group{Family: e.Family, Ports: e.Ports}).Key()] - 1 }
}

// placeholders gives each family of s that has no other slice one empty
// placeholder, as the Kubernetes 1.37 controller does per address type,
// so consumers can tell "no endpoints" from "not reconciled". An existing
// placeholder of the family is kept (updated if its labels differ) and
// taken out of deletes, which placeholders returns.
func placeholders(plan *Plan, s *Service, labels map[string]string, live [7]int, deletes []*Slice) []*Slice {
	families := s.Families
	if len(families) == 0 {
		families = []IPFamily{IPv4}
	}
	for _, fam := range families {
		if live[fam%7] > 0 {
			continue
		}
		ph := Slice{Family: fam, Labels: labels}
		i := slices.IndexFunc(deletes, func(e *Slice) bool {
			return e.Family == fam && len(e.Ports) == 0 && len(e.Endpoints) == 0
		})
		if i < 0 {
			plan.Create = append(plan.Create, ph)
			continue
		}
		if !maps.Equal(deletes[i].Labels, labels) {
			ph.Name = deletes[i].Name
			plan.Update = append(plan.Update, ph)
		}
		deletes = slices.Delete(deletes, i, i+1)
	}
	return deletes
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

// sliceLabels is Kubernetes' setEndpointSliceLabels: the service's labels
// without the reserved keys, the headless label from the service's cluster
// IP alone, then the service name and manager.
func sliceLabels(s *Service) map[string]string {
	l := make(map[string]string, len(s.Labels)+3)
	for k, v := range s.Labels {
		if k != LabelServiceName && k != LabelManagedBy && k != LabelHeadless {
			l[k] = v
		}
	}
	if s.Headless {
		l[LabelHeadless] = ""
	}
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
		// searching. Only an exact match counts: endpoints that share an
		// address (host-network pods of one node) may sit before it, and
		// the search finds the first of them.
		next := 0
		return func(e *Endpoint) (int, bool) {
			k := keyOf(e)
			if i := next; i < len(eps) && keyOf(&eps[i]) == k {
				next = i + 1
				return i, true
			}
			i, _ := slices.BinarySearchFunc(eps, e.Address, byAddr)
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

// placement records which desired endpoints (by index) the existing slices
// already hold. It starts sparse, as runs of consecutive indices: slices
// are packed from sorted runs, so an unchanged group costs a few runs per
// slice and a reconcile allocates in proportion to the slices, not the
// endpoints. Duplicates across slices (an inconsistent state) and heavily
// interleaved slices make the sparse form give up; the scan then runs
// again over a bitmap.
type placement struct {
	runs  [][2]int32 // [from, to), in scan order; used while bits is nil
	limit int        // more runs than this and the sparse form gives up
	bits  []uint64
}

// add marks desired index j placed. It reports false when j already is,
// which only the bitmap can tell while scanning; the runs find it in
// check.
func (p *placement) add(j int) bool {
	if p.bits != nil {
		w, b := j/64, uint64(1)<<(j%64)
		if p.bits[w]&b != 0 {
			return false
		}
		p.bits[w] |= b
		return true
	}
	if n := len(p.runs); n > 0 && p.runs[n-1][1] == int32(j) {
		p.runs[n-1][1]++
	} else {
		p.runs = append(p.runs, [2]int32{int32(j), int32(j) + 1})
	}
	return true
}

func (p *placement) overflow() bool { return p.bits == nil && len(p.runs) > p.limit }

// check sorts the runs and reports whether they are disjoint, that is no
// endpoint was found twice. It is for the sparse form only.
func (p *placement) check() bool {
	slices.SortFunc(p.runs, func(a, b [2]int32) int { return cmp.Compare(a[0], b[0]) })
	for i := 1; i < len(p.runs); i++ {
		if p.runs[i][0] < p.runs[i-1][1] {
			return false
		}
	}
	return true
}

// appendUnplaced appends the desired endpoints no slice holds, in order.
// With runs it needs check first.
func (p *placement) appendUnplaced(dst, eps []Endpoint) []Endpoint {
	if p.bits != nil {
		for j := range eps {
			if p.bits[j/64]&(uint64(1)<<(j%64)) == 0 {
				dst = append(dst, eps[j])
			}
		}
		return dst
	}
	from := 0
	for _, r := range p.runs {
		dst = append(dst, eps[from:r[0]]...)
		from = int(r[1])
	}
	return append(dst, eps[from:]...)
}

// reconcileGroup plans one family and port set: Kubernetes' steps 1–3,
// then the repack. have is in name order. It returns slices to create and
// update, slices to delete, and how many slices stay unchanged.
func reconcileGroup(cfg Config, g *Group, have []*Slice, labels map[string]string) (create, update []Slice, deletes []*Slice, unchanged int) {
	max := cfg.max()
	find := finder(g.Endpoints)
	pl := placement{runs: make([][2]int32, 0, len(have)+1), limit: 2*len(have) + len(g.Endpoints)/64}
	update, keep, deletes, ok := placeExisting(g, have, labels, find, &pl)
	if ok = ok && pl.check(); !ok {
		pl = placement{bits: make([]uint64, (len(g.Endpoints)+63)/64)}
		update, keep, deletes, _ = placeExisting(g, have, labels, find, &pl)
	}
	rest := pl.appendUnplaced(nil, g.Endpoints)
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
		// rest is this call's own; capped, a window of it stays apart.
		create = append(create, Slice{Family: g.Family, Ports: g.Ports, Endpoints: rest[:n:n], Labels: labels})
		rest = rest[n:]
	}
	// Step 4, not in Kubernetes: merge slices when there are too many.
	if limit := cfg.sliceLimit(len(g.Endpoints)); limit >= 0 && len(create)+len(update)+len(keep) > limit {
		create, update, keep, deletes = repack(limit, max, g, have, labels, create, update, keep, deletes)
	}
	return create, update, deletes, len(keep)
}

// placeExisting is step 1: it drops stale endpoints from the slices in
// have and updates changed ones in place, marking in pl the desired
// endpoints they hold. It reports false when pl's runs overflow.
func placeExisting(g *Group, have []*Slice, labels map[string]string, find func(*Endpoint) (int, bool), pl *placement) (update []Slice, keep, deletes []*Slice, ok bool) {
	keep = make([]*Slice, 0, len(have))
	longest := 0
	for _, e := range have {
		longest = max(longest, len(e.Endpoints))
	}
	idx := make([]int32, 0, longest) // desired indices kept by the slice at hand
	for _, e := range have {
		// Most slices are unchanged: check first, so only changed slices
		// allocate (the reconcile cost follows the changed slices).
		changed := !maps.Equal(e.Labels, labels)
		idx = idx[:0]
		for i := range e.Endpoints {
			old := &e.Endpoints[i]
			j, ok := find(old)
			if !ok || !pl.add(j) {
				changed = true
				continue
			}
			idx = append(idx, int32(j))
			if g.Endpoints[j] != *old {
				changed = true
			}
		}
		if pl.overflow() {
			return nil, nil, nil, false
		}
		switch {
		case len(idx) == 0:
			deletes = append(deletes, e)
		case changed:
			eps := make([]Endpoint, len(idx))
			for n, j := range idx {
				eps[n] = g.Endpoints[j]
			}
			update = append(update, Slice{Name: e.Name, Family: g.Family, Ports: g.Ports, Endpoints: eps, Labels: labels})
		default:
			keep = append(keep, e)
		}
	}
	return update, keep, deletes, true
}

// Slices a repack may empty, cheapest to empty first: dropping a create
// saves a write, turning an update into a delete costs none, deleting an
// unchanged slice costs one.
const (
	inCreate = iota
	inUpdate
	inKeep
)

// repack empties the smallest of the group's planned slices until limit
// remain and moves their endpoints into the room of the others: first
// the slices the plan writes anyway, fullest first, then unchanged ones,
// roomiest first, so the fewest extra slices are written. limit·perSlice
// is at least the group's endpoints, so the room always suffices.
func repack(limit, perSlice int, g *Group, have []*Slice, labels map[string]string, create, update []Slice, keep, deletes []*Slice) ([]Slice, []Slice, []*Slice, []*Slice) {
	type ref struct {
		in, i, size int
		name        string
	}
	all := make([]ref, 0, len(create)+len(update)+len(keep))
	for i := range create {
		all = append(all, ref{inCreate, i, len(create[i].Endpoints), ""})
	}
	for i := range update {
		all = append(all, ref{inUpdate, i, len(update[i].Endpoints), update[i].Name})
	}
	for i, e := range keep {
		all = append(all, ref{inKeep, i, len(e.Endpoints), e.Name})
	}
	slices.SortFunc(all, func(a, b ref) int {
		return cmp.Or(cmp.Compare(a.size, b.size), cmp.Compare(a.in, b.in), strings.Compare(a.name, b.name), cmp.Compare(a.i, b.i))
	})
	gone := [3][]bool{make([]bool, len(create)), make([]bool, len(update)), make([]bool, len(keep))}
	moving := make([][]Endpoint, 0, len(all)-limit) // the emptied slices' endpoints
	for _, r := range all[:len(all)-limit] {
		gone[r.in][r.i] = true
		switch r.in {
		case inCreate:
			moving = append(moving, create[r.i].Endpoints)
		case inUpdate:
			moving = append(moving, update[r.i].Endpoints)
			i, _ := slices.BinarySearchFunc(have, r.name, func(e *Slice, name string) int { return strings.Compare(e.Name, name) })
			deletes = append(deletes, have[i])
		case inKeep:
			moving = append(moving, keep[r.i].Endpoints)
			deletes = append(deletes, keep[r.i])
		}
	}
	create = without(create, gone[inCreate])
	update = without(update, gone[inUpdate])
	keep = without(keep, gone[inKeep])
	// fill tops eps up from moving. A slice over the maximum (written when
	// it was larger) has no room and stays as it is, as in Kubernetes.
	fill := func(eps []Endpoint) []Endpoint {
		for len(moving) > 0 && len(eps) < perSlice {
			src := moving[0]
			n := min(perSlice-len(eps), len(src))
			eps = append(eps, src[:n]...)
			if moving[0] = src[n:]; n == len(src) {
				moving = moving[1:]
			}
		}
		return eps
	}
	// The slices the plan writes, fullest first; on a tie creates come
	// before updates, as the plan lists them.
	written := make([]*Slice, 0, len(create)+len(update))
	for i := range create {
		written = append(written, &create[i])
	}
	for i := range update {
		written = append(written, &update[i])
	}
	slices.SortStableFunc(written, func(a, b *Slice) int { return cmp.Compare(len(b.Endpoints), len(a.Endpoints)) })
	for _, w := range written {
		if len(moving) == 0 {
			break
		}
		w.Endpoints = fill(w.Endpoints)
	}
	// Then unchanged slices, roomiest first, each becoming an update.
	slices.SortStableFunc(keep, func(a, b *Slice) int { return cmp.Compare(len(a.Endpoints), len(b.Endpoints)) })
	for len(moving) > 0 {
		e := keep[0]
		keep = keep[1:]
		update = append(update, Slice{Name: e.Name, Family: g.Family, Ports: g.Ports, Endpoints: fill(slices.Clip(e.Endpoints)), Labels: labels})
	}
	return create, update, keep, deletes
}

// without filters ss in place, leaving out the elements gone marks.
func without[T any](ss []T, gone []bool) []T {
	n := 0
	for i := range ss {
		if !gone[i] {
			ss[n] = ss[i]
			n++
		}
	}
	return ss[:n]
}
