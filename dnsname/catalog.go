package dnsname

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is the record TTL when [CatalogOptions.TTL] is zero, the
// default of CoreDNS's kubernetes plugin.
const DefaultTTL = 5 * time.Second

// MaxTTL is the longest record TTL, the upper bound of CoreDNS's "ttl"
// option.
const MaxTTL = time.Hour

// CatalogOptions configures a [Catalog] (and [RecordSet]). The zero value is
// the cluster.local zone, 5 s TTLs, pod records disabled and endpoints named
// by hostname or address.
type CatalogOptions struct {
	// Zone is the cluster domain. Zero means [DefaultZone].
	Zone string
	// TTL of every record, truncated to seconds. Zero means [DefaultTTL];
	// a negative value means a TTL of 0 (CoreDNS's "ttl 0": answers are
	// not cached). Values over [MaxTTL] are clamped to it.
	TTL time.Duration
	// PodRecords selects the pod-record mode. Zero means [PodsDisabled].
	PodRecords PodMode
	// EndpointPodNames names endpoints without a hostname by their pod name
	// (when it is a label under 64 characters) rather than their address,
	// as CoreDNS's endpoint_pod_names. Zero means off.
	EndpointPodNames bool
	// IgnoreEmptyService makes a ClusterIP service without a ready
	// endpoint in its [Service.Endpoints] answer NXDOMAIN, as CoreDNS's
	// "ignore empty_service", so that a stub resolver goes on down its
	// search list. The PTR records of its cluster IPs stay, as in CoreDNS.
	// Callers that set it list the endpoints of ClusterIP services too.
	// Zero means off: a ClusterIP service answers with or without
	// endpoints.
	IgnoreEmptyService bool
}

func (o CatalogOptions) builder() *builder {
	ttl := o.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		ttl = 0
	case ttl > MaxTTL:
		ttl = MaxTTL
	}
	return &builder{
		zone:        strings.ToLower(zoneOf(o.Zone)),
		ttl:         uint32(ttl / time.Second),
		podNames:    o.EndpointPodNames,
		ignoreEmpty: o.IgnoreEmptyService,
	}
}

// svcKey names a service or a pod.
type svcKey struct{ ns, name string }

func (k svcKey) compare(o svcKey) int {
	if c := strings.Compare(k.ns, o.ns); c != 0 {
		return c
	}
	return strings.Compare(k.name, o.name)
}

// owned is what one service contributes to a name.
type owned struct {
	key   *svcKey
	recs  []Record
	extra []Record
}

// The kinds of record an entry holds, in the order of their type numbers,
// which is the order of an entry's records.
const (
	kindA = iota
	kindCNAME
	kindPTR
	kindTXT
	kindAAAA
	kindSRV
	numKinds
)

func kindOf(t Type) int {
	switch t {
	case TypeA:
		return kindA
	case TypeCNAME:
		return kindCNAME
	case TypePTR:
		return kindPTR
	case TypeTXT:
		return kindTXT
	case TypeAAAA:
		return kindAAAA
	case TypeSRV:
		return kindSRV
	}
	return -1
}

// entry is the immutable record set of one name. Readers use it without a
// lock; writers replace it.
type entry struct {
	// What a lookup reads comes first, to share a cache line.
	all []Record
	// all is sorted by type; the records of kind k are
	// all[bounds[k]:bounds[k+1]].
	bounds [numKinds + 1]uint32
	extra  []Record
	// owner is the only service with records at the name, or nil when
	// there are several: then others lists them, sorted by key. Most
	// names have one owner, whose records are all and extra.
	owner  *svcKey
	others []owned
}

// fill makes e the entry of owners.
func (e *entry) fill(owners []owned) {
	if len(owners) == 1 {
		e.single(owners[0].key, owners[0].recs, owners[0].extra)
		return
	}
	e.owner, e.others = nil, owners
	e.all, e.extra = nil, nil
	for _, o := range owners {
		e.all = append(e.all, o.recs...)
		e.extra = append(e.extra, o.extra...)
	}
	sortByType(e.all)
	e.index()
}

// single makes e the entry of one service's records.
func (e *entry) single(key *svcKey, recs, extra []Record) {
	// The builder sorted the run; entries share it, never write it.
	e.owner, e.others = key, nil
	e.all, e.extra = recs, extra
	e.index()
}

// index finds where each kind of record starts in all.
func (e *entry) index() {
	i := 0
	for k := range numKinds {
		e.bounds[k] = uint32(i)
		for i < len(e.all) && kindOf(e.all[i].Type) == k {
			i++
		}
	}
	e.bounds[numKinds] = uint32(i)
}

// of returns the records of kind k.
func (e *entry) of(k int) []Record {
	lo, hi := e.bounds[k], e.bounds[k+1]
	return e.all[lo:hi:hi]
}

func (e *entry) answer(qtype Type) (Answer, Result) {
	// A CNAME owns its name: it answers every type (RFC 1034 §3.6.2).
	if cname := e.of(kindCNAME); len(cname) > 0 {
		return Answer{Records: cname}, Success
	}
	var rs, extra []Record
	switch qtype {
	case TypeA:
		rs = e.of(kindA)
	case TypePTR:
		rs = e.of(kindPTR)
	case TypeTXT:
		rs = e.of(kindTXT)
	case TypeAAAA:
		rs = e.of(kindAAAA)
	case TypeSRV:
		rs, extra = e.of(kindSRV), e.extra
	case TypeANY:
		// RFC 8482 §4.1: one RRset of those the name has — the first in
		// type order — rather than all of them, which keeps ANY from
		// amplifying and never lists a record twice.
		for k := range numKinds {
			if rs = e.of(k); len(rs) > 0 {
				break
			}
		}
		if len(rs) > 0 && rs[0].Type == TypeSRV {
			extra = e.extra
		}
	}
	if len(rs) == 0 {
		return Answer{}, NoData
	}
	return Answer{Records: rs, Extra: extra}, Success
}

// Catalog answers DNS questions for the services of one cluster zone: an
// in-memory table from names to record sets. Feed it one service at a time
// ([Catalog.SetService], [Catalog.DeleteService]) or a whole state at once
// ([Catalog.Replace], [Catalog.ReplacePods]); it keeps a copy of every
// service, so setting an unchanged one is a comparison and nothing more,
// and a caller needs no copy of its own to tell what changed.
//
// A lookup is one map access, so it costs the same with 100 services or
// 100,000. Create one with [NewCatalog]; the zero Catalog is not usable.
//
// A Catalog is safe for concurrent use: lookups share a read lock held only
// for a map access; updates are serialised among themselves, build their
// records and new entries without blocking lookups, and take the write lock
// only to store the entries of the names one service changes. A lookup
// therefore sees every service either before or after its update, never
// half of one; during a Replace it may see some services updated and
// others not yet.
type Catalog struct {
	opts CatalogOptions
	zone string // lower case, no trailing dot
	ttl  uint32
	tops [3]string // the names the tree of existing names hangs from

	// wmu serialises updates: an update holding it may read the fields
	// below without mu, since only updates write them.
	wmu sync.Mutex
	gen uint64 // of the running Replace; protected by wmu

	mu    sync.RWMutex      // protects the fields below
	names map[string]*entry // lower-case FQDN → record set
	// kids counts the existing children of a name: a name exists when it
	// has records or children, so that an empty non-terminal (a name
	// with names below it but no records, "96.10.in-addr.arpa." or
	// "_tcp.api.prod.svc.cluster.local.") answers NODATA, not NXDOMAIN
	// (RFC 8020 §2).
	kids       map[string]int32
	services   map[svcKey]*served            // what each service publishes
	namespaces map[string]int                // namespace → number of services
	pods       map[svcKey][]netip.Addr       // verified mode: pod → its addresses
	podAddrs   map[string]map[netip.Addr]int // namespace → address → pods
}

// served is what the catalog keeps of one service.
type served struct {
	spec  Service  // a deep copy of the service last set
	names []string // the names it contributes to
	gen   uint64   // the Replace that last saw it
}

// NewCatalog returns an empty catalog for the options (see
// [CatalogOptions] for the defaults). It already answers the
// "dns-version.<zone>" TXT record.
func NewCatalog(o CatalogOptions) *Catalog {
	b := o.builder()
	c := &Catalog{
		opts:       o,
		zone:       b.zone,
		ttl:        b.ttl,
		tops:       [3]string{b.zone + ".", inAddrArpa + ".", ip6Arpa + "."},
		names:      make(map[string]*entry),
		kids:       make(map[string]int32),
		services:   make(map[svcKey]*served),
		namespaces: make(map[string]int),
		pods:       make(map[svcKey][]netip.Addr),
		podAddrs:   make(map[string]map[netip.Addr]int),
	}
	v := VersionName(c.zone)
	version := new(entry)
	version.single(new(svcKey), []Record{{Name: v, Type: TypeTXT, TTL: c.ttl, Text: SchemaVersion}}, nil)
	c.apply([]string{v}, []*entry{version})
	return c
}

// Zone returns the catalog's zone, lower case without a trailing dot.
func (c *Catalog) Zone() string { return c.zone }

// TTL returns the TTL of the catalog's records in seconds, after the
// defaults and bounds of [CatalogOptions.TTL].
func (c *Catalog) TTL() uint32 { return c.ttl }

// SetService adds s or replaces the service of the same namespace and name,
// changing only the names s had or has; when s equals the service the
// catalog holds, it does nothing. The catalog keeps a copy of s: the
// caller may reuse s's slices. An invalid s leaves the catalog unchanged
// and returns an error wrapping [ErrInvalidLabel], [ErrInvalidSubdomain]
// or [ErrInvalidService].
func (c *Catalog) SetService(s Service) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.set(&s)
}

// Replace makes the catalog serve exactly services: each one is set as by
// [Catalog.SetService] (unchanged services cost a comparison), and every
// service the catalog holds that is not in the list is deleted. An invalid
// service does not stop the others: it keeps the version the catalog last
// accepted, if any, and its error is reported, joined with the others'.
// When two services share a namespace and name, the later one wins.
func (c *Catalog) Replace(services []Service) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.gen++
	var errs []error
	for i := range services {
		if err := c.set(&services[i]); err != nil {
			errs = append(errs, err)
		}
		if sv := c.services[svcKey{services[i].Namespace, services[i].Name}]; sv != nil {
			sv.gen = c.gen
		}
	}
	for key, sv := range c.services {
		if sv.gen != c.gen {
			c.delete(key)
		}
	}
	return errors.Join(errs...)
}

// set is SetService with c.wmu held.
func (c *Catalog) set(s *Service) error {
	key := svcKey{s.Namespace, s.Name}
	old := c.services[key]
	if old != nil && equalService(&old.spec, s) {
		return nil
	}
	if err := validate(s); err != nil {
		return fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err)
	}
	b := c.opts.builder()
	b.catalog = true
	b.build(s)
	names := make([]string, len(b.groups))
	for i, g := range b.groups {
		names[i] = g.name
	}
	var gone []string
	// A replacement usually keeps every name (endpoints changed
	// readiness or ports); only a changed name list needs the set.
	if old != nil && !slices.Equal(old.names, names) {
		keep := make(map[string]struct{}, len(names))
		for _, n := range names {
			keep[n] = struct{}{}
		}
		for _, n := range old.names {
			if _, ok := keep[n]; !ok {
				gone = append(gone, n)
			}
		}
	}
	u := newBatch(key, len(gone)+len(names))
	for _, n := range gone {
		u.set(c, n, nil, nil)
	}
	for i, g := range b.groups {
		var extra []Record
		if g.extra >= 0 {
			extra = b.extras[g.extra]
		}
		u.set(c, names[i], b.recs[g.start:g.end:g.end], extra)
	}
	sv := &served{names: names}
	if old != nil {
		// The old copy is the catalog's alone: its memory holds the new.
		sv.spec, sv.gen = old.spec, old.gen
	}
	cloneInto(&sv.spec, s)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.apply(gone, u.ents[:len(gone)])
	c.apply(names, u.ents[len(gone):])
	if old == nil {
		c.namespaces[key.ns]++
	}
	c.services[key] = sv
	return nil
}

// DeleteService removes a service and reports whether it was there.
func (c *Catalog) DeleteService(namespace, name string) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.delete(svcKey{namespace, name})
}

// delete is DeleteService with c.wmu held.
func (c *Catalog) delete(key svcKey) bool {
	old, ok := c.services[key]
	if !ok {
		return false
	}
	u := newBatch(key, len(old.names))
	for _, n := range old.names {
		u.set(c, n, nil, nil)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apply(old.names, u.ents)
	delete(c.services, key)
	if c.namespaces[key.ns]--; c.namespaces[key.ns] == 0 {
		delete(c.namespaces, key.ns)
	}
	return true
}

// Services returns copies of the services the catalog holds, sorted by
// namespace and name: what a caller printing the zone reads, rather than
// keeping services of its own.
func (c *Catalog) Services() []Service {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out := make([]Service, 0, len(c.services))
	for _, sv := range c.services {
		out = append(out, cloneService(&sv.spec))
	}
	slices.SortFunc(out, func(a, b Service) int {
		return svcKey{a.Namespace, a.Name}.compare(svcKey{b.Namespace, b.Name})
	})
	return out
}

// entryChunk is how many entries a batch allocates at a time: a slice of
// them stays under 32 KiB, a small object (see nameChunk).
const entryChunk = 256

// batch collects the new entries of one service's names, in the order of
// its set calls (nil where a name goes). Entries come from slices of
// entryChunk rather than one allocation each, and share one copy of the
// service's key. A slice stays reachable while any of its entries is in
// the catalog, and every entry of a service's names is replaced by its
// next update, so old ones do not pile up.
type batch struct {
	key  *svcKey
	ents []*entry
	free []entry // allocated, not yet used
	left int     // set calls still to come after the current one
}

// newBatch returns a batch for n of key's names.
func newBatch(key svcKey, n int) *batch {
	return &batch{key: &key, ents: make([]*entry, 0, n), left: n - 1}
}

func (u *batch) newEntry() *entry {
	if len(u.free) == 0 {
		u.free = make([]entry, min(u.left+1, entryChunk))
	}
	e := &u.free[0]
	u.free = u.free[1:]
	return e
}

// set makes the entry for name with the batch service's contribution
// replaced by recs and extra, or removed when recs is empty. c.wmu must be
// held.
func (u *batch) set(c *Catalog, name string, recs, extra []Record) {
	defer func() { u.left-- }()
	e := c.names[name]
	if e == nil || e.owner != nil && *e.owner == *u.key {
		// The common case: a name of this service alone.
		var ne *entry
		if len(recs) > 0 {
			ne = u.newEntry()
			ne.single(u.key, recs, extra)
		}
		u.ents = append(u.ents, ne)
		return
	}
	var owners []owned
	if e.owner != nil {
		owners = []owned{{key: e.owner, recs: e.all, extra: e.extra}}
	} else {
		owners = make([]owned, 0, len(e.others)+1)
		for _, x := range e.others {
			if *x.key != *u.key {
				owners = append(owners, x)
			}
		}
	}
	if len(recs) > 0 {
		i, _ := slices.BinarySearchFunc(owners, *u.key, func(x owned, k svcKey) int { return x.key.compare(k) })
		owners = slices.Insert(owners, i, owned{key: u.key, recs: recs, extra: extra})
	}
	var ne *entry
	if len(owners) > 0 {
		ne = u.newEntry()
		ne.fill(owners)
	}
	u.ents = append(u.ents, ne)
}

// apply stores ents[i] as the entry of names[i], deleting the names whose
// entry is nil, and keeps the tree of existing names in step. c.mu must be
// held for writing.
func (c *Catalog) apply(names []string, ents []*entry) {
	for i, e := range ents {
		n := names[i]
		_, had := c.names[n]
		switch {
		case e != nil:
			c.names[n] = e
			if !had {
				c.link(n)
			}
		case had:
			delete(c.names, n)
			c.unlink(n)
		}
	}
}

// parent returns the name one label up from n, or false at the top of the
// tree: the zone apex and the two reverse zones.
func (c *Catalog) parent(n string) (string, bool) {
	if slices.Contains(c.tops[:], n) {
		return "", false
	}
	i := strings.IndexByte(n, '.')
	if i < 0 || i == len(n)-1 {
		return "", false
	}
	return n[i+1:], true
}

// link records that n, which just got records, exists: each ancestor that
// did not exist before gains a child, up to the first that did. c.mu must
// be held for writing.
func (c *Catalog) link(n string) {
	if c.kids[n] > 0 {
		return // n already existed, as an empty non-terminal
	}
	for {
		p, ok := c.parent(n)
		if !ok {
			return
		}
		k := c.kids[p]
		if k == 0 {
			// A key of its own: a substring of n would keep the whole
			// chunk of names n lives in reachable.
			c.kids[strings.Clone(p)] = 1
		} else {
			c.kids[p] = k + 1
		}
		if _, rec := c.names[p]; k > 0 || rec {
			return
		}
		n = p
	}
}

// unlink records that n, which just lost its records, may no longer
// exist: each ancestor left without children and records goes too. c.mu
// must be held for writing.
func (c *Catalog) unlink(n string) {
	if c.kids[n] > 0 {
		return // n stays, as an empty non-terminal
	}
	for {
		p, ok := c.parent(n)
		if !ok {
			return
		}
		if k := c.kids[p] - 1; k > 0 {
			c.kids[p] = k
			return
		}
		delete(c.kids, p)
		if _, rec := c.names[p]; rec {
			return
		}
		n = p
	}
}

// SetPod records (or replaces) a pod's addresses for [PodsVerified] mode;
// setting the addresses the catalog already holds does nothing. It
// returns an error wrapping [ErrInvalidPod] for an invalid namespace or
// name.
func (c *Catalog) SetPod(p Pod) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.setPod(&p)
}

// ReplacePods makes the catalog know exactly pods for [PodsVerified] mode:
// each is set as by [Catalog.SetPod] and every other pod forgotten. An
// invalid pod does not stop the others; its error is reported, joined
// with the others'.
func (c *Catalog) ReplacePods(pods []Pod) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var errs []error
	keep := make(map[svcKey]struct{}, len(pods))
	for i := range pods {
		if err := c.setPod(&pods[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		keep[svcKey{pods[i].Namespace, pods[i].Name}] = struct{}{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.pods {
		if _, ok := keep[key]; !ok {
			c.forgetPod(key)
		}
	}
	return errors.Join(errs...)
}

// setPod is SetPod with c.wmu held.
func (c *Catalog) setPod(p *Pod) error {
	if err := IsDNS1123Label(p.Namespace); err != nil {
		return fmt.Errorf("pod %s/%s: %w: %w", p.Namespace, p.Name, ErrInvalidPod, err)
	}
	if err := IsDNS1123Subdomain(p.Name); err != nil {
		return fmt.Errorf("pod %s/%s: %w: %w", p.Namespace, p.Name, ErrInvalidPod, err)
	}
	addrs := make([]netip.Addr, 0, len(p.Addrs))
	for _, a := range p.Addrs {
		if a.IsValid() {
			addrs = append(addrs, cleanAddr(a))
		}
	}
	key := svcKey{p.Namespace, p.Name}
	if old, ok := c.pods[key]; ok && slices.Equal(old, addrs) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetPod(key)
	c.pods[key] = addrs
	m := c.podAddrs[key.ns]
	if m == nil {
		m = make(map[netip.Addr]int)
		c.podAddrs[key.ns] = m
	}
	for _, a := range addrs {
		m[a]++
	}
	return nil
}

// DeletePod forgets a pod and reports whether it was known.
func (c *Catalog) DeletePod(namespace, name string) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgetPod(svcKey{namespace, name})
}

// forgetPod removes a pod's addresses. c.mu must be held for writing.
func (c *Catalog) forgetPod(key svcKey) bool {
	addrs, ok := c.pods[key]
	if !ok {
		return false
	}
	m := c.podAddrs[key.ns]
	for _, a := range addrs {
		if m[a]--; m[a] == 0 {
			delete(m, a)
		}
	}
	if len(m) == 0 {
		delete(c.podAddrs, key.ns)
	}
	delete(c.pods, key)
	return true
}

// maxName is the longest presentation name with its trailing dot.
const maxName = 254

// Lookup answers a question: name in any case, with or without the trailing
// dot, and the record type. Results distinguish a name that does not exist
// (NXDomain) from one without records of the type (NoData, also for the
// empty non-terminals above existing names, RFC 8020 §2), and names the
// catalog does not serve (NotOurs: outside the zone, or reverse names of
// addresses it does not know — a server forwards those). ANY gets one
// RRset of the name (RFC 8482 §4.1). Lookups of service, endpoint, SRV,
// PTR and version names do not allocate; pod records are synthesised per
// query.
func (c *Catalog) Lookup(name string, qtype Type) (Answer, Result) {
	var buf [maxName]byte
	n := len(name)
	if n > 0 && name[n-1] == '.' {
		n--
	}
	ent := false
	if n > 0 && n < maxName {
		for i := 0; i < n; i++ {
			buf[i] = lower(name[i])
		}
		buf[n] = '.'
		c.mu.RLock()
		e := c.names[string(buf[:n+1])]
		if e == nil {
			ent = c.kids[string(buf[:n+1])] > 0
		}
		c.mu.RUnlock()
		if e != nil {
			return e.answer(qtype)
		}
	}
	return c.miss(name, qtype, ent)
}

// miss answers names without records of their own; ent tells that names
// exist below name.
func (c *Catalog) miss(name string, qtype Type, ent bool) (Answer, Result) {
	p := Parse(name, c.zone)
	switch p.Kind {
	case KindPod:
		return c.pod(name, p, qtype)
	case KindZone:
		return Answer{}, c.zoneNode(name, p, ent)
	}
	if ent {
		return Answer{}, NoData
	}
	switch p.Kind {
	case KindNotOurs, KindReverse:
		return Answer{}, NotOurs
	case KindNamespace:
		// A namespace with services exists even when none of them has
		// a name (headless services without endpoints).
		c.mu.RLock()
		ok := c.namespaces[p.Namespace] > 0
		c.mu.RUnlock()
		if ok {
			return Answer{}, NoData
		}
	}
	return Answer{}, NXDomain
}

// zoneNode answers the fixed names of the zone: the apex always exists;
// "svc.<zone>" when a service has a name; "pod.<zone>" and
// "<ns>.pod.<zone>" when a pod name below them can answer (see
// [PodMode]).
func (c *Catalog) zoneNode(name string, p Name, ent bool) Result {
	name = strings.TrimSuffix(name, ".")
	switch {
	case equalFold(name, c.zone):
		return NoData
	case p.Namespace != "" || len(name) > 3 && equalFold(name[:4], "pod."):
		return c.podNode(p.Namespace)
	case ent:
		return NoData
	}
	return NXDomain
}

// podNode tells whether "<ns>.pod.<zone>" (or "pod.<zone>" for ns "")
// exists: RFC 8020 §2 lets a name answer NXDOMAIN only when nothing
// exists below it, so these names are NODATA exactly when some pod name
// under them answers. CoreDNS differs; see the package documentation.
func (c *Catalog) podNode(ns string) Result {
	switch c.opts.PodRecords {
	case PodsInsecure:
		if ns == "" || IsDNS1123Label(ns) == nil {
			return NoData
		}
	case PodsVerified:
		c.mu.RLock()
		ok := ns == "" && len(c.podAddrs) > 0 || ns != "" && len(c.podAddrs[ns]) > 0
		c.mu.RUnlock()
		if ok {
			return NoData
		}
	}
	return NXDomain
}

// pod answers "<dashed address>.<ns>.pod.<zone>" in the catalog's mode.
func (c *Catalog) pod(name string, p Name, qtype Type) (Answer, Result) {
	switch c.opts.PodRecords {
	case PodsInsecure:
		if IsDNS1123Label(p.Namespace) != nil {
			return Answer{}, NXDomain
		}
	case PodsVerified:
		c.mu.RLock()
		ok := c.podAddrs[p.Namespace][p.Addr] > 0
		c.mu.RUnlock()
		if !ok {
			return Answer{}, NXDomain
		}
	default:
		return Answer{}, NXDomain
	}
	r := Record{Type: addrType(p.Addr), Addr: p.Addr}
	if qtype != r.Type && qtype != TypeANY {
		return Answer{}, NoData
	}
	r.Name = strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	r.TTL = c.ttl
	return Answer{Records: []Record{r}}, Success
}
