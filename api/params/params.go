// Package params defines the parameters of GET /v1/query and GET /v1/stats
// (DESIGN.md §6): their names, their enumerations, the cursor format and
// how each value is checked. The server checks every request with it
// before reading an index, and ledgerctl checks its flags with it before
// sending, so both refuse the same mistakes with the same words.
//
// Contracts:
//   - A request naming a parameter the route does not take, naming one
//     twice, or giving a value no record can hold (an unknown enumeration
//     value, a malformed time, cursor or limit, a jurisdiction that is not
//     an ISO 3166 code, an identifier with characters identifiers never
//     have) is refused with an *Error naming the parameter: a typo never
//     widens nor empties an answer silently.
//   - The package is pure (no I/O, no server dependencies), so that a
//     client can import it.
package params

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of a request.
const (
	// DefaultLimit is the page size of a query without limit.
	DefaultLimit = 100
	// MaxLimit is the largest limit of a query.
	MaxLimit = 1000
	// MaxPrivateLimit is the largest limit of a query with private=true
	// (each record read is named in one access record).
	MaxPrivateLimit = 250
	// MaxGroupBy is the most fields one stats request groups by.
	MaxGroupBy = 3
	// MaxValue is the longest filter value, in bytes.
	MaxValue = 256
)

// Parameter names.
var (
	// Filter are the parameters that select records, taken by both routes.
	Filter = []string{"kind", "operator", "model", "action", "category", "rule", "flag", "jurisdiction", "contest_status", "from", "to"}
	// Query are the parameters of GET /v1/query.
	Query = append(slices.Clip(Filter), "limit", "cursor", "private")
	// Stats are the parameters of GET /v1/stats.
	Stats = append(slices.Clip(Filter), "group_by")
	// Rules are the parameters of GET /v1/rules: the decision filters but
	// action and contest_status (a refusal rate among refusals means
	// nothing; a contest status depends on the clock, the figures do not),
	// plus locale, constitution ("id@version") and min_n.
	Rules = []string{"constitution", "rule", "category", "flag", "jurisdiction", "locale", "operator", "model", "from", "to", "min_n"}
)

// Bounds of min_n (GET /v1/rules).
const (
	DefaultMinN = 20
	MaxMinN     = 1000000
)

// Enumerations.
var (
	// Kinds are the record kinds a query selects with kind.
	Kinds = []string{"decision", "constitution", "contest", "resolution", "access", "challenge", "challenge_response", "amendment"}
	// StatsKinds are the kinds statistics count: decisions, or reads of
	// private content (access).
	StatsKinds = []string{"decision", "access"}
	// Actions are the outcome actions of a decision.
	Actions = []string{"answered", "refused", "modified", "escalated"}
	// ContestStatuses are the contest states of a decision.
	ContestStatuses = []string{"open", "resolved", "overdue", "none"}
	// GroupFields are the group_by fields of decision statistics.
	GroupFields = []string{"outcome", "category", "rule", "flag", "jurisdiction", "model", "operator"}
	// AccessGroupFields are the group_by fields of access statistics
	// (kind=access).
	AccessGroupFields = []string{"actor", "route", "purpose"}
)

var (
	// jurisdiction is the schema's pattern of subject.jurisdiction.
	jurisdiction = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	// id is the schema's pattern of an identifier (category, rule_id,
	// provenance flag code).
	id = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// Error is a refused parameter. Message is a whole sentence that names
// the parameter, says what was found and what is wanted.
type Error struct {
	Param   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(param, format string, a ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, a...)}
}

// Request is a checked query or stats request. Empty strings and zero
// times are filters not given.
type Request struct {
	Kind, Operator, Model, Action, Category, Rule, Flag, Jurisdiction, ContestStatus string
	// From and To bound logged_at: [From, To).
	From, To time.Time
	// Limit (query) is the page size: DefaultLimit when not given.
	Limit int
	// Cursor (query) is where the page starts, from a next_cursor.
	Cursor uint64
	// Shard (query) is the frozen shard a cursor names (ShardCursor), 0
	// for the active shard's.
	Shard int
	// Private (query) asks for private content not yet erased.
	Private bool
	// GroupBy (stats) are the fields to group by, in order, each once.
	GroupBy []string
	// Locale, Constitution ("id@version") and MinN are GET /v1/rules's.
	Locale, Constitution string
	MinN                 int
}

var (
	// locale is the schema's pattern of subject.locale (BCP 47).
	locale = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)
	// constitutionRef is "id@version" as the schemas spell both.
	constitutionRef = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}@[A-Za-z0-9._:-]{1,64}$`)
)

// ParseRules checks the parameters of GET /v1/rules.
func ParseRules(v url.Values) (*Request, error) {
	r, err := parse(v, Rules, nil)
	if err != nil {
		return nil, err
	}
	r.Locale, r.Constitution, r.MinN = v.Get("locale"), v.Get("constitution"), DefaultMinN
	if r.Locale != "" && (len(r.Locale) > 64 || !locale.MatchString(r.Locale)) {
		return nil, errorf("locale", "locale is %q, want a BCP 47 language tag as records hold it: de-DE, sw-KE", clip(r.Locale))
	}
	if r.Constitution != "" && !constitutionRef.MatchString(r.Constitution) {
		return nil, errorf("constitution", "constitution is %q, want a constitution version as id@version: fja-default@2026.11", clip(r.Constitution))
	}
	if s := v.Get("min_n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxMinN {
			return nil, errorf("min_n", "min_n is %q, want a whole number 1..%d: the fewest decisions a jurisdiction or locale needs to enter a sensitivity ratio", clip(s), MaxMinN)
		}
		r.MinN = n
	}
	return r, nil
}

// ParseQuery checks the parameters of GET /v1/query.
func ParseQuery(v url.Values) (*Request, error) {
	r, err := parse(v, Query, Kinds)
	if err != nil {
		return nil, err
	}
	switch p := v.Get("private"); p {
	case "", "false":
	case "true":
		r.Private = true
	default:
		return nil, errorf("private", "private is %q, want true or false", clip(p))
	}
	maxLimit, why := MaxLimit, ""
	if r.Private {
		maxLimit, why = MaxPrivateLimit, " with private=true"
	}
	r.Limit = min(DefaultLimit, maxLimit)
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return nil, errorf("limit", "limit is %q, want a whole number 1..%d%s", clip(s), maxLimit, why)
		}
		r.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		if r.Shard, r.Cursor, err = ParseShardCursor(s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseStats checks the parameters of GET /v1/stats.
func ParseStats(v url.Values) (*Request, error) {
	r, err := parse(v, Stats, StatsKinds)
	if err != nil {
		return nil, err
	}
	g := v.Get("group_by")
	if _, ok := v["group_by"]; !ok || g == "" {
		return r, nil
	}
	fields := GroupFields
	if r.Kind == "access" {
		fields = AccessGroupFields
	}
	r.GroupBy = strings.Split(g, ",")
	if len(r.GroupBy) > MaxGroupBy {
		return nil, errorf("group_by", "group_by names %d fields, want at most %d of %s", len(r.GroupBy), MaxGroupBy, strings.Join(fields, ", "))
	}
	for i, f := range r.GroupBy {
		if !slices.Contains(fields, f) {
			return nil, errorf("group_by", "group_by field %q is not one of %s", clip(f), strings.Join(fields, ", "))
		}
		if slices.Contains(r.GroupBy[:i], f) {
			return nil, errorf("group_by", "group_by names %q more than once; name each field once", f)
		}
	}
	return r, nil
}

// ParseCursor reads a next_cursor: the decimal index where the next page
// starts, without sign or leading zeros.
func ParseCursor(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		return 0, errorf("cursor", "cursor is %q, want a next_cursor from an earlier answer: a decimal index 0..%d without sign or leading zeros", clip(s), uint64(1<<64-1))
	}
	return n, nil
}

// FormatCursor is the next_cursor of a page that continues at index.
func FormatCursor(index uint64) string { return strconv.FormatUint(index, 10) }

// ShardCursor is the next_cursor of a page of frozen shard n that
// continues at index of that shard: "s<n>-<index>" (DESIGN.md §4 shard).
func ShardCursor(n int, index uint64) string {
	return "s" + strconv.Itoa(n) + "-" + FormatCursor(index)
}

// ParseShardCursor reads a next_cursor of either form: a FormatCursor
// (shard 0, the active one) or a ShardCursor.
func ParseShardCursor(s string) (shard int, index uint64, err error) {
	rest, ok := strings.CutPrefix(s, "s")
	if !ok {
		index, err = ParseCursor(s)
		return 0, index, err
	}
	ns, is, ok := strings.Cut(rest, "-")
	n, nerr := strconv.Atoi(ns)
	if !ok || nerr != nil || n < 1 || strconv.Itoa(n) != ns {
		return 0, 0, errorf("cursor", "cursor is %q, want a next_cursor from an earlier answer: a decimal index, or s<shard>-<index> for a frozen shard's page", clip(s))
	}
	if index, err = ParseCursor(is); err != nil {
		return 0, 0, err
	}
	return n, index, nil
}

// parse checks the names against allowed (each given at most once) and
// the filter values; kinds are the kinds the route takes.
func parse(v url.Values, allowed, kinds []string) (*Request, error) {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names) // the same error for the same request
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			hint := ""
			if near := nearest(name, allowed); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", near)
			}
			return nil, errorf(clip(name), "unknown parameter %q%s; this route takes %s", clip(name), hint, strings.Join(allowed, ", "))
		}
		if n := len(v[name]); n > 1 {
			return nil, errorf(name, "%s is given %d times, want once", name, n)
		}
	}
	r := &Request{Kind: v.Get("kind"), Operator: v.Get("operator"), Model: v.Get("model"), Action: v.Get("action"),
		Category: v.Get("category"), Rule: v.Get("rule"), Flag: v.Get("flag"), Jurisdiction: v.Get("jurisdiction"),
		ContestStatus: v.Get("contest_status")}
	for _, f := range []struct {
		name, value string
		enum        []string
	}{{"kind", r.Kind, kinds}, {"action", r.Action, Actions}, {"contest_status", r.ContestStatus, ContestStatuses}} {
		if f.value != "" && !slices.Contains(f.enum, f.value) {
			return nil, errorf(f.name, "%s is %q, want %s", f.name, clip(f.value), oneOf(f.enum))
		}
	}
	for _, f := range []struct{ name, value string }{{"operator", r.Operator}, {"model", r.Model}} {
		if len(f.value) > MaxValue {
			return nil, errorf(f.name, "%s is %d bytes long, want at most %d", f.name, len(f.value), MaxValue)
		}
	}
	for _, f := range []struct{ name, value string }{{"category", r.Category}, {"rule", r.Rule}, {"flag", r.Flag}} {
		if f.value != "" && !id.MatchString(f.value) {
			return nil, errorf(f.name, "%s is %q, want an identifier as records hold it: 1 to 128 letters, digits, '.', '_', ':' or '-'", f.name, clip(f.value))
		}
	}
	if j := r.Jurisdiction; j != "" && !jurisdiction.MatchString(j) {
		return nil, errorf("jurisdiction", "jurisdiction is %q, want an ISO 3166 code as records hold it, in upper case: DE, or with a subdivision US-CA", clip(j))
	}
	for _, t := range []struct {
		name string
		t    *time.Time
	}{{"from", &r.From}, {"to", &r.To}} {
		s := v.Get(t.name)
		if s == "" {
			continue
		}
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, errorf(t.name, "%s is %q, want an RFC 3339 time such as 2026-11-01T00:00:00Z (on logged_at, the time the log recorded the entry)", t.name, clip(s))
		}
		*t.t = x
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
		return nil, errorf("to", "to (%s) is before from (%s), want to at or after from", v.Get("to"), v.Get("from"))
	}
	return r, nil
}

// oneOf lists an enumeration: "a, b or c".
func oneOf(enum []string) string {
	if len(enum) == 1 {
		return enum[0]
	}
	return strings.Join(enum[:len(enum)-1], ", ") + " or " + enum[len(enum)-1]
}

// nearest is the name in names at edit distance at most 2 from s, if one
// is: the parameter a typo most likely meant.
func nearest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := distance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b (bytes).
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// clip shortens what a client sent before it is quoted back.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "…"
}
