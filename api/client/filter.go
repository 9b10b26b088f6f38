package client

import (
	"net/url"
	"time"

	"github.com/fjaledger/fja/verify/recount"
)

// Filter selects the records of GET /v1/query and the decisions of GET
// /v1/stats (DESIGN.md §6): every field set must match, an empty one
// matches everything. From and To bound logged_at (RFC 3339, To
// exclusive).
type Filter struct {
	Kind, Operator, Model, Action, Category, Rule, Flag, Jurisdiction string
	// ContestStatus is open, resolved, overdue or none.
	ContestStatus string
	From, To      string
}

// Values are the fields set, as query parameters.
func (f *Filter) Values() url.Values {
	v := url.Values{}
	for _, p := range [...]struct{ name, val string }{
		{"kind", f.Kind}, {"operator", f.Operator}, {"model", f.Model}, {"action", f.Action}, {"category", f.Category},
		{"rule", f.Rule}, {"flag", f.Flag}, {"jurisdiction", f.Jurisdiction}, {"contest_status", f.ContestStatus},
		{"from", f.From}, {"to", f.To},
	} {
		if p.val != "" {
			v.Set(p.name, p.val)
		}
	}
	return v
}

// Recount is the filter as verify/recount applies it (From and To parsed;
// an unparsable one is unbounded: check the filter first, as the server
// does, with package api/params).
func (f *Filter) Recount() recount.Filter {
	from, _ := time.Parse(time.RFC3339Nano, f.From)
	to, _ := time.Parse(time.RFC3339Nano, f.To)
	return recount.Filter{Kind: f.Kind, Operator: f.Operator, Model: f.Model, Action: f.Action, Category: f.Category,
		Rule: f.Rule, Flag: f.Flag, Jurisdiction: f.Jurisdiction, ContestStatus: f.ContestStatus, From: from, To: to}
}
