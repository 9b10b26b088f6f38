package api

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (no global state): the log's totals, read when scraped, and the HTTP
// requests by route and status.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// newMetrics makes the registry of log l's metrics, the HTTP metrics, the
// Go runtime's and process's, and extra (Config.Metrics).
func newMetrics(l *ledger.Log, extra ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fja_http_requests_total", Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fja_http_request_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.latency, logCollector{l},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registry.MustRegister(extra...)
	return m
}

// middleware counts every request under its route pattern (never the raw
// path, so that ids and tile paths do not explode the label set).
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		code := c.Response().Status
		if err != nil {
			e, _ := toError(err)
			code = e.Status
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(code)).Inc()
		m.latency.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// logCollector reads the log's totals when Prometheus scrapes.
type logCollector struct{ l *ledger.Log }

var (
	descTreeSize   = prometheus.NewDesc("fja_tree_size", "Entries in the log (size of the latest checkpoint).", nil, nil)
	descAppended   = prometheus.NewDesc("fja_appended_total", "Entries made durable since start.", nil, nil)
	descDuplicates = prometheus.NewDesc("fja_duplicates_total", "Appends answered with an earlier entry since start.", nil, nil)
	descPushbacks  = prometheus.NewDesc("fja_pushbacks_total", "Appends refused because the sequencer was full, since start.", nil, nil)
	descBatches    = prometheus.NewDesc("fja_commits_total", "Durable commits (batches) since start.", nil, nil)
	descCommitSecs = prometheus.NewDesc("fja_commit_seconds_total", "Time spent in durable commits since start.", nil, nil)
	descFailed     = prometheus.NewDesc("fja_log_failed", "1 once a commit failed and the log stopped taking appends.", nil, nil)
)

func (logCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTreeSize, descAppended, descDuplicates, descPushbacks, descBatches, descCommitSecs, descFailed} {
		ch <- d
	}
}

func (c logCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.l.Stats()
	failed := 0.0
	if st.Failed {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(descTreeSize, prometheus.GaugeValue, float64(c.l.Head().Size))
	ch <- prometheus.MustNewConstMetric(descAppended, prometheus.CounterValue, float64(st.Appended))
	ch <- prometheus.MustNewConstMetric(descDuplicates, prometheus.CounterValue, float64(st.Duplicates))
	ch <- prometheus.MustNewConstMetric(descPushbacks, prometheus.CounterValue, float64(st.Pushbacks))
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.CounterValue, float64(st.Batches))
	ch <- prometheus.MustNewConstMetric(descCommitSecs, prometheus.CounterValue, st.CommitSeconds)
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.GaugeValue, failed)
}

// getMetrics serves the metrics to the operator role.
func (s *Server) getMetrics(c echo.Context) error {
	if _, err := s.roleOf(c, auth.Operator); err != nil {
		return err
	}
	promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}

// registerTileCache exports the tile cache's hits, misses and size.
func (m *metrics) registerTileCache(c *tileCache) {
	if c == nil {
		return
	}
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_tile_cache_hits_total", Help: "Full tiles and entry bundles served from the cache."},
			func() float64 { return float64(c.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_tile_cache_misses_total", Help: "Full tiles and entry bundles read from the store (then cached)."},
			func() float64 { return float64(c.misses.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fja_tile_cache_bytes", Help: "Bytes held by the tile cache."},
			func() float64 { return float64(c.bytes()) }),
	)
}
