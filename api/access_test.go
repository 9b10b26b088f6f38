package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
)

// accessEntry opens a verified receipt's entry as an access record.
func accessEntry(t *testing.T, r *verify.Receipt) audit.Access {
	t.Helper()
	env, err := audit.ParseEnvelope(r.Entry)
	if err != nil || env.Kind != audit.KindAccess {
		t.Fatalf("access receipt entry is %v (%v), not an access record", env, err)
	}
	if err := audit.Validate("envelope.v1", r.Entry); err != nil {
		t.Fatalf("access record does not validate: %v", err)
	}
	var a audit.Access
	if err := json.Unmarshal(env.Body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAccessLogged: every read of private content is logged, before the
// content is answered, as an access record that verifies with its receipt
// against the log's key; without X-Access-Purpose nothing private is
// answered and nothing is logged; the person concerned sees who read; the
// regulator's reads are counted in access statistics; and the access
// indexes are rebuilt by Reindex.
func TestAccessLogged(t *testing.T) {
	s := newServer(t)
	check := openAPIValidator(t) // every answer below matches the OpenAPI document
	s.publishConstitution()
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, example(t, "decision-modified-private.json"))
	if code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	dec := s.receipt(b)
	const id = "dec-2026-11-27-000003"
	path := "/v1/decisions/" + id
	secret := "रिटायरमेंट"

	// no purpose: 400 naming the header, no content, nothing logged
	for _, hdr := range [][]string{nil, {"X-Access-Purpose", "   "}, {"X-Access-Purpose", strings.Repeat("p", 257)}, {"X-Access-Purpose", "a\tb"}} {
		before := s.Log.Head().Size
		code, b = s.Do("GET", path, auth.Regulator, nil, hdr...)
		e, err := parseErrorBody(b)
		if code != 400 || err != nil || e.Error.Field != "X-Access-Purpose" || bytes.Contains(b, []byte(secret)) {
			t.Fatalf("regulator read with %q: %d %s", hdr, code, b)
		}
		if s.Log.Head().Size != before {
			t.Fatalf("a refused read was logged (%q)", hdr)
		}
	}
	// the subject has seen no access yet
	code, b = s.Do("GET", path, "", nil, "X-Contest-Token", dec.ContestToken)
	if code != 200 || bytes.Contains(b, []byte(`"accesses"`)) || bytes.Contains(b, []byte(secret)) {
		t.Fatalf("subject read before any access: %d %s", code, b)
	}

	// with a purpose: logged first, then answered
	code, b = s.Do("GET", path, auth.Regulator, nil, "X-Access-Purpose", "case 2026-17 review")
	if code != 200 {
		t.Fatalf("regulator read: %d %s", code, b)
	}
	headAfter := s.Log.Head().Size
	check("DecisionView", b)
	v := decode[api.DecisionView](t, b)
	if !strings.Contains(v.Private["request"], secret) || v.AccessReceipt == nil {
		t.Fatalf("regulator read: private %v, access receipt %v", v.Private, v.AccessReceipt)
	}
	rb, _ := json.Marshal(v.AccessReceipt)
	ar := s.receipt(rb) // verifies the inclusion proof against the signed checkpoint
	cp, err := verify.OpenCheckpoint([]byte(ar.Checkpoint), origin, s.VKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Inclusion(ar.Index, cp.Size, verify.LeafHash(ar.Entry), ar.InclusionProof, cp.Hash); err != nil {
		t.Fatalf("access record inclusion: %v", err)
	}
	// committed before the answer: in the tree the log had when it answered,
	// after the decision it names
	if ar.Index <= dec.Index || ar.Index >= headAfter || cp.Size > headAfter {
		t.Fatalf("access record at %d (checkpoint size %d), decision at %d, head after the answer %d", ar.Index, cp.Size, dec.Index, headAfter)
	}
	es, err := s.Log.Entries(ar.Index, 1)
	if err != nil || !bytes.Equal(es[0], ar.Entry) {
		t.Fatalf("the log's entry %d is not the access record: %v", ar.Index, err)
	}
	a := accessEntry(t, ar)
	want := audit.Access{AccessID: a.AccessID, Actor: audit.Actor{Name: "test-regulator", Role: "regulator"}, Purpose: "case 2026-17 review",
		Records: []audit.AccessedRecord{{Kind: audit.KindDecision, ID: id, Index: dec.Index}}, Route: "GET /v1/decisions/{id}"}
	if fmt.Sprint(a) != fmt.Sprint(want) || !strings.HasPrefix(a.AccessID, "acc-") {
		t.Fatalf("access record %+v, want %+v", a, want)
	}

	// a query of private content: purpose required, limit at most 250,
	// one access record naming the records whose content was answered
	before := s.Log.Head().Size
	for _, q := range []string{"private=true", "private=true&limit=251"} {
		hdr := []string{}
		if strings.Contains(q, "limit") {
			hdr = []string{"X-Access-Purpose", "audit"}
		}
		code, b = s.Do("GET", "/v1/query?"+q, auth.Regulator, nil, hdr...)
		if code != 400 || bytes.Contains(b, []byte(secret)) {
			t.Fatalf("query %s: %d %s", q, code, b)
		}
	}
	if s.Log.Head().Size != before {
		t.Fatal("a refused query was logged")
	}
	code, b = s.Do("GET", "/v1/query?private=true", auth.Regulator, nil, "X-Access-Purpose", "yearly audit")
	if code != 200 {
		t.Fatalf("private query: %d %s", code, b)
	}
	check("QueryAnswer", b)
	qa := decode[api.QueryAnswer](t, b)
	if qa.AccessReceipt == nil {
		t.Fatalf("private query without an access receipt: %s", b)
	}
	rb, _ = json.Marshal(qa.AccessReceipt)
	qr := s.receipt(rb)
	qacc := accessEntry(t, qr)
	if qacc.Route != "GET /v1/query" || qacc.Purpose != "yearly audit" || len(qacc.Records) != 1 || qacc.Records[0].Index != dec.Index {
		t.Fatalf("query access record %+v", qacc)
	}
	// no private content in the answer: nothing to log
	before = s.Log.Head().Size
	if code, b = s.Do("GET", "/v1/query?private=true&kind=constitution", auth.Regulator, nil, "X-Access-Purpose", "yearly audit"); code != 200 || s.Log.Head().Size != before {
		t.Fatalf("private query of constitutions: %d, tree %d -> %d: %s", code, before, s.Log.Head().Size, b)
	}

	// the subject sees both reads, oldest first
	checkSubject := func() {
		t.Helper()
		code, b = s.Do("GET", path, "", nil, "X-Contest-Token", dec.ContestToken)
		if code != 200 || bytes.Contains(b, []byte(secret)) {
			t.Fatalf("subject read: %d %s", code, b)
		}
		check("DecisionView", b)
		sv := decode[api.DecisionView](t, b)
		if len(sv.Accesses) != 2 || sv.Accesses[0].Index != ar.Index || sv.Accesses[1].Index != qr.Index ||
			sv.Accesses[0].Purpose != "case 2026-17 review" || sv.Accesses[1].Actor.Name != "test-regulator" || sv.Accesses[1].Route != "GET /v1/query" {
			t.Fatalf("subject sees accesses %+v", sv.Accesses)
		}
	}
	checkSubject()

	// auditors count the reads per regulator, and by route
	code, b = s.Do("GET", "/v1/stats?kind=access&group_by=actor", auth.Regulator, nil)
	check("StatsAnswer", b)
	st := decode[api.StatsAnswer](t, b)
	if code != 200 || len(st.Groups) != 1 || st.Groups[0].Count != 2 || st.Groups[0].Records != 2 ||
		st.Groups[0].Key["actor"] != "test-regulator" || st.Groups[0].Key["role"] != "regulator" {
		t.Fatalf("access stats by actor: %d %s", code, b)
	}
	code, b = s.Do("GET", "/v1/stats?kind=access&group_by=route,actor", auth.Regulator, nil)
	if st = decode[api.StatsAnswer](t, b); code != 200 || len(st.Groups) != 2 {
		t.Fatalf("access stats by route: %d %s", code, b)
	}
	for _, bad := range []string{"kind=access&group_by=rule", "kind=access&jurisdiction=DE", "kind=access&group_by=actor,actor"} {
		if code, b = s.Do("GET", "/v1/stats?"+bad, auth.Regulator, nil); code != 400 {
			t.Errorf("stats %s: %d %s, want 400", bad, code, b)
		}
		check("Error", b)
	}
	// query kind=access finds both access records
	if got, _ := (&queryFixture{server: s}).query(t, map[string][]string{"kind": {"access"}}, 10); len(got) != 2 || got[0] != ar.Index || got[1] != qr.Index {
		t.Fatalf("query kind=access: %v", got)
	}

	// the access indexes are rebuilt from the log alone
	var keys [][]byte
	for _, p := range []string{"a/", "sa/"} {
		s.Index.Scan(context.Background(), []byte(p), nil, func(k, _ []byte) bool { keys = append(keys, append([]byte(nil), k...)); return true })
	}
	if len(keys) != 4 {
		t.Fatalf("%d access index keys, want 4", len(keys))
	}
	if err := s.Index.Update(nil, keys); err != nil {
		t.Fatal(err)
	}
	src := struct {
		*ledger.Log
		ledger.IndexStore
	}{s.Log, s.Index}
	if problems, err := audit.CheckIndex(context.Background(), src, s.Log.Head().Size, nil); err != nil || len(problems) != 4 {
		t.Fatalf("CheckIndex without the access keys: %v, %v", problems, err)
	}
	if err := audit.Reindex(context.Background(), src, s.Log.Head().Size, s.Index, nil); err != nil {
		t.Fatal(err)
	}
	checkSubject()
}
