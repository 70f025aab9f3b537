package allocator

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// index is f's slot in per-family pairs: IPv4 first.
func (f IPFamily) index() int {
	if f == IPv6 {
		return 1
	}
	return 0
}

// Pool describes a LoadBalancer address pool, as MetalLB's IPAddressPool. The zero Pool
// is invalid (no name, no addresses): NewLBAllocator rejects it. NewLBAllocator copies
// the pool; the caller may reuse it.
type Pool struct {
	// Name identifies the pool in LBRequest.Pool (MetalLB's address-pool annotation).
	Name string
	// Addresses are the pool's ranges, every address of each usable: a CIDR keeps its
	// network and broadcast addresses, as MetalLB. Ranges of all pools must not overlap.
	Addresses []AddrRange
	// ManualAssign keeps the pool out of automatic assignment: it serves only requests
	// that name it or one of its addresses (MetalLB's autoAssign: false). Zero means the
	// pool auto-assigns, MetalLB's default.
	ManualAssign bool
	// AvoidBuggyIPs removes IPv4 addresses ending in .0 and .255 from the pool, for
	// requests too (MetalLB's avoidBuggyIPs). Zero means every address is usable.
	AvoidBuggyIPs bool
}

// PortProto is one protocol and port of a service: two services sharing an address may
// not use the same one. The zero value is TCP port 0. A plain value, safe for
// concurrent use.
type PortProto struct {
	Protocol Protocol // zero means TCP, the Kubernetes default
	Port     uint16
}

// String returns "TCP/80".
func (p PortProto) String() string {
	return p.Protocol.String() + "/" + strconv.Itoa(int(p.Port))
}

// LBRequest says what a LoadBalancer service needs. The zero LBRequest asks for any
// address of an auto-assign pool, shared with nobody. Assign copies what it keeps.
type LBRequest struct {
	// Family restricts the address family; zero (no family) means either (the first pool range with
	// room, in pool order), or the family of Addr when Addr is set.
	Family IPFamily
	// Addr requests one address (spec.loadBalancerIP, MetalLB's loadBalancerIPs
	// annotation). It is honoured when some pool holds it, ManualAssign pools included.
	// Zero means any.
	Addr netip.Addr
	// Pool restricts the choice to the named pool (MetalLB's address-pool annotation),
	// which may be a ManualAssign one. Zero means every auto-assign pool, in order.
	Pool string
	// SharingKey is MetalLB's allow-shared-ip annotation. Services share an address
	// only when they carry the same non-empty key, the same BackendKey, and no common
	// PortProto. Zero means the service shares with nobody.
	SharingKey string
	// BackendKey stands for MetalLB's third sharing condition: services sharing an
	// address must all use externalTrafficPolicy Cluster (empty key) or point at the same
	// pods (the same non-empty key, e.g. the rendered selector of Local services).
	BackendKey string
	// Ports are the service's ports; duplicates are ignored.
	Ports []PortProto
}

// PoolStats counts a pool's addresses; an address shared by several services counts
// once. It is a plain result value; the zero value is an empty, unnamed pool.
type PoolStats struct {
	Name             string
	Size, Used, Free uint64
}

// LBAllocator assigns LoadBalancer addresses from pools with MetalLB's rules:
// auto-assign and manual pools, avoidance of .0/.255, requested addresses, and sharing
// by key. Each service holds at most one address per family. Auto-assignment takes the
// lowest free address of the first pool with room, in the order the pools were given,
// after first trying the addresses already shared under the request's sharing key.
// Build it with NewLBAllocator; the zero value is not usable. Safe for concurrent use.
type LBAllocator struct {
	pools  []Pool         // immutable
	byName map[string]int // immutable: pool name → index
	id     string         // immutable: configuration identity checked by Restore
	mu     sync.Mutex     // protects st
	st     *lbState
}

// lbState is everything that changes; Restore builds a new one and swaps it in.
type lbState struct {
	pools  []Pool
	ranges [][]*IPRange // per pool: the allocators of its ranges
	addrs  map[netip.Addr]*lbAddr
	svcs   map[string][2]netip.Addr // service → held IPv4, IPv6 address
	byKey  map[string][]netip.Addr  // sharing key → its addresses, sorted
}

// lbAddr is an assigned address: its range and its services, who all agree on key
// and backend.
type lbAddr struct {
	pool, rng    int
	key, backend string
	users        map[string][]PortProto
}

type lbUser struct {
	svc, key, backend string
	ports             []PortProto
}

// half is 2^63: a pool range larger than that is served by two allocators, so that a
// whole IPv6 /64 (2^64 addresses) fits.
const half = 1 << 63

// NewLBAllocator returns an allocator over pools. It returns ErrInvalidPool for an
// empty or duplicate name, a pool without addresses, or ranges that overlap (within or
// across pools), ErrInvalidRange for an invalid AddrRange, and ErrRangeTooLarge for a
// range of more than 2^64 addresses.
func NewLBAllocator(pools ...Pool) (*LBAllocator, error) {
	a := &LBAllocator{byName: make(map[string]int, len(pools))}
	var seen []AddrRange
	var id strings.Builder
	for _, p := range pools {
		switch _, dup := a.byName[p.Name]; {
		case p.Name == "":
			return nil, fmt.Errorf("%w: empty name", ErrInvalidPool)
		case dup:
			return nil, fmt.Errorf("%w: duplicate name %q", ErrInvalidPool, p.Name)
		case len(p.Addresses) == 0:
			return nil, fmt.Errorf("%w: pool %q has no addresses", ErrInvalidPool, p.Name)
		}
		fmt.Fprintf(&id, "%q manual=%t avoid=%t", p.Name, p.ManualAssign, p.AvoidBuggyIPs)
		for _, r := range p.Addresses {
			if !r.IsValid() {
				return nil, fmt.Errorf("%w: pool %q: %v-%v", ErrInvalidRange, p.Name, r.From, r.To)
			}
			for _, o := range seen {
				if r.overlaps(o) {
					return nil, fmt.Errorf("%w: pool %q: %v overlaps %v", ErrInvalidPool, p.Name, r, o)
				}
			}
			seen = append(seen, r)
			fmt.Fprintf(&id, " %v", r)
		}
		id.WriteByte(';')
		a.byName[p.Name] = len(a.pools)
		p.Addresses = slices.Clone(p.Addresses)
		a.pools = append(a.pools, p)
	}
	a.id = id.String()
	st, err := a.newState(false)
	if err != nil {
		return nil, err
	}
	a.st = st
	return a, nil
}

// newState returns an empty state over a's pools. A scratch state (for checking a
// snapshot) keeps its ranges on the sparse set, so building one costs the same for a
// /8 as for a /30; the live state uses the dense set where the range fits it.
func (a *LBAllocator) newState(scratch bool) (*lbState, error) {
	st := &lbState{
		pools:  a.pools,
		ranges: make([][]*IPRange, len(a.pools)),
		addrs:  make(map[netip.Addr]*lbAddr),
		svcs:   make(map[string][2]netip.Addr),
		byKey:  make(map[string][]netip.Addr),
	}
	cfg := Config{Strategy: LowestFree}
	for i, p := range a.pools {
		for _, r := range p.Addresses {
			parts := []AddrRange{r}
			if n, ok := span(r); !ok {
				return nil, fmt.Errorf("%w: pool %q: %v", ErrRangeTooLarge, p.Name, r)
			} else if n >= half {
				mid := addrAdd(r.From, half)
				parts = []AddrRange{{r.From, mid.Prev()}, {mid, r.To}}
			}
			for _, pr := range parts {
				ir, err := newIPRangeFromTo(pr.From, pr.To, p.AvoidBuggyIPs, scratch, cfg)
				if err != nil {
					return nil, fmt.Errorf("pool %q: %w", p.Name, err)
				}
				st.ranges[i] = append(st.ranges[i], ir)
			}
		}
	}
	return st, nil
}

// span returns To − From, reporting false when it does not fit 64 bits.
func span(r AddrRange) (uint64, bool) {
	fh, fl := split(r.From)
	th, tl := split(r.To)
	if th != fh && !(th == fh+1 && tl < fl) {
		return 0, false
	}
	return tl - fl, true
}

// addrAdd returns a+n for an a whose family has room for it.
func addrAdd(a netip.Addr, n uint64) netip.Addr {
	r := &IPRange{is4: a.Is4()}
	r.hi, r.lo = split(a)
	return r.addr(n)
}

// normPorts returns a sorted, duplicate-free copy of ports.
func normPorts(ports []PortProto) []PortProto {
	out := slices.Clone(ports)
	slices.SortFunc(out, comparePorts)
	return slices.Compact(out)
}

// Assign gives service svc an address for req and returns it; calling it again for a
// service re-evaluates the request. The service keeps the address it holds in the
// family when that still satisfies req (same Addr and Pool if given, sharing still
// compatible); otherwise it moves to a new one, released from the old one only once
// the new one is taken. On error nothing changes. Errors: ErrUnknownPool, ErrNotInPool
// (requested address in no pool, or not in the requested one), ErrInUse and
// ErrPortConflict (requested or held address not shareable), ErrPoolFull.
func (a *LBAllocator) Assign(svc string, req LBRequest) (netip.Addr, error) {
	q, err := a.check(svc, req)
	if err != nil {
		return netip.Addr{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.assign(q.u, q.want, q.fam, q.pool)
}

// lbQuery is an LBRequest checked and resolved against the pools.
type lbQuery struct {
	u    lbUser
	want netip.Addr
	fam  IPFamily
	pool int // −1 for any
}

func (a *LBAllocator) check(svc string, req LBRequest) (lbQuery, error) {
	q := lbQuery{pool: -1, fam: req.Family, want: req.Addr.Unmap()}
	if req.Pool != "" {
		i, ok := a.byName[req.Pool]
		if !ok {
			return q, fmt.Errorf("%w: %q", ErrUnknownPool, req.Pool)
		}
		q.pool = i
	}
	if q.fam != 0 && !q.fam.valid() {
		return q, fmt.Errorf("allocator: unknown family %v", q.fam)
	}
	if q.want.IsValid() {
		if q.fam != 0 && q.fam != IPFamilyOf(q.want) {
			return q, fmt.Errorf("%w: %v is not an %v address", ErrNotInPool, q.want, q.fam)
		}
		q.fam = IPFamilyOf(q.want)
	}
	q.u = lbUser{svc: svc, key: req.SharingKey, backend: req.BackendKey, ports: normPorts(req.Ports)}
	return q, nil
}

// assignFamilies gives svc one address per request (one request per family) and
// releases what it holds in other families. On error svc holds what it held before.
// On success it returns a function that puts back what svc held before the call, for
// a caller whose own transaction fails later; the caller must not change the
// allocator in between.
func (a *LBAllocator) assignFamilies(svc string, reqs []LBRequest) ([]netip.Addr, func(), error) {
	qs := make([]lbQuery, len(reqs))
	for i, req := range reqs {
		q, err := a.check(svc, req)
		if err != nil {
			return nil, nil, err
		}
		qs[i] = q
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	saved := a.st.holdings(svc)
	out := make([]netip.Addr, 0, len(qs))
	for _, q := range qs {
		x, err := a.st.assign(q.u, q.want, q.fam, q.pool)
		if err != nil {
			a.st.reset(svc, saved)
			return nil, nil, err
		}
		out = append(out, x)
	}
	h := a.st.svcs[svc]
	for i, x := range h {
		if x.IsValid() && !slices.Contains(out, x) {
			a.st.leave(x, svc)
			h[i] = netip.Addr{}
		}
	}
	a.st.svcs[svc] = h
	undo := func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.st.reset(svc, saved)
	}
	return out, undo, nil
}

// lbHolding is one address a service holds, with what it holds it as.
type lbHolding struct {
	addr netip.Addr
	u    lbUser
}

func (st *lbState) holdings(svc string) []lbHolding {
	var out []lbHolding
	for _, x := range st.svcs[svc] {
		if x.IsValid() {
			rec := st.addrs[x]
			out = append(out, lbHolding{x, lbUser{svc, rec.key, rec.backend, rec.users[svc]}})
		}
	}
	return out
}

// reset makes svc hold exactly hs, which it held before under the same lock: the
// addresses were compatible with their other users then and still are.
func (st *lbState) reset(svc string, hs []lbHolding) {
	for _, x := range st.svcs[svc] {
		if x.IsValid() {
			st.leave(x, svc)
		}
	}
	delete(st.svcs, svc)
	for _, h := range hs {
		_, _ = st.take(h.addr, h.u, -1) // held before: in a pool and compatible
		st.hold(svc, h.addr)
	}
}

func (st *lbState) assign(u lbUser, want netip.Addr, fam IPFamily, pool int) (netip.Addr, error) {
	held := st.svcs[u.svc]
	for _, cur := range held {
		if !cur.IsValid() || (fam != 0 && IPFamilyOf(cur) != fam) ||
			(want.IsValid() && want != cur) || (pool >= 0 && st.addrs[cur].pool != pool) {
			continue
		}
		err := st.compatible(cur, u)
		if err == nil {
			rec := st.addrs[cur]
			st.join(cur, u, rec.pool, rec.rng)
			return cur, nil
		}
		if want.IsValid() {
			return netip.Addr{}, err
		}
	}
	var got netip.Addr
	var err error
	if want.IsValid() {
		got, err = st.take(want, u, pool)
	} else {
		got, err = st.pick(u, fam, pool)
	}
	if err != nil {
		return netip.Addr{}, err
	}
	if old := held[IPFamilyOf(got).index()]; old.IsValid() {
		st.leave(old, u.svc)
	}
	st.hold(u.svc, got)
	return got, nil
}

// hold records that svc holds x, its address of x's family.
func (st *lbState) hold(svc string, x netip.Addr) {
	h := st.svcs[svc]
	h[IPFamilyOf(x).index()] = x
	st.svcs[svc] = h
}

// compatible reports why u may not use a, which other services may hold: the MetalLB
// sharing rules.
func (st *lbState) compatible(a netip.Addr, u lbUser) error {
	rec := st.addrs[a]
	if rec == nil {
		return nil
	}
	others := make([]string, 0, len(rec.users))
	for s := range rec.users {
		if s != u.svc {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	for _, s := range others {
		switch {
		case u.key == "" || rec.key != u.key:
			return fmt.Errorf("%w: %v is held by service %q with sharing key %q", ErrInUse, a, s, rec.key)
		case rec.backend != u.backend:
			return fmt.Errorf("%w: %v is held by service %q with other backends (%q)", ErrInUse, a, s, rec.backend)
		}
		for _, p := range u.ports {
			if _, clash := slices.BinarySearchFunc(rec.users[s], p, comparePorts); clash {
				return fmt.Errorf("%w: %v on %v is used by service %q", ErrPortConflict, p, a, s)
			}
		}
	}
	return nil
}

func comparePorts(a, b PortProto) int {
	return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
}

// take gives u the requested address want, in pool when pool ≥ 0.
func (st *lbState) take(want netip.Addr, u lbUser, pool int) (netip.Addr, error) {
	for pi := range st.pools {
		if pool >= 0 && pi != pool {
			continue
		}
		for ri, r := range st.ranges[pi] {
			if !r.Contains(want) {
				continue
			}
			if err := st.compatible(want, u); err != nil {
				return netip.Addr{}, err
			}
			if st.addrs[want] == nil {
				if err := r.Allocate(want); err != nil {
					return netip.Addr{}, err
				}
			}
			st.join(want, u, pi, ri)
			return want, nil
		}
	}
	if pool >= 0 {
		return netip.Addr{}, fmt.Errorf("%w: %v is not in pool %q", ErrNotInPool, want, st.pools[pool].Name)
	}
	return netip.Addr{}, fmt.Errorf("%w: %v", ErrNotInPool, want)
}

// pick finds u an address of family fam: first one already shared under u's key, then
// the lowest free one of the first eligible pool with room.
func (st *lbState) pick(u lbUser, fam IPFamily, pool int) (netip.Addr, error) {
	eligible := func(pi int) bool {
		if pool >= 0 {
			return pi == pool
		}
		return !st.pools[pi].ManualAssign
	}
	if u.key != "" {
		for _, a := range st.byKey[u.key] {
			rec := st.addrs[a]
			if _, mine := rec.users[u.svc]; mine || (fam != 0 && IPFamilyOf(a) != fam) || !eligible(rec.pool) {
				continue
			}
			if st.compatible(a, u) == nil {
				st.join(a, u, rec.pool, rec.rng)
				return a, nil
			}
		}
	}
	for pi := range st.pools {
		if !eligible(pi) {
			continue
		}
		for ri, r := range st.ranges[pi] {
			if fam != 0 && r.is4 != (fam == IPv4) {
				continue
			}
			if a, err := r.AllocateNext(); err == nil {
				st.join(a, u, pi, ri)
				return a, nil
			}
		}
	}
	where := "auto-assign pools"
	if pool >= 0 {
		where = fmt.Sprintf("pool %q", st.pools[pool].Name)
	}
	if fam != 0 {
		where = fmt.Sprintf("%v addresses of %s", fam, where)
	}
	return netip.Addr{}, fmt.Errorf("%w: no free %s", ErrPoolFull, where)
}

// join records u on a, allocated in range (pool, rng); u's key and backend become the
// address's, which compatible has checked or which only u holds.
func (st *lbState) join(a netip.Addr, u lbUser, pool, rng int) {
	rec := st.addrs[a]
	if rec == nil {
		rec = &lbAddr{pool: pool, rng: rng, users: make(map[string][]PortProto, 1)}
		st.addrs[a] = rec
		st.index(rec.key, a, true)
	}
	if rec.key != u.key {
		st.index(rec.key, a, false)
		st.index(u.key, a, true)
	}
	rec.key, rec.backend = u.key, u.backend
	rec.users[u.svc] = u.ports
}

// index adds a to (or removes it from) the sorted address list of key.
func (st *lbState) index(key string, a netip.Addr, add bool) {
	if key == "" {
		return
	}
	list := st.byKey[key]
	i, found := slices.BinarySearchFunc(list, a, netip.Addr.Compare)
	switch {
	case add && !found:
		st.byKey[key] = slices.Insert(list, i, a)
	case !add && found:
		if list = slices.Delete(list, i, i+1); len(list) == 0 {
			delete(st.byKey, key)
		} else {
			st.byKey[key] = list
		}
	}
}

// leave removes svc from a and frees a when nobody is left.
func (st *lbState) leave(a netip.Addr, svc string) {
	rec := st.addrs[a]
	if rec == nil {
		return
	}
	delete(rec.users, svc)
	if len(rec.users) == 0 {
		delete(st.addrs, a)
		st.index(rec.key, a, false)
		_ = st.ranges[rec.pool][rec.rng].Release(a) // a came from this range
	}
}

// Release gives back every address svc holds; an address is freed when its last
// service leaves. Releasing a service that holds nothing is a no-op.
func (a *LBAllocator) Release(svc string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.st.svcs[svc] {
		if x.IsValid() {
			a.st.leave(x, svc)
		}
	}
	delete(a.st.svcs, svc)
}

// Addrs returns the addresses svc holds, IPv4 first; nil when none.
func (a *LBAllocator) Addrs(svc string) []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []netip.Addr
	for _, x := range a.st.svcs[svc] {
		if x.IsValid() {
			out = append(out, x)
		}
	}
	return out
}

// Users returns the services holding address x, sorted; nil when x is free.
func (a *LBAllocator) Users(x netip.Addr) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.st.addrs[x.Unmap()]
	if rec == nil {
		return nil
	}
	out := make([]string, 0, len(rec.users))
	for s := range rec.users {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// PoolOf returns the name of the pool that holds x, reporting false when none does
// (addresses a pool avoids as buggy are in none).
func (a *LBAllocator) PoolOf(x netip.Addr) (string, bool) {
	x = x.Unmap()
	a.mu.Lock()
	defer a.mu.Unlock()
	for pi, rs := range a.st.ranges {
		for _, r := range rs {
			if r.Contains(x) {
				return a.pools[pi].Name, true
			}
		}
	}
	return "", false
}

// Stats counts the addresses of every pool, in the order the pools were given. Size
// saturates at 2^64−1 (a pool holding a whole IPv6 /64 has one more).
func (a *LBAllocator) Stats() []PoolStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PoolStats, len(a.pools))
	for pi, rs := range a.st.ranges {
		s := PoolStats{Name: a.pools[pi].Name}
		for _, r := range rs {
			size, used := r.c.counts()
			var carry uint64
			if s.Size, carry = bits.Add64(s.Size, size, 0); carry != 0 {
				s.Size = ^uint64(0)
			}
			s.Used += used
		}
		s.Free = s.Size - s.Used
		out[pi] = s
	}
	return out
}
