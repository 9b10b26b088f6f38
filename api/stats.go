package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
)

// Scanned is the index range [from, to) an answer covers.
type Scanned struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// StatsAnswer is the body of GET /v1/stats.
type StatsAnswer struct {
	Groups     []audit.Group `json:"groups"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    Scanned       `json:"scanned"`
}

func (s *Server) getStats(c echo.Context) error {
	if !s.cfg.PublicStats {
		if _, err := s.roleOf(c, auth.Regulator); err != nil {
			return err
		}
	}
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	if k := c.QueryParam("kind"); k != "" && k != string(audit.KindDecision) {
		return badRequest(fmt.Sprintf("kind is %q; statistics count decisions (kind=decision)", truncate(k, 40)))
	}
	var groupBy []string
	if g := c.QueryParam("group_by"); g != "" {
		groupBy = strings.Split(g, ",")
	}
	res, err := s.cfg.Book.Stats(c.Request().Context(), f, groupBy)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, StatsAnswer{Groups: res.Groups, Checkpoint: string(res.Head.Checkpoint), Scanned: Scanned{From: res.From, To: res.To}})
}

// parseFilter reads the filter parameters of DESIGN.md §6.
func parseFilter(c echo.Context) (audit.Filter, error) {
	q := c.QueryParams()
	f := audit.Filter{Operator: q.Get("operator"), Model: q.Get("model"), Action: q.Get("action"), Category: q.Get("category"),
		Rule: q.Get("rule"), Flag: q.Get("flag"), Jurisdiction: q.Get("jurisdiction"), ContestStatus: q.Get("contest_status")}
	switch f.ContestStatus {
	case "", "open", "resolved", "overdue", "none":
	default:
		return f, badRequest(fmt.Sprintf("contest_status is %q, want open, resolved, overdue or none", truncate(f.ContestStatus, 40)))
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, badRequest(fmt.Sprintf("%s is %q, want an RFC 3339 time", p.name, truncate(v, 40)))
			}
			*p.t = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, badRequest("to is before from")
	}
	return f, nil
}
