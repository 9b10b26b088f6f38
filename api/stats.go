package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/params"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/record"
)

// Scanned is the index range [from, to) an answer covers.
type Scanned = record.Range

// StatsAnswer is the body of GET /v1/stats.
type StatsAnswer = record.StatsAnswer

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
	req, err := params.ParseStats(c.QueryParams())
	if err != nil {
		return paramError(err)
	}
	f, err := filterOf(req)
	if err != nil {
		return err
	}
	stats := func(b *audit.Book) (*audit.StatsResult, error) {
		if audit.Kind(req.Kind) == audit.KindAccess {
			return b.AccessStats(c.Request().Context(), f, req.GroupBy)
		}
		return b.Stats(c.Request().Context(), f, req.GroupBy)
	}
	res, err := stats(s.cfg.Book)
	if err != nil {
		return readError(err)
	}
	ans := StatsAnswer{Groups: res.Groups, Checkpoint: string(res.Head.Checkpoint), Scanned: Scanned{From: res.From, To: res.To}}
	all := [][]record.Group{res.Groups}
	for _, fz := range s.cfg.Frozen {
		if fz.Book == nil {
			continue
		}
		r, err := stats(fz.Book)
		if err != nil {
			return readError(err)
		}
		ans.Shards = append(ans.Shards, record.ShardAnswer{N: fz.N, Origin: fz.Origin, Checkpoint: string(r.Head.Checkpoint),
			Scanned: Scanned{From: r.From, To: r.To}, Groups: r.Groups})
		all = append(all, r.Groups)
	}
	if len(all) > 1 {
		ans.Groups = mergeGroups(all)
	}
	return c.JSON(http.StatusOK, ans)
}

// filterOf is the audit filter of a checked request; audit's own checks
// (Filter.Check) apply too, as a 400 naming the parameter.
func filterOf(r *params.Request) (audit.Filter, error) {
	f := audit.Filter{Operator: r.Operator, Model: r.Model, Action: r.Action, Category: r.Category, Rule: r.Rule,
		Flag: r.Flag, Jurisdiction: r.Jurisdiction, ContestStatus: r.ContestStatus, From: r.From, To: r.To}
	if err := f.Check(); err != nil {
		return f, readError(err)
	}
	return f, nil
}
