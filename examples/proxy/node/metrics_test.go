package node

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsHandler(t *testing.T) {
	m := NewMetrics()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	if code, _ := get("/healthz"); code != 503 {
		t.Errorf("/healthz before a sync = %d; want 503", code)
	}
	m.SetHealthy(true)
	m.Services.Set(3)
	m.DNSQueries.WithLabelValues(string(ResultNXDomain)).Inc()
	m.SyncDuration.Observe(0.01)
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q; want 200 ok", code, body)
	}
	_, body := get("/metrics")
	for _, want := range []string{"svcnet_services 3", `svcnet_dns_queries_total{result="NXDOMAIN"} 1`, "svcnet_sync_duration_seconds_count 1", "svcnet_sync_errors_total 0", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
