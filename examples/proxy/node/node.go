package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/endpoints"
)

// Programmer puts services into a network namespace's kernel rules.
type Programmer interface {
	// Sync makes the namespace's rules match services exactly.
	Sync(ctx context.Context, services []ServiceView) error
	// Cleanup removes every rule the programmer owns.
	Cleanup(ctx context.Context) error
}

// Options are a Proxy's collaborators. Zero fields mean: no logging
// (Log), a fresh Metrics (Metrics), the dataplane in Config.NetNS
// (Programmer).
type Options struct {
	Log        *slog.Logger
	Metrics    *Metrics
	Programmer Programmer
}

// Proxy is the reference node: manifests in, kernel rules and DNS answers
// out. Build it with New; Sync and Run may not be called concurrently.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	prog    Programmer
	allocs  *allocs
	zone    *Zone // safe for concurrent use on its own

	mu       sync.Mutex            // protects the fields below
	goodFile map[string]*Manifests // last error-free parse of each file
	goodSvc  map[string]Service    // last service version that allocated cleanly
	views    []ServiceView
	pods     []dnsname.Pod // of the last Build, for verified pod records
	problems []error
	dns      *DNSServer
}

// New reads the state file and builds the allocators. It does not touch
// the kernel.
func New(cfg Config, opts Options) (*Proxy, error) {
	cfg.setDefaults()
	n := &Proxy{cfg: cfg, log: opts.Log, metrics: opts.Metrics, prog: opts.Programmer,
		goodFile: map[string]*Manifests{}, goodSvc: map[string]Service{}, zone: NewZone(cfg.Zone, recordTTL, cfg.PodRecords)}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.metrics == nil {
		n.metrics = NewMetrics()
	}
	st := &State{}
	if cfg.StateFile != "" && !cfg.DryRun {
		var err error
		if st, err = ReadState(cfg.StateFile); err != nil {
			return nil, err
		}
	} else if cfg.StateFile != "" {
		st, _ = ReadState(cfg.StateFile) // a dry run shows what a restart would keep, if it can
	}
	var err error
	if n.allocs, err = newAllocs(&n.cfg, st); err != nil {
		return nil, err
	}
	return n, nil
}

// Metrics returns the node's metrics.
func (n *Proxy) Metrics() *Metrics { return n.metrics }

// Services returns the services in effect after the last sync, sorted by
// namespace and name.
func (n *Proxy) Services() []ServiceView {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.views
}

// Problems returns what the last sync rejected: *ManifestError values,
// each of which left a previous good version in effect.
func (n *Proxy) Problems() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.problems
}

// Zone returns the DNS zone the proxy serves; it follows every sync.
func (n *Proxy) Zone() *Zone { return n.zone }

// Build loads the manifests and resolves every service without touching
// the kernel or the state file. It returns the problems it found; each
// left the previous good version of its file or service in effect.
func (n *Proxy) Build() ([]ServiceView, []error, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	names, err := manifestFiles(n.cfg.Manifests)
	if err != nil {
		return nil, nil, err
	}
	var problems []error
	all := &Manifests{}
	good := map[string]*Manifests{}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(n.cfg.Manifests, name))
		if err != nil {
			return nil, nil, fmt.Errorf("manifests %q: %w", n.cfg.Manifests, err)
		}
		m := LoadManifest(name, data)
		if len(m.Errors) > 0 {
			problems = append(problems, m.Errors...)
			prev, ok := n.goodFile[name]
			if !ok {
				// Never good: keep what parsed, as a first start has nothing better.
				m = &Manifests{Services: m.Services, Pods: m.Pods, Slices: m.Slices, Nodes: m.Nodes}
			} else {
				n.log.Warn("manifest invalid, keeping its last good version", "file", name, "errors", len(m.Errors))
				m = prev
			}
		}
		good[name] = m
		all.Services = append(all.Services, m.Services...)
		all.Pods = append(all.Pods, m.Pods...)
		all.Slices = append(all.Slices, m.Slices...)
		all.Nodes = append(all.Nodes, m.Nodes...)
	}
	all.checkDuplicates()
	problems = append(problems, all.Errors...)
	n.goodFile = good
	n.pods = dnsPods(all.Pods)
	views, svcProblems := n.resolve(all)
	problems = append(problems, svcProblems...)
	return views, problems, nil
}

func (n *Proxy) resolve(m *Manifests) ([]ServiceView, []error) {
	var problems []error
	zones := map[string]string{}
	for i := range m.Nodes {
		zones[m.Nodes[i].Metadata.Name] = m.Nodes[i].Zone()
	}
	workloads := make([]endpoints.Workload, 0, len(m.Pods))
	for i := range m.Pods {
		p := &m.Pods[i]
		if len(p.IPs()) == 0 {
			// Kubernetes leaves such a pod out of every endpoint set; say
			// so, since a hand-written manifest often forgets the status.
			n.log.Info("pod has no status.podIP (or podIPs): it yields no endpoint", "pod", p.Metadata.Namespace+"/"+p.Metadata.Name, "file", p.Source.File)
		}
		workloads = append(workloads, toWorkload(p, zones))
	}
	slices := map[string][]*EndpointSlice{}
	for i := range m.Slices {
		s := &m.Slices[i]
		k := s.Metadata.Namespace + "/" + s.ServiceName()
		slices[k] = append(slices[k], s)
	}
	// Allocate in manifest order, so that of two services asking for one
	// value the first written gets it, as the first created does in
	// Kubernetes; a value already held from an earlier sync stays put.
	sort.SliceStable(m.Services, func(i, j int) bool {
		a, b := m.Services[i].Source, m.Services[j].Source
		return a.File < b.File || a.File == b.File && a.Doc < b.Doc
	})
	// Deleted services give their values back first, so that a service
	// written in the same change can take them.
	seen := map[string]bool{}
	for i := range m.Services {
		seen[m.Services[i].Metadata.Namespace+"/"+m.Services[i].Metadata.Name] = true
	}
	for _, k := range n.allocs.heldKeys() {
		if !seen[k] {
			n.allocs.release(k)
			delete(n.goodSvc, k)
		}
	}
	// Index the selectors once, then hand each service only the workloads
	// that it selects: the cost follows the matches, not services × pods.
	index := endpoints.NewServiceIndex()
	for i := range m.Services {
		s := &m.Services[i]
		es := endpoints.Service{Namespace: s.Metadata.Namespace, Name: s.Metadata.Name, Selector: s.Spec.Selector}
		index.Set(&es)
	}
	selected := map[endpoints.Ref][]endpoints.Workload{}
	var refs []endpoints.Ref
	for i := range workloads {
		refs = index.AppendSelecting(refs[:0], &workloads[i])
		for _, r := range refs {
			selected[r] = append(selected[r], workloads[i])
		}
	}
	var views []ServiceView
	for i := range m.Services {
		s := m.Services[i]
		key := s.Metadata.Namespace + "/" + s.Metadata.Name
		as, err := n.allocs.assign(&s)
		if err != nil {
			problems = append(problems, withSource(s.Source, fmt.Errorf("service %s: %w", key, err)))
			prev, ok := n.goodSvc[key]
			if !ok {
				continue // never allocated: the service does not exist yet
			}
			s = prev
			as = n.allocs.held[key]
		}
		n.goodSvc[key] = s
		var groups []endpoints.Group
		if len(s.Spec.Selector) > 0 {
			es := toEndpointsService(&s, as)
			candidates := selected[endpoints.Ref{Namespace: es.Namespace, Name: es.Name}]
			if !maps.Equal(s.Spec.Selector, m.Services[i].Spec.Selector) {
				candidates = workloads // the last good version selects differently from the index
			}
			groups = endpoints.Desired(&es, candidates)
		} else {
			groups = sliceGroups(slices[key])
		}
		views = append(views, view(&s, as, groups))
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Key() < views[j].Key() })
	return views, problems
}

// Sync loads the manifests, allocates, computes endpoints, programs the
// dataplane, swaps the DNS zone and writes the state file. Manifest and
// per-service problems are logged and counted, not returned: the
// previous good state serves. The error is for a failure to program or
// to persist.
func (n *Proxy) Sync(ctx context.Context) error {
	start := time.Now()
	views, problems, err := n.Build()
	if err != nil {
		n.metrics.SyncErrors.Inc()
		return err
	}
	for _, p := range problems {
		n.log.Error("manifest rejected", "err", p)
	}
	n.metrics.ManifestErrors.Set(float64(len(problems)))
	if n.prog != nil {
		if err := n.prog.Sync(ctx, views); err != nil {
			n.metrics.SyncErrors.Inc()
			n.metrics.SetHealthy(false)
			return fmt.Errorf("dataplane sync: %w", err)
		}
	}
	n.mu.Lock()
	pods := n.pods
	n.mu.Unlock()
	for _, err := range n.zone.Update(views, pods) {
		n.log.Error("dns records rejected", "err", err)
	}
	n.mu.Lock()
	n.views, n.problems = views, problems
	st := n.allocs.state()
	n.mu.Unlock()
	if n.cfg.StateFile != "" {
		if err := WriteState(n.cfg.StateFile, st); err != nil {
			n.metrics.SyncErrors.Inc()
			return err
		}
	}
	eps := 0
	for i := range views {
		for _, g := range views[i].Groups {
			eps += len(g.Endpoints)
		}
	}
	n.metrics.Services.Set(float64(len(views)))
	n.metrics.Endpoints.Set(float64(eps))
	n.metrics.SyncDuration.Observe(time.Since(start).Seconds())
	n.metrics.SetHealthy(true)
	n.log.Info("synced", "services", len(views), "endpoints", eps, "problems", len(problems), "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// Run syncs, then serves DNS and metrics and re-syncs on every manifest
// change until ctx is done. A failed sync is retried on the next change
// and every few seconds; the last good rules keep serving meanwhile.
func (n *Proxy) Run(ctx context.Context) error {
	// Everything that can fail opens before any goroutine starts, so that
	// a failure returns with nothing left running.
	var ml net.Listener
	if n.cfg.MetricsListen != "" {
		var err error
		if ml, err = net.Listen("tcp", n.cfg.MetricsListen); err != nil {
			return fmt.Errorf("metrics listen %q: %w", n.cfg.MetricsListen, err)
		}
	}
	d, err := n.openDNS()
	if err != nil {
		if ml != nil {
			ml.Close()
		}
		return err
	}
	w := &Watcher{Dir: n.cfg.Manifests}
	w.Prime()
	if err := n.Sync(ctx); err != nil {
		n.log.Error("sync", "err", err)
	}
	g, ctx := errgroup.WithContext(ctx)
	if d != nil {
		g.Go(func() error { return d.Serve(ctx) })
	}
	if ml != nil {
		serveMetrics(ctx, g, ml, n.metrics.Handler())
	}
	changes := make(chan struct{}, 1)
	g.Go(func() error {
		w.Run(ctx, func() {
			select {
			case changes <- struct{}{}:
			default:
			}
		})
		return nil
	})
	g.Go(func() error { return n.syncLoop(ctx, changes) })
	return g.Wait()
}

// openDNS opens the DNS server in the target namespace, when configured,
// and records it under n.mu (DNSAddr reads it from other goroutines).
func (n *Proxy) openDNS() (*DNSServer, error) {
	if n.cfg.DNSListen == "" {
		return nil, nil
	}
	ns, err := OpenNetNS(n.cfg.NetNS)
	if err != nil {
		return nil, err
	}
	d, err := ListenDNS(ns, n.cfg.DNSListen, n.metrics, n.log)
	ns.Close()
	if err != nil {
		return nil, err
	}
	d.SetZone(n.zone)
	n.mu.Lock()
	n.dns = d
	n.mu.Unlock()
	n.log.Info("dns listening", "addr", d.Addr(), "netns", n.cfg.NetNS, "zone", n.cfg.Zone)
	return d, nil
}

func serveMetrics(ctx context.Context, g *errgroup.Group, l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		return srv.Close()
	})
}

// syncLoop syncs on every change, and every few seconds while unhealthy.
func (n *Proxy) syncLoop(ctx context.Context, changes <-chan struct{}) error {
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
		case <-retry.C:
			if !n.needsRetry() {
				continue
			}
		}
		if err := n.Sync(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("sync", "err", err)
		}
	}
}

func (n *Proxy) needsRetry() bool {
	return !n.metrics.healthy.Load()
}

// DNSAddr is the DNS server's address once Run has opened it.
func (n *Proxy) DNSAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dns == nil {
		return ""
	}
	return n.dns.Addr()
}

// String returns the zone's records in presentation format, sorted.
func (z *Zone) String() string {
	var b []byte
	for _, rr := range z.Records() {
		b = append(b, rr.String()...)
		b = append(b, '\n')
	}
	return string(b)
}

var _ dns.Handler = (*DNSServer)(nil)
