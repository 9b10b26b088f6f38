package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/params"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/calibration"
	"github.com/fjaledger/fja/verify/record"
)

// getRules answers GET /v1/rules (DESIGN.md §6): every rule of every
// logged constitution version with its history and its calibration
// figures over the window, the pluralistic sensitivity of every category,
// and the change in overturn rates between versions (record.RulesAnswer).
// Aggregates only: like GET /v1/stats it needs the regulator role unless
// the server runs with PublicStats. The answer names its checkpoint and
// scanned range, so that anyone recounts it from the tiles
// (verify/recount, ledgerctl audit-query --rules).
func (s *Server) getRules(c echo.Context) error {
	if !s.cfg.PublicStats {
		if _, err := s.roleOf(c, auth.Regulator); err != nil {
			return err
		}
	}
	req, err := params.ParseRules(c.QueryParams())
	if err != nil {
		return paramError(err)
	}
	f, err := filterOf(req)
	if err != nil {
		return err
	}
	res, err := s.cfg.Book.Rules(c.Request().Context(), audit.RulesFilter{Filter: f, Locale: req.Locale, Constitution: req.Constitution})
	if err != nil {
		return readError(err)
	}
	ans := calibration.Build(res.Records, res.Counts, req.MinN)
	ans.Checkpoint, ans.Scanned = string(res.Head.Checkpoint), record.Range{From: res.From, To: res.To}
	return c.JSON(http.StatusOK, ans)
}
