package client

import (
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/fjaledger/fja/api/params"
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

// QueryParams are the filter, with the paging parameters page (limit,
// cursor; may be nil), as GET /v1/query parameters, checked as the server
// checks them (params.ParseQuery): a typo is refused, with a *params.Error
// naming the parameter, before any request is sent.
func (f *Filter) QueryParams(page url.Values) (url.Values, error) {
	v := f.Values()
	maps.Copy(v, page)
	if _, err := params.ParseQuery(v); err != nil {
		return nil, err
	}
	return v, nil
}

// StatsParams are the filter and the groupBy fields as GET /v1/stats
// parameters, checked as the server checks them (params.ParseStats; a
// *params.Error names the parameter refused).
func (f *Filter) StatsParams(groupBy []string) (url.Values, error) {
	v := f.Values()
	if len(groupBy) > 0 {
		v.Set("group_by", strings.Join(groupBy, ","))
	}
	if _, err := params.ParseStats(v); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseGroupBy parses a comma-separated list of stats fields as a person
// writes it (spaces around a field are dropped) and checks it as GET
// /v1/stats checks group_by for records of kind (with kind access, the
// fields of access statistics; a *params.Error if refused). It returns
// the fields in order; "" groups by nothing.
func ParseGroupBy(kind, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, ",")
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	f := Filter{Kind: kind}
	if _, err := f.StatsParams(fields); err != nil {
		return nil, err
	}
	return fields, nil
}
