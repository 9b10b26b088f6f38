package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/otlp"
	"github.com/fjaledger/fja/audit"
)

// otlpRoutes registers the OTLP/HTTP ingest (package otlp): POST
// /otlp/v1/traces and /otlp/v1/logs, so that an exporter configured with
// OTEL_EXPORTER_OTLP_ENDPOINT=<ledger URL>/otlp sends here unchanged. Both
// take the producer role and the limits of the batch route (authentication
// first, per-token rate, body bounded by MaxBatchBodyBytes).
func (s *Server) otlpRoutes() error {
	in, err := otlp.New(otlp.Config{
		Append: s.cfg.Book.AppendDecision,
		Logged: func(id string) bool {
			_, err := s.cfg.Book.Get(audit.KindDecision, id)
			return err == nil
		},
		JoinWait:    s.cfg.OTLPJoinWait,
		MaxInflated: 2 * s.cfg.MaxBatchBodyBytes,
		Logger:      s.cfg.Logger,
	})
	if err != nil {
		return err
	}
	s.otlp = in
	stat := func(f func(otlp.Stats) int64) func() float64 {
		return func() float64 { return float64(f(in.Stats())) }
	}
	s.metrics.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_otlp_decisions_total", Help: "Decisions logged from OTLP guardrail spans since start (repeats included)."},
			stat(func(st otlp.Stats) int64 { return st.Logged })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_otlp_rejected_total", Help: "OTLP spans and log records rejected in partial_success since start."},
			stat(func(st otlp.Stats) int64 { return st.Rejected })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_otlp_incomplete_joins_total", Help: "Decisions logged after their join wait ran out (flagged otel.join.incomplete) since start."},
			stat(func(st otlp.Stats) int64 { return st.Late })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "fja_otlp_dropped_events_total", Help: "Evaluation and finding events that met no guardrail span within the join wait, since start."},
			stat(func(st otlp.Stats) int64 { return st.Dropped })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fja_otlp_pending_decisions", Help: "Decisions waiting for the events they expect."},
			stat(func(st otlp.Stats) int64 { return int64(st.Pending) })),
	)
	body := middleware.BodyLimit(fmt.Sprint(s.cfg.MaxBatchBodyBytes) + "B")
	producer := s.requireRole(auth.Producer)
	e := s.echo
	e.POST("/otlp/v1/traces", s.otlpHandler(in.Traces), s.limitToken, producer, body)
	e.POST("/otlp/v1/logs", s.otlpHandler(in.Logs), s.limitToken, producer, body)
	return nil
}

type otlpExport func(ctx context.Context, contentType, contentEncoding string, body []byte) otlp.Answer

func (s *Server) otlpHandler(export otlpExport) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, err := readBody(c)
		if err != nil {
			return err
		}
		h := c.Request().Header
		a := export(producerContext(c), h.Get("Content-Type"), h.Get("Content-Encoding"), raw)
		if a.Status >= http.StatusInternalServerError {
			s.cfg.Logger.Error("otlp export", "path", c.Path(), "status", a.Status)
		}
		return c.Blob(a.Status, a.ContentType, a.Body)
	}
}
