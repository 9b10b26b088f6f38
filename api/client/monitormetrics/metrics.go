// Package monitormetrics exports the rounds of a third-party monitor
// (verify/monitor.Monitor.Follow) as Prometheus metrics, named
// fja_monitor_*, served at /metrics by Serve.
//
// Contracts:
//   - Observe counts one round: fja_monitor_rounds_total always,
//     round_errors_total when the round could not complete, and, for a
//     round with a result, the tree size, entries checked, overdue
//     contests and alarms by kind (violations, forks and rollbacks, and
//     every other alarm as a bad tile or proof).
//   - fja_monitor_last_success_timestamp_seconds moves only after a round
//     that completed with nothing wrong.
//   - A nil *Metrics observes nothing, so a monitor without --metrics
//     calls Observe all the same.
package monitormetrics

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjaledger/fja/verify/monitor"
)

// Metrics are a monitor's Prometheus metrics, in a registry of their own.
type Metrics struct {
	reg                         *prometheus.Registry
	treeSize, lastSuccess       prometheus.Gauge
	overdue                     prometheus.Gauge
	entries, violations, forks  prometheus.Counter
	tileAlarms, rounds, failing prometheus.Counter
}

// New returns the metrics, all zero.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Name: "fja_monitor_" + name, Help: help})
		m.reg.MustRegister(x)
		return x
	}
	c := func(name, help string) prometheus.Counter {
		x := prometheus.NewCounter(prometheus.CounterOpts{Name: "fja_monitor_" + name, Help: help})
		m.reg.MustRegister(x)
		return x
	}
	m.treeSize = g("tree_size", "Tree size of the latest checkpoint seen.")
	m.lastSuccess = g("last_success_timestamp_seconds", "Unix time of the last round that completed with nothing wrong.")
	m.overdue = g("overdue_contests", "Contests past due without a resolution.")
	m.entries = c("entries_checked_total", "Entries read and checked.")
	m.violations = c("violations_total", "Rule violations found.")
	m.forks = c("forks_total", "Forks and rollbacks found.")
	m.tileAlarms = c("bad_tiles_total", "Tiles or proofs that did not authenticate against a signed checkpoint.")
	m.rounds = c("rounds_total", "Rounds run.")
	m.failing = c("round_errors_total", "Rounds that could not complete (network, server errors).")
	return m
}

// Observe counts the outcome of a round (see monitor.Monitor.Follow); m
// may be nil.
func (m *Metrics) Observe(res *monitor.Result, err error) {
	if m == nil {
		return
	}
	m.rounds.Inc()
	if err != nil {
		m.failing.Inc()
	}
	if res == nil {
		return
	}
	m.treeSize.Set(float64(res.Size))
	m.entries.Add(float64(res.To - res.From))
	m.overdue.Set(float64(res.OverdueContests))
	for _, a := range res.Alarms {
		switch a.Kind {
		case monitor.KindViolation:
			m.violations.Inc()
		case monitor.KindFork, monitor.KindRollback:
			m.forks.Inc()
		default:
			m.tileAlarms.Inc()
		}
	}
	if err == nil && res.OK() {
		m.lastSuccess.Set(float64(time.Now().Unix()))
	}
}

// Serve serves the metrics at http://addr/metrics until close is called;
// it returns the address listened on (addr with its port resolved).
func (m *Metrics) Serve(addr string) (bound net.Addr, close func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr(), srv.Close, nil
}
