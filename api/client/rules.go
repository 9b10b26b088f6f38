package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/recount"
)

// RulesFilter selects the decisions whose figures GET /v1/rules counts:
// Filter's decision fields but Kind, Action and ContestStatus (which the
// route does not take), the subject's Locale, the cited Constitution
// ("id@version"), and MinN, the fewest decisions a jurisdiction or locale
// needs to enter a sensitivity ratio (0: the server's default).
type RulesFilter struct {
	Filter
	Locale, Constitution string
	MinN                 int
}

// Values are the fields set, as GET /v1/rules parameters.
func (f *RulesFilter) Values() url.Values {
	v := f.Filter.Values()
	for name, val := range map[string]string{"locale": f.Locale, "constitution": f.Constitution} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if f.MinN != 0 {
		v.Set("min_n", strconv.Itoa(f.MinN))
	}
	return v
}

// Rules returns GET /v1/rules for f and the answer's bytes.
func (c *Client) Rules(ctx context.Context, f RulesFilter) (*record.RulesAnswer, []byte, error) {
	return get[record.RulesAnswer](ctx, c, "/v1/rules?"+f.Values().Encode(), nil)
}

// AuditRules asks GET /v1/rules for f, then recounts every figure from the
// log's public tiles (see recount.Auditor.Rules): the report names every
// rule, sensitivity group and version change whose counts or figures
// differ. The client MUST verify.
func (c *Client) AuditRules(ctx context.Context, f RulesFilter, cfg AuditConfig) (*Audit, error) {
	if !c.Verifies() {
		return nil, fmt.Errorf("client: an audit needs the pinned VerifierKey")
	}
	ans, _, err := c.Rules(ctx, f)
	if err != nil {
		return nil, err
	}
	cp, err := c.OpenCheckpoint(ans.Checkpoint)
	if err != nil {
		return nil, err
	}
	rf := recount.RulesFilter{Filter: f.Recount(), Locale: f.Locale, Constitution: f.Constitution}
	rep, err := c.auditor(ctx, cp, cfg).Rules(ctx, rf, ans)
	if err != nil {
		return nil, fmt.Errorf("recounting entries [0, %d) from the tiles: %w", cp.Size, err)
	}
	n := 0
	for _, k := range ans.Constitutions {
		n += len(k.Rules)
	}
	return &Audit{Checkpoint: cp, Report: rep, Answered: n}, nil
}
