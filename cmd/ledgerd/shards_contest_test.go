package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/explanation"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/record"
)

// TestRotationResolvesEarlierContest: a contest filed in shard 1 before
// the rotation is read, resolved and read again after it. The resolution
// is logged in shard 2 naming shard 1 (contest_shard); GET
// /v1/contests/{id} proves the contest against shard 1's final
// checkpoint and the resolution against shard 2's; a second, different
// resolution is a 409; a monitor following both shards is happy and
// every shard passes fsck.
func TestRotationResolvesEarlierContest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	s1 := startDev(t, dir)
	s1.mustPost(t, "/v1/constitutions", example(t, "constitution.json", nil), http.StatusCreated)
	var refused verify.Receipt
	if err := json.Unmarshal(s1.mustPost(t, "/v1/decisions", example(t, "decision-refused.json", nil), http.StatusCreated), &refused); err != nil {
		t.Fatal(err)
	}
	var answered verify.Receipt
	if err := json.Unmarshal(s1.mustPost(t, "/v1/decisions", example(t, "decision-answered.json", nil), http.StatusCreated), &answered); err != nil {
		t.Fatal(err)
	}
	code, b := s1.do(t, "POST", "/v1/contests", "", example(t, "contest.json", map[string]string{"contest_token": refused.ContestToken}))
	if code != http.StatusCreated {
		t.Fatalf("contest in shard 1: %d %s", code, b)
	}
	var filed record.ContestFiled
	if err := json.Unmarshal(b, &filed); err != nil {
		t.Fatal(err)
	}
	if err := s1.stop(); err != nil {
		t.Fatal(err)
	}
	const origin2 = "dev.fja-ledger.localhost/log/2"
	m, err := shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: origin2})
	if err != nil {
		t.Fatal(err)
	}
	s2 := startDev(t, dir)
	stopped := false
	defer func() {
		if !stopped {
			s2.stop()
		}
	}()

	view := func(want string) record.ContestView {
		t.Helper()
		code, b := s2.do(t, "GET", "/v1/contests/"+filed.ContestID, "", nil, "X-Contest-Token", refused.ContestToken)
		var v record.ContestView
		if code != http.StatusOK || json.Unmarshal(b, &v) != nil || v.Status != want || v.Contest == nil {
			t.Fatalf("GET /v1/contests/%s after the rotation: %d %s, want status %s", filed.ContestID, code, b, want)
		}
		// The contest is proven against shard 1's final checkpoint, under
		// shard 1's key.
		final, err := verify.OpenCheckpoint([]byte(v.Contest.Checkpoint), s1.origin, s1.vkey)
		if err != nil || v.Contest.Shard != 1 || v.Contest.Index != filed.Receipt.Index {
			t.Fatalf("contest proof in shard %d at %d, want shard 1 at %d: %v", v.Contest.Shard, v.Contest.Index, filed.Receipt.Index, err)
		}
		if err := verify.Inclusion(v.Contest.Index, final.Size, verify.LeafHash(v.Contest.Entry), v.Contest.InclusionProof, final.Hash); err != nil {
			t.Fatalf("contest inclusion in shard 1: %v", err)
		}
		return v
	}
	view("open")
	const refusedID = "dec-2026-11-27-000001"

	res := example(t, "resolution.json", nil)
	code, b = s2.do(t, "POST", "/v1/contests/"+filed.ContestID+"/resolution", s2.reviewer, res)
	if code != http.StatusCreated {
		t.Fatalf("resolution in shard 2 of a shard 1 contest: %d %s", code, b)
	}
	var logged record.ResolutionLogged
	if err := json.Unmarshal(b, &logged); err != nil {
		t.Fatal(err)
	}
	var env record.Envelope
	var r record.Resolution
	if err := json.Unmarshal(logged.Receipt.Entry, &env); err != nil || json.Unmarshal(env.Body, &r) != nil {
		t.Fatalf("resolution entry %q: %v", logged.Receipt.Entry, err)
	}
	if logged.Receipt.Origin != origin2 || r.ContestShard != s1.origin || r.ContestID != filed.ContestID {
		t.Fatalf("resolution logged in %s naming contest %s of shard %q; want it in %s naming shard %s", logged.Receipt.Origin, r.ContestID, r.ContestShard, origin2, s1.origin)
	}
	if _, _, err := verify.VerifyReceipt(mustJSON(t, logged.Receipt), s2.vkey); err != nil {
		t.Fatalf("resolution receipt: %v", err)
	}
	if err := audit.Validate("resolution.v1", env.Body); err != nil {
		t.Fatalf("the logged resolution against its schema: %v", err)
	}
	// The same resolution again is the same receipt; a different one is refused.
	if code, b := s2.do(t, "POST", "/v1/contests/"+filed.ContestID+"/resolution", s2.reviewer, res); code != http.StatusOK || !strings.Contains(string(b), `"index":`+jsonInt(logged.Receipt.Index)) {
		t.Fatalf("the resolution retried: %d %s, want 200 with index %d", code, b, logged.Receipt.Index)
	}
	code, b = s2.do(t, "POST", "/v1/contests/"+filed.ContestID+"/resolution", s2.reviewer, example(t, "resolution.json", map[string]string{"outcome": "upheld"}))
	if code != http.StatusConflict || !strings.Contains(string(b), "contest_resolved") {
		t.Fatalf("a second resolution: %d %s, want 409 contest_resolved", code, b)
	}

	v := view("resolved")
	cp, err := verify.OpenCheckpoint([]byte(v.Checkpoint), origin2, s2.vkey)
	if err != nil || v.Resolution == nil || v.Resolution.Shard != 0 || v.Resolution.Index != logged.Receipt.Index {
		t.Fatalf("resolution shown %+v against %q: %v", v.Resolution, v.Checkpoint, err)
	}
	if err := verify.Inclusion(v.Resolution.Index, cp.Size, verify.LeafHash(v.Resolution.Entry), v.Resolution.InclusionProof, cp.Hash); err != nil {
		t.Fatalf("resolution inclusion in shard 2: %v", err)
	}
	// Its contest is resolved in shard 2, so the refused decision's records
	// are not under one checkpoint: its explanation is a 409 saying why;
	// once contested from shard 2 too, that is said.
	code, b = s2.do(t, "GET", "/v1/decisions/"+refusedID+"/explanation", s2.regulator, nil)
	if code != http.StatusConflict || !strings.Contains(string(b), "not_one_shard") || !strings.Contains(string(b), "resolved in a later shard") {
		t.Fatalf("explanation of a shard 1 decision resolved in shard 2: %d %s, want 409 not_one_shard", code, b)
	}
	// Resolved, the decision may be contested again (from shard 2).
	code, b = s2.do(t, "POST", "/v1/contests", "", example(t, "contest.json", map[string]string{"contest_token": refused.ContestToken, "contest_id": "con-again"}))
	if code != http.StatusCreated {
		t.Fatalf("a new contest after the resolution: %d %s", code, b)
	}
	code, b = s2.do(t, "GET", "/v1/decisions/"+refusedID+"/explanation", s2.regulator, nil)
	if code != http.StatusConflict || !strings.Contains(string(b), "contest con-again of it is logged in shard 2") {
		t.Fatalf("explanation of a shard 1 decision contested in shard 2: %d %s, want 409 naming the contest", code, b)
	}

	// The explanation of a shard 1 decision is proven against shard 1's
	// final checkpoint and verifies offline under shard 1's key.
	answeredID := "dec-2026-11-27-000002"
	code, b = s2.do(t, "GET", "/v1/decisions/"+answeredID+"/explanation", s2.regulator, nil)
	if code != http.StatusOK {
		t.Fatalf("explanation of a shard 1 decision: %d %s", code, b)
	}
	e, ecp, err := explanation.Verify(b, s1.vkey)
	if err != nil || e.Decision.Index != answered.Index || ecp.Origin != s1.origin || len(e.Contests) != 0 {
		t.Fatalf("explanation of %s: %+v at %+v, %v; want shard 1's index %d", answeredID, e, ecp, err, answered.Index)
	}
	if _, _, err := explanation.Verify(b, s2.vkey); err == nil {
		t.Fatal("a shard 1 explanation verifies under shard 2's key")
	}

	// Query pages of shard 1 are followed to its end with cursors naming
	// it, every record proven against shard 1's final checkpoint.
	var got []uint64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatalf("shard 1 paged past its 2 decisions: %v", got)
		}
		path := "/v1/query?kind=decision&limit=1"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, b := s2.do(t, "GET", path, s2.regulator, nil)
		var q record.QueryAnswer
		if code != http.StatusOK || json.Unmarshal(b, &q) != nil || len(q.Shards) != 1 || q.Shards[0].N != 1 {
			t.Fatalf("GET %s: %d %s, want one page of shard 1", path, code, b)
		}
		if cursor != "" && len(q.Records) != 0 {
			t.Fatalf("GET %s answers %d records of the active shard, want only shard 1's page", path, len(q.Records))
		}
		page := q.Shards[0]
		final, err := verify.OpenCheckpoint([]byte(page.Checkpoint), s1.origin, s1.vkey)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			if err := verify.Inclusion(r.Index, final.Size, verify.LeafHash(r.Entry), r.InclusionProof, final.Hash); err != nil {
				t.Fatalf("shard 1 record %d: %v", r.Index, err)
			}
			got = append(got, r.Index)
		}
		if page.NextCursor == "" {
			break
		}
		if !strings.HasPrefix(page.NextCursor, "s1-") {
			t.Fatalf("next_cursor %q of a shard 1 page, want one naming shard 1", page.NextCursor)
		}
		cursor = page.NextCursor
	}
	if len(got) != 2 || got[0] != refused.Index || got[1] != answered.Index {
		t.Fatalf("shard 1 decisions paged: %v, want %d and %d", got, refused.Index, answered.Index)
	}
	for cur, field := range map[string]string{"s2-0": "cursor", "s01-0": "cursor", "s1-x": "cursor"} {
		code, b := s2.do(t, "GET", "/v1/query?kind=decision&cursor="+cur, s2.regulator, nil)
		if code != http.StatusBadRequest || !strings.Contains(string(b), `"field":"`+field+`"`) {
			t.Errorf("cursor %s: %d %s, want 400 naming %s", cur, code, b, field)
		}
	}

	if code, b := s2.do(t, "GET", "/v1/query?kind=decision&private=true&cursor=s1-0", s2.regulator, nil, "X-Access-Purpose", "supervision"); code != http.StatusBadRequest || !strings.Contains(string(b), `"field":"private"`) {
		t.Errorf("private=true with a shard 1 cursor: %d %s, want 400 naming private", code, b)
	}

	// A monitor pinned to shard 1's key follows both shards: no alarm, and
	// the shard 1 contest is no longer open (not overdue) in its state.
	c, err := client.New(client.Config{URL: s2.url, InsecureSkipVerify: true, MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	mon := &monitor.Monitor{Origin: s1.origin, Key: s1.vkey}
	mst := monitor.NewState(s1.origin, s1.vkey)
	out, err := c.ShardMonitor(mon, stateDir).Round(ctx, mst)
	if err != nil || !out.OK() {
		t.Fatalf("monitor over both shards: %+v, %v", out, err)
	}
	if cs := mst.Contests[filed.ContestID]; cs == nil || cs.Resolution == nil || *cs.Resolution != logged.Receipt.Index || cs.ResolvedIn != origin2 {
		t.Fatalf("shard 1 monitor state of the contest: %+v, want resolved at %d of %s", cs, logged.Receipt.Index, origin2)
	}

	// Shard 2 followed alone, told by its earlier shard that the contest
	// was never logged there, or was resolved there already: the
	// resolution is a violation either way.
	prior := uint64(0)
	for earlier, want := range map[*monitor.ContestState]string{
		nil: "which that shard did not log",
		{Index: filed.Receipt.Index, DueBy: filed.DueBy, Resolution: &prior}: "resolved already",
	} {
		alone := &monitor.Monitor{Origin: origin2, Key: s2.vkey, Client: c.ShardSource(2, origin2, s2.vkey),
			EarlierConstitutions: func(ref string) ([]string, bool) { r, ok := mst.Constitutions[ref]; return r, ok },
			EarlierContest: func(origin, id string) (*monitor.ContestState, bool) {
				return earlier, earlier != nil && origin == s1.origin && id == filed.ContestID
			}}
		res, err := alone.Round(ctx, monitor.NewState(origin2, s2.vkey))
		if err != nil || len(res.Alarms) != 1 || !strings.Contains(res.Alarms[0].Message, want) {
			t.Fatalf("shard 2 alone with the contest %+v in shard 1: %+v, %v; want one alarm saying %q", earlier, res, err, want)
		}
	}

	stopped = true
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
	fsckShards(t, dir, m)
}

func jsonInt(n uint64) string { b, _ := json.Marshal(n); return string(b) }
