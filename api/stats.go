package api

import (
	"fmt"
	"net/http"
	"slices"
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

// getStats counts decisions (or, with kind=access, reads of private
// content) over the window. Every parameter is checked before any index
// is read: group_by names at most audit.MaxGroupBy fields, each once; an
// answer of more than audit.MaxGroups groups is refused (422
// too_many_groups), never truncated.
func (s *Server) getStats(c echo.Context) error {
	if !s.cfg.PublicStats {
		if _, err := s.roleOf(c, auth.Regulator); err != nil {
			return err
		}
	}
	if err := checkParams(c, statsParams); err != nil {
		return err
	}
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	kind := c.QueryParam("kind")
	fields := audit.GroupFields
	switch audit.Kind(kind) {
	case "", audit.KindDecision:
	case audit.KindAccess:
		fields = audit.AccessGroupFields
	default:
		return fieldError("kind", fmt.Sprintf("kind is %q; statistics count decisions (kind=decision) or reads of private content (kind=access)", truncate(kind, 40)))
	}
	var groupBy []string
	if g := c.QueryParam("group_by"); g != "" {
		groupBy = strings.Split(g, ",")
		if len(groupBy) > audit.MaxGroupBy {
			return fieldError("group_by", fmt.Sprintf("group_by names %d fields, want at most %d of %s", len(groupBy), audit.MaxGroupBy, strings.Join(fields, ", ")))
		}
		for i, f := range groupBy {
			if !slices.Contains(fields, f) {
				return fieldError("group_by", fmt.Sprintf("group_by field %q is not one of %s", truncate(f, 40), strings.Join(fields, ", ")))
			}
			if slices.Contains(groupBy[:i], f) {
				return fieldError("group_by", fmt.Sprintf("group_by names %q more than once; name each field once", f))
			}
		}
	}
	var res *audit.StatsResult
	if audit.Kind(kind) == audit.KindAccess {
		res, err = s.cfg.Book.AccessStats(c.Request().Context(), f, groupBy)
	} else {
		res, err = s.cfg.Book.Stats(c.Request().Context(), f, groupBy)
	}
	if err != nil {
		return readError(err)
	}
	return c.JSON(http.StatusOK, StatsAnswer{Groups: res.Groups, Checkpoint: string(res.Head.Checkpoint), Scanned: Scanned{From: res.From, To: res.To}})
}

// parseFilter reads the filter parameters of DESIGN.md §6; a bad value is
// a 400 naming its parameter.
func parseFilter(c echo.Context) (audit.Filter, error) {
	q := c.QueryParams()
	f := audit.Filter{Operator: q.Get("operator"), Model: q.Get("model"), Action: q.Get("action"), Category: q.Get("category"),
		Rule: q.Get("rule"), Flag: q.Get("flag"), Jurisdiction: q.Get("jurisdiction"), ContestStatus: q.Get("contest_status")}
	switch f.ContestStatus {
	case "", "open", "resolved", "overdue", "none":
	default:
		return f, fieldError("contest_status", fmt.Sprintf("contest_status is %q, want open, resolved, overdue or none", truncate(f.ContestStatus, 40)))
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, fieldError(p.name, fmt.Sprintf("%s is %q, want an RFC 3339 time", p.name, truncate(v, 40)))
			}
			*p.t = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, fieldError("to", fmt.Sprintf("to (%s) is before from (%s)", q.Get("to"), q.Get("from")))
	}
	if err := f.Check(); err != nil {
		return f, readError(err)
	}
	return f, nil
}
