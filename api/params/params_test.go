package params

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	v, _ := url.ParseQuery("kind=decision&action=refused&jurisdiction=US-CA&rule=H-12&flag=western-sources&category=medical" +
		"&contest_status=open&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&limit=1000&cursor=42")
	r, err := ParseQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.RFC3339, "2026-11-01T00:00:00Z")
	if r.Kind != "decision" || r.Action != "refused" || r.Jurisdiction != "US-CA" || r.Limit != 1000 || r.Cursor != 42 || !r.From.Equal(from) {
		t.Errorf("ParseQuery = %+v", r)
	}
	if r, err := ParseQuery(url.Values{}); err != nil || r.Limit != DefaultLimit {
		t.Errorf("no parameters: %+v, %v; want limit %d", r, err, DefaultLimit)
	}
	if r, err := ParseQuery(url.Values{"private": {"true"}}); err != nil || r.Limit != min(DefaultLimit, MaxPrivateLimit) || !r.Private {
		t.Errorf("private=true: %+v, %v", r, err)
	}
}

func TestParseStats(t *testing.T) {
	r, err := ParseStats(url.Values{"group_by": {"rule,jurisdiction"}, "action": {"refused"}})
	if err != nil || !slices.Equal(r.GroupBy, []string{"rule", "jurisdiction"}) {
		t.Fatalf("ParseStats = %+v, %v", r, err)
	}
	if r, err := ParseStats(url.Values{"kind": {"access"}, "group_by": {"actor,purpose"}}); err != nil || len(r.GroupBy) != 2 {
		t.Fatalf("access stats: %+v, %v", r, err)
	}
}

// TestRefused: each refusal names its parameter in Param and in the
// message; an unknown parameter near a known one suggests it.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		stats       bool
		query       string
		param, want string
	}{
		{false, "jurisdction=DE", "jurisdction", "did you mean jurisdiction?"},
		{false, "actoin=refused", "actoin", "did you mean action?"},
		{false, "zzzzzzzz=1", "zzzzzzzz", "this route takes kind, operator"},
		{false, "action=refussed", "action", "want answered, refused, modified or escalated"},
		{false, "kind=decisions", "kind", "want decision, constitution, contest, resolution, access, challenge, challenge_response or amendment"},
		{false, "contest_status=closed", "contest_status", "want open, resolved, overdue or none"},
		{false, "limit=1001", "limit", "1..1000"},
		{false, "limit=251&private=true", "limit", "1..250 with private=true"},
		{false, "cursor=01", "cursor", "next_cursor"},
		{false, "cursor=18446744073709551616", "cursor", "next_cursor"},
		{false, "from=2026-11-01T00:00:00", "from", "RFC 3339"},
		{false, "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to", "before from"},
		{false, "jurisdiction=DEU", "jurisdiction", "ISO 3166"},
		{false, "rule=H%2F12", "rule", "identifier"},
		{false, "operator=" + strings.Repeat("o", MaxValue+1), "operator", "bytes long"},
		{false, "group_by=rule", "group_by", "unknown parameter"},
		{false, "flag=a&flag=b", "flag", "given 2 times"},
		{true, "kind=resolution", "kind", "want decision or access"},
		{true, "group_by=rule,", "group_by", `group_by field "" is not one of`},
		{true, "group_by=purpose", "group_by", "is not one of outcome"},
		{true, "limit=1", "limit", "unknown parameter"},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		parse := ParseQuery
		if tc.stats {
			parse = ParseStats
		}
		_, err = parse(v)
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != tc.param || !strings.Contains(pe.Message, tc.param) || !strings.Contains(pe.Message, tc.want) {
			t.Errorf("%s (stats %v): %v, want a refusal of %s saying %q", tc.query, tc.stats, err, tc.param, tc.want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, n := range []uint64{0, 1, 255, 1<<64 - 1} {
		if got, err := ParseCursor(FormatCursor(n)); err != nil || got != n {
			t.Errorf("ParseCursor(FormatCursor(%d)) = %d, %v", n, got, err)
		}
		if sh, got, err := ParseShardCursor(ShardCursor(3, n)); err != nil || sh != 3 || got != n {
			t.Errorf("ParseShardCursor(ShardCursor(3, %d)) = %d, %d, %v", n, sh, got, err)
		}
		if sh, got, err := ParseShardCursor(FormatCursor(n)); err != nil || sh != 0 || got != n {
			t.Errorf("ParseShardCursor(FormatCursor(%d)) = %d, %d, %v", n, sh, got, err)
		}
	}
	for _, bad := range []string{"s", "s-1", "s0-1", "s01-1", "s1-", "s1-01", "s1--1", "s+1-1", "x1-1"} {
		if _, _, err := ParseShardCursor(bad); err == nil {
			t.Errorf("ParseShardCursor(%q) accepted", bad)
		}
	}
}
