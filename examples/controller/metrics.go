package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/svcnet/svcnet/examples/controller/replica"
)

// handler serves /metrics and /healthz from the replica's Health, read at
// each scrape, on a private registry.
func handler(r *replica.Replica) http.Handler {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, f func(replica.Health) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "svcnet", Subsystem: "controller", Name: name, Help: help},
			func() float64 { return f(r.Health()) })
	}
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	reg.MustRegister(
		gauge("leader", "1 while this replica leads, 0 on a standby.", func(h replica.Health) float64 { return flag(h.Leader) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "svcnet", Subsystem: "controller", Name: "takeovers_total",
			Help: "Leaderships this replica took up."}, func() float64 { return float64(r.Health().Takeovers) }),
		gauge("read_error", "1 while the leader cannot read its manifests.", func(h replica.Health) float64 { return flag(h.Control.ReadErr != nil) }),
		gauge("persist_error", "1 while the leader cannot persist its allocations to etcd.", func(h replica.Health) float64 { return flag(h.Control.PersistErr != nil) }),
		gauge("publish_error", "1 while the leader cannot publish the resolved services to etcd.", func(h replica.Health) float64 { return flag(h.Control.PublishErr != nil) }),
		gauge("refused_services", "Services the leader's last resolve left out.", func(h replica.Health) float64 { return float64(len(h.Control.Refused)) }),
		gauge("repair_duplicates", "Published services the last repair found claiming values another holds.", func(h replica.Health) float64 { return float64(len(h.Repair.Duplicates)) }),
		gauge("repair_leaked", "Allocations the last repair found held but unpublished (freed after 3 passes).", func(h replica.Health) float64 { return float64(len(h.Repair.Leaked)) }),
		gauge("published_version", "Version of the last state the leader published.", func(h replica.Health) float64 { return float64(h.Control.Version) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := r.Health().OK()
		if !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(why + "\n"))
	})
	return mux
}
