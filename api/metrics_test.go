package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestMetrics: the operator scrapes the log's totals and the requests by
// route pattern; nobody else may.
func TestMetrics(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json"))
	s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json")) // a duplicate
	s.do("GET", "/v1/entries/999", "", nil)                                           // a 404
	code, b := s.do("GET", "/metrics", auth.Operator, nil)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	for _, want := range []string{
		"fja_tree_size 2", "fja_appended_total 2", "fja_duplicates_total 1", "fja_log_failed 0",
		`fja_http_requests_total{code="201",method="POST",route="/v1/decisions"} 1`,
		`fja_http_requests_total{code="200",method="POST",route="/v1/decisions"} 1`,
		`fja_http_requests_total{code="404",method="GET",route="/v1/entries/:index"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, _ := s.do("GET", "/metrics", auth.Producer, nil); code != 403 {
		t.Errorf("metrics for a producer: %d, want 403", code)
	}
	if code, _ := s.do("GET", "/metrics", "", nil); code != 401 {
		t.Errorf("metrics without a token: %d, want 401", code)
	}
}

// TestMetricsExtra: collectors of Config.Metrics (the publisher's lag) are
// served with the server's own.
func TestMetricsExtra(t *testing.T) {
	lag := prometheus.NewGauge(prometheus.GaugeOpts{Name: "fja_publish_lag_entries", Help: "test"})
	lag.Set(42)
	s := newServer(t, apitest.WithAPI(func(c *api.Config) { c.Metrics = []prometheus.Collector{lag} }))
	code, b := s.do("GET", "/metrics", auth.Operator, nil)
	if code != 200 || !strings.Contains(string(b), "\nfja_publish_lag_entries 42\n") || !strings.Contains(string(b), "\nfja_tree_size 0\n") {
		t.Fatalf("%d: metrics lack the extra collector's value or the log's:\n%s", code, b)
	}
}
