package client_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/params"
)

// TestFilterParams: a filter becomes query and stats parameters only when
// the server would take them, and a refusal names the parameter.
func TestFilterParams(t *testing.T) {
	f := client.Filter{Kind: "decision", ContestStatus: "open", From: "2026-01-01T00:00:00Z"}
	v, err := f.QueryParams(url.Values{"limit": {"10"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "contest_status=open&from=2026-01-01T00%3A00%3A00Z&kind=decision&limit=10"; v.Encode() != want {
		t.Fatalf("query params %s, want %s", v.Encode(), want)
	}
	if v, err = f.StatsParams([]string{"rule", "jurisdiction"}); err != nil || v.Get("group_by") != "rule,jurisdiction" {
		t.Fatalf("stats params %v, %v", v, err)
	}
	var pe *params.Error
	for _, tc := range []struct {
		name  string
		err   func() error
		param string
	}{
		{"bad status", func() error { _, err := (&client.Filter{ContestStatus: "pending"}).QueryParams(nil); return err }, "contest_status"},
		{"bad limit", func() error { _, err := f.QueryParams(url.Values{"limit": {"0"}}); return err }, "limit"},
		{"bad time", func() error { _, err := (&client.Filter{To: "yesterday"}).StatsParams(nil); return err }, "to"},
		{"bad field", func() error { _, err := client.ParseGroupBy("", "rule, colour"); return err }, "group_by"},
		{"twice", func() error { _, err := client.ParseGroupBy("", "rule,rule"); return err }, "group_by"},
		{"access field for decisions", func() error { _, err := client.ParseGroupBy("decision", "actor"); return err }, "group_by"},
	} {
		if err := tc.err(); !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("%s: err %v, want a *params.Error for %s", tc.name, err, tc.param)
		}
	}
	fields, err := client.ParseGroupBy("access", " actor , purpose")
	if err != nil || !slices.Equal(fields, []string{"actor", "purpose"}) {
		t.Fatalf("ParseGroupBy(access): %q, %v", fields, err)
	}
	if fields, err := client.ParseGroupBy("", ""); fields != nil || err != nil {
		t.Fatalf("ParseGroupBy of nothing: %q, %v", fields, err)
	}
}
