package proxy

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsserver"
)

// counters are what the proxy counts itself; the rest of its metrics are
// read from the control plane and the node agent at scrape time.
type counters struct {
	manifestErrors  atomic.Uint64 // files, documents or objects refused
	readErrors      atomic.Uint64 // loads that could not list the directory
	persistFailures atomic.Uint64 // state file writes that failed
	dnsAnswers      *prometheus.CounterVec
	kernelSyncs     *prometheus.HistogramVec
}

func newCounters() *counters {
	return &counters{
		dnsAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "svcnet", Name: "dns_answers_total", Help: "DNS queries answered, by outcome (NOERROR, NXDOMAIN, FORWARDED, ...).",
		}, []string{"outcome"}),
		kernelSyncs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "svcnet", Name: "kernel_sync_duration_seconds",
			Help:    "Time of each kernel batch, by kind: full (Sync, the whole table) or partial (Update, only changed services).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"kind"}),
	}
}

// timedDataplane observes every kernel batch in the kernel sync histogram;
// the embedded Dataplane gives the node agent its Watch and the rest.
type timedDataplane struct {
	*dataplane.Dataplane
	hist *prometheus.HistogramVec
}

func (d timedDataplane) Sync(ctx context.Context, svcs []dataplane.ServicePort) (dataplane.Stats, error) {
	defer d.observe("full", time.Now())
	return d.Dataplane.Sync(ctx, svcs)
}

func (d timedDataplane) Update(ctx context.Context, upsert []dataplane.ServicePort, remove []dataplane.Key) (dataplane.Stats, error) {
	defer d.observe("partial", time.Now())
	return d.Dataplane.Update(ctx, upsert, remove)
}

func (d timedDataplane) observe(kind string, start time.Time) {
	d.hist.WithLabelValues(kind).Observe(time.Since(start).Seconds())
}

func (c *counters) onAnswer(next func(dnsserver.Outcome)) func(dnsserver.Outcome) {
	return func(o dnsserver.Outcome) {
		c.dnsAnswers.WithLabelValues(o.String()).Inc()
		if next != nil {
			next(o)
		}
	}
}

var (
	descSyncs    = prometheus.NewDesc("svcnet_syncs_total", "Node agent syncs into the kernel and DNS, by kind: full (a whole-table replace) or partial (only changed services).", []string{"kind"}, nil)
	descFailed   = prometheus.NewDesc("svcnet_sync_failures_total", "Node agent syncs whose kernel batch failed (retried as a full sync).", nil, nil)
	descDuration = prometheus.NewDesc("svcnet_sync_duration_seconds", "Wall time of the last node agent sync.", nil, nil)
	descRefused  = prometheus.NewDesc("svcnet_refused_services", "Services left out of the last sync, with the rest served, by part: controlplane (allocation, admission) or node (validation, kernel).", []string{"part"}, nil)
	descRepairs  = prometheus.NewDesc("svcnet_kernel_repairs_total", "Outside damage to our nftables table (deleted, flushed, foreign rules) that was repaired.", nil, nil)
	descManErrs  = prometheus.NewDesc("svcnet_manifest_errors_total", "Manifest files, documents or objects refused, counted per load.", nil, nil)
	descReadErrs = prometheus.NewDesc("svcnet_manifest_read_errors_total", "Loads in which the manifests directory could not be listed (the last good manifests kept serving).", nil, nil)
	descPersist  = prometheus.NewDesc("svcnet_persist_failures_total", "Failed writes of the allocation state file (retried; allocations since the last success would be lost on restart).", nil, nil)
	descVersion  = prometheus.NewDesc("svcnet_state_version", "Version of the resolved state the node agent last synced.", nil, nil)
	descHealthy  = prometheus.NewDesc("svcnet_healthy", "1 when /healthz reports ok, else 0.", nil, nil)
)

// collector reads a Proxy's counters and health at scrape time.
type collector struct{ p *Proxy }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSyncs, descFailed, descDuration, descRefused, descRepairs, descManErrs, descReadErrs, descPersist, descVersion, descHealthy} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	p := c.p
	st := p.agentStats()
	h := p.Health()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descSyncs, float64(st.FullSyncs), "full")
	counter(descSyncs, float64(st.Syncs-st.FullSyncs), "partial")
	counter(descFailed, float64(st.FailedSyncs))
	gauge(descDuration, st.LastSyncDuration.Seconds())
	gauge(descRefused, float64(st.RefusedServices), "node")
	if h.ControlPlane != nil {
		gauge(descRefused, float64(len(h.ControlPlane.Refused)), "controlplane")
	}
	counter(descRepairs, float64(st.Repairs))
	counter(descManErrs, float64(p.counters.manifestErrors.Load()))
	counter(descReadErrs, float64(p.counters.readErrors.Load()))
	counter(descPersist, float64(p.counters.persistFailures.Load()))
	gauge(descVersion, float64(h.Agent.Version))
	ok, _ := h.OK()
	gauge(descHealthy, map[bool]float64{true: 1}[ok])
}

// newRegistry registers the proxy's metrics and the Go and process
// collectors on a private registry, so that an embedding program keeps
// its own.
func newRegistry(p *Proxy) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collector{p}, p.counters.dnsAnswers, p.counters.kernelSyncs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves /metrics and /healthz. /healthz answers 200 "ok" while
// the proxy is healthy and 503 with the reasons while it is not, followed
// by one line per service left out ("refused ns/name: why"), which alone
// does not make the proxy unhealthy since every other service is served.
func (p *Proxy) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{Registry: p.registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		h := p.Health()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, why := h.OK(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, why)
		} else {
			fmt.Fprintln(w, "ok")
		}
		writeRefused(w, h.Refused())
	})
	return mux
}
