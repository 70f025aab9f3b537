package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// Proxy is the reference node: a control plane reading a manifests
// directory (unless Config.Delivery brings resolved state from elsewhere)
// and a node agent programming the kernel and a DNS catalog in one
// network namespace, with a DNS server, metrics and a health endpoint.
// Build it with New and start it with Run. Its methods are safe for
// concurrent use; Run runs once at a time.
type Proxy struct {
	cfg      Config
	log      *slog.Logger
	counters *counters
	registry *prometheus.Registry
	catalog  *dnsname.Catalog

	// The control plane's side; all nil in node-only mode.
	cp     *controlplane.ControlPlane
	loader *manifests.Loader
	loads  manifests.Latest // the loader's Watch stores, src reads
	src    *manifestSource
	states resolved.Latest // the control plane publishes, rec reads

	rec      recorder // the node agent's delivery
	agent    atomic.Pointer[nodeagent.Agent]
	dnsAddr  atomic.Pointer[string]
	dnsReady atomic.Bool
}

// New builds a Proxy for cfg. With a control plane (no Config.Delivery)
// it restores the allocations from the state file, migrating one written
// by the proxy's earlier format, and loads the manifests once (for the
// node's zone); it touches neither the kernel nor any socket.
func New(cfg Config) (*Proxy, error) { return newProxy(cfg, true) }

func newProxy(cfg Config, persist bool) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, counters: newCounters(),
		catalog: dnsname.NewCatalog(dnsname.CatalogOptions{Zone: cfg.DNSZone, PodRecords: cfg.PodRecords})}
	p.registry = newRegistry(p)
	if cfg.Delivery != nil {
		p.rec.d = cfg.Delivery
		return p, nil
	}
	p.rec.d = &p.states
	if err := p.newControlPlane(persist); err != nil {
		return nil, err
	}
	return p, nil
}

// newControlPlane builds the allocator (restored from the state file),
// the manifests loader and the control plane.
func (p *Proxy) newControlPlane(persist bool) error {
	cfg := &p.cfg
	alloc, err := newAllocator(cfg)
	if err != nil {
		return err
	}
	var legacy map[string]legacyAssignment
	if cfg.StateFile != "-" {
		if legacy, err = readState(cfg.StateFile, alloc); err != nil {
			return err
		}
	}
	p.loader = manifests.NewLoader(cfg.Manifests)
	p.src = &manifestSource{latest: &p.loads, log: p.log, errs: &p.counters.manifestErrors, readErrs: &p.counters.readErrors}
	if cfg.PodRecords == dnsname.PodsVerified {
		p.src.pods = func(pods []dnsname.Pod) {
			if err := p.catalog.ReplacePods(pods); err != nil {
				p.log.Error("pod DNS records refused", "err", err)
			}
		}
	}
	set, _ := p.loader.Load() // the errors are reported by Run's first load
	if cfg.NodeZone == "" {
		cfg.NodeZone = set.Zones()[cfg.Node]
	}
	cpc := controlplane.Config{Allocator: alloc, ExternalIPs: cfg.Manifests.ExternalIPCIDRs}
	if persist && cfg.StateFile != "-" {
		cpc.Persist = p.persist
	}
	if p.cp, err = controlplane.New(cpc); err != nil {
		return err
	}
	if legacy != nil {
		_, err := p.cp.Resolve(migrateLegacy(legacy, source.Input(&set)))
		p.log.Info("state file of the earlier format migrated", "file", cfg.StateFile, "services", len(legacy), "refused", err)
	}
	return nil
}

func newAllocator(cfg *Config) (*allocator.Services, error) {
	sc := allocator.ServicesConfig{ClusterIPRanges: cfg.ServiceCIDRs, NodePortRange: cfg.NodePortRange, GracePeriod: cfg.GracePeriod}
	if len(cfg.LBPool) > 0 {
		lb, err := allocator.NewLBAllocator(allocator.Pool{Name: "default", Addresses: cfg.LBPool})
		if err != nil {
			return nil, fmt.Errorf("%w: load balancer pool: %w", ErrConfig, err)
		}
		sc.LoadBalancer = lb
	}
	a, err := allocator.NewServices(sc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return a, nil
}

// persist writes the allocations to the state file, counting failures.
func (p *Proxy) persist(snapshot []byte) error {
	err := writeState(p.cfg.StateFile, snapshot)
	if err != nil {
		p.counters.persistFailures.Add(1)
		p.log.Error("allocations not persisted; retrying", "err", err)
	}
	return err
}

// Resolve loads the manifests once and resolves them: the state Run would
// deliver to the node agent next. It returns the control plane's error for
// services it refused, beside a state holding every other one. It is for
// one-shot uses (a dry run, --once) and fails in node-only mode.
func (p *Proxy) Resolve() (*resolved.State, error) {
	if p.cp == nil {
		return nil, fmt.Errorf("%w: no control plane runs here (Config.Delivery is set)", ErrConfig)
	}
	set, errs := p.loader.Load()
	for _, e := range errs {
		if errors.Is(e, manifests.ErrDirectory) {
			return nil, e
		}
	}
	st, err := p.cp.Resolve(source.Input(&set))
	return st, errors.Join(append(errs, err)...)
}

// State returns the last resolved state handed to the node agent, or nil
// before the first. It may not be in the kernel yet: see Health.
func (p *Proxy) State() *resolved.State { return p.rec.last.Load() }

// Served returns the last state handed to the node agent once the kernel
// and DNS serve it, else nil: the agent has synced it, and the DNS server,
// if any, answers from the catalog (it turns ready a poll after the first
// sync; before, it answers SERVFAIL).
func (p *Proxy) Served() *resolved.State {
	st := p.State()
	h := p.Health()
	if st == nil || h.Agent.LastSync.IsZero() || h.Agent.Version < st.Version || h.DNS != nil {
		return nil
	}
	return st
}

// DNSAddr returns the DNS server's address once Run has opened it, else "".
func (p *Proxy) DNSAddr() string {
	if a := p.dnsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// Catalog returns the DNS catalog the node agent keeps and the DNS server
// answers from.
func (p *Proxy) Catalog() *dnsname.Catalog { return p.catalog }

func (p *Proxy) agentStats() nodeagent.Stats {
	if a := p.agent.Load(); a != nil {
		return a.Stats()
	}
	return nodeagent.Stats{}
}

// dataplaneOptions says where the rules go.
func (c *Config) dataplaneOptions() dataplane.Options {
	return dataplane.Options{NetNS: NetNSPath(c.NetNS), Table: c.Table,
		ClusterCIDRs: c.ClusterCIDRs, ServiceCIDRs: c.ServiceCIDRs, Logger: c.Logger}
}
