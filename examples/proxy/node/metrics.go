package node

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the node's Prometheus metrics on a private registry, so that
// embedding programs keep control of their own. Build with NewMetrics.
// Safe for concurrent use.
type Metrics struct {
	Registry       *prometheus.Registry
	SyncDuration   prometheus.Histogram
	SyncErrors     prometheus.Counter
	Services       prometheus.Gauge
	Endpoints      prometheus.Gauge
	ManifestErrors prometheus.Gauge
	DNSQueries     *prometheus.CounterVec // label "result": NOERROR, NODATA, NXDOMAIN, REFUSED, FORMERR, SERVFAIL
	healthy        atomic.Bool
}

// NewMetrics registers the node's metrics and the Go and process
// collectors on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "svcnet", Name: "sync_duration_seconds",
			Help:    "Time to load manifests, allocate, compute endpoints, program the dataplane and swap DNS.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		SyncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "svcnet", Name: "sync_errors_total", Help: "Syncs that failed to program the dataplane.",
		}),
		Services: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "svcnet", Name: "services", Help: "Services in effect after the last sync.",
		}),
		Endpoints: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "svcnet", Name: "endpoints", Help: "Endpoint addresses (per service port) in effect after the last sync.",
		}),
		ManifestErrors: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "svcnet", Name: "manifest_errors", Help: "Documents or services rejected by the last load.",
		}),
		DNSQueries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "svcnet", Name: "dns_queries_total", Help: "DNS queries answered, by result.",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(m.SyncDuration, m.SyncErrors, m.Services, m.Endpoints, m.ManifestErrors, m.DNSQueries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetHealthy sets what /healthz reports: healthy after a successful sync.
func (m *Metrics) SetHealthy(ok bool) { m.healthy.Store(ok) }

// Handler serves /metrics and /healthz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.healthy.Load() {
			http.Error(w, "not synced", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}
