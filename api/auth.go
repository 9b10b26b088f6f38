package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
)

const ctxTokenKey = "fja.token"

// bearer returns the bearer token of a request, if any.
func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok && strings.TrimSpace(tok) != ""
}

// authenticate resolves the bearer token, if one was sent; a token that
// was sent but is unknown is a 401.
func (s *Server) authenticate(c echo.Context) (*auth.Entry, error) {
	tok, ok := bearer(c)
	if !ok {
		return nil, nil
	}
	if s.cfg.Tokens != nil {
		if e, ok := s.cfg.Tokens.Authenticate(tok); ok {
			return &e, nil
		}
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
	return nil, errorf(http.StatusUnauthorized, "unauthorized", "the bearer token is not valid for this ledger")
}

// requireRole admits requests whose bearer token has one of roles: no
// token is 401, a token of another role is 403.
func (s *Server) requireRole(roles ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			e, err := s.authenticate(c)
			if err != nil {
				return err
			}
			if e == nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
				return errorf(http.StatusUnauthorized, "unauthorized", "this route needs a bearer token (Authorization: Bearer <token>)")
			}
			if !slices.Contains(roles, e.Role) {
				return errorf(http.StatusForbidden, "forbidden", "token "+e.Name+" has role "+string(e.Role)+"; this route needs "+rolesText(roles))
			}
			c.Set(ctxTokenKey, e)
			return next(c)
		}
	}
}

// tokenEntry is the authenticated token of a request that passed requireRole.
func tokenEntry(c echo.Context) *auth.Entry {
	e, _ := c.Get(ctxTokenKey).(*auth.Entry)
	return e
}

func rolesText(roles []auth.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
