package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/params"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/recount"
)

// badQueries are mistyped or invalid query and stats requests a regulator
// might send; each must be a 400 bad_request naming the parameter, never
// an answer silently widened or emptied.
var badQueries = []struct{ path, param string }{
	{"/v1/query?jurisdction=DE", "jurisdction"},
	{"/v1/query?action=refussed", "action"},
	{"/v1/query?action=Refused", "action"},
	{"/v1/query?kind=decisions", "kind"},
	{"/v1/query?contest_status=closed", "contest_status"},
	{"/v1/query?contest-status=open", "contest-status"},
	{"/v1/query?limit=100000000", "limit"},
	{"/v1/query?limit=0", "limit"},
	{"/v1/query?limit=ten", "limit"},
	{"/v1/query?limit=500&private=true", "limit"},
	{"/v1/query?cursor=abc", "cursor"},
	{"/v1/query?cursor=-1", "cursor"},
	{"/v1/query?cursor=007", "cursor"},
	{"/v1/query?from=2026-11-01", "from"},
	{"/v1/query?to=yesterday", "to"},
	{"/v1/query?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"},
	{"/v1/query?jurisdiction=de", "jurisdiction"},
	{"/v1/query?jurisdiction=Germany", "jurisdiction"},
	{"/v1/query?rule=H%2012", "rule"},
	{"/v1/query?flag=western/sources", "flag"},
	{"/v1/query?category=medical%20advice", "category"},
	{"/v1/query?private=yes", "private"},
	{"/v1/query?action=refused&action=answered", "action"},
	{"/v1/query?group_by=rule", "group_by"},
	{"/v1/query?model=" + strings.Repeat("m", 257), "model"},
	{"/v1/stats?jurisdction=DE", "jurisdction"},
	{"/v1/stats?action=refussed", "action"},
	{"/v1/stats?group_by=rules", "group_by"},
	{"/v1/stats?group_by=rule,rule", "group_by"},
	{"/v1/stats?group_by=rule,flag,model,operator", "group_by"},
	{"/v1/stats?group_by=actor", "group_by"},
	{"/v1/stats?kind=access&group_by=rule", "group_by"},
	{"/v1/stats?kind=contest", "kind"},
	{"/v1/stats?limit=10", "limit"},
	{"/v1/stats?cursor=1", "cursor"},
	{"/v1/stats?contest_status=late", "contest_status"},
	{"/v1/stats?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"},
	{"/v1/stats?to=2026-13-01T00:00:00Z", "to"},
}

func TestBadQueryParameters(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	if code, b := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json")); code != http.StatusCreated {
		t.Fatalf("append: %d %s", code, b)
	}
	for _, tc := range badQueries {
		code, b := s.do("GET", tc.path, auth.Regulator, nil)
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Errorf("GET %s: %d %s: not a JSON error: %v", tc.path, code, b, err)
			continue
		}
		if code != http.StatusBadRequest || e.Error.Code != "bad_request" || e.Error.Field != tc.param || !strings.Contains(e.Error.Message, tc.param) {
			t.Errorf("GET %s: %d %s, want 400 bad_request with field %q and a message naming it", tc.path, code, b, tc.param)
		}
	}
	// The same requests, spelled right, answer.
	for _, p := range []string{"/v1/query?jurisdiction=DE&action=refused", "/v1/stats?group_by=rule,jurisdiction&action=refused", "/v1/query?cursor=0&limit=1000"} {
		if code, b := s.do("GET", p, auth.Regulator, nil); code != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", p, code, b)
		}
	}
	if len(badQueries) < 20 {
		t.Fatalf("%d bad requests; the table keeps at least 20", len(badQueries))
	}
}

// TestParamsAgreeWithAudit: package params, which ledgerctl also uses,
// holds the same limits and enumerations as the audit package that answers
// and the recount that checks an answer.
func TestParamsAgreeWithAudit(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"MaxLimit", params.MaxLimit, audit.MaxQueryLimit},
		{"MaxPrivateLimit", params.MaxPrivateLimit, audit.MaxAccessRecords},
		{"MaxGroupBy", params.MaxGroupBy, audit.MaxGroupBy},
		{"MaxGroupBy (recount)", params.MaxGroupBy, recount.MaxGroupBy},
		{"MaxValue", params.MaxValue, audit.MaxFilterValue},
	} {
		if c.got != c.want {
			t.Errorf("params.%s = %v, audit has %v", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"GroupFields", params.GroupFields, audit.GroupFields},
		{"GroupFields (recount)", params.GroupFields, recount.GroupFields},
		{"AccessGroupFields", params.AccessGroupFields, audit.AccessGroupFields},
		{"AccessGroupFields (recount)", params.AccessGroupFields, recount.AccessGroupFields},
		{"Kinds", params.Kinds, []string{string(audit.KindDecision), string(audit.KindConstitution), string(audit.KindContest), string(audit.KindResolution), string(audit.KindAccess),
			string(audit.KindChallenge), string(audit.KindChallengeResponse), string(audit.KindAmendment)}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("params.%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
