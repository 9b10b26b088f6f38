package recount

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/reftree"
	"github.com/fjaledger/fja/verify/tile"
)

var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// testLog is 600 entries, one a second from t0: decisions (every 7th
// refused in DE, the rest answered in FR), a contest of entry 7 at 500
// due at due, resolved at 550 if resolve.
func testLog(due time.Time, resolve bool) [][]byte {
	var leaves [][]byte
	for i := range 600 {
		at := t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		var body string
		switch {
		case i == 500:
			body = fmt.Sprintf(`{"contest_id":"c1","decision":{"decision_id":"d7","index":7},"due_by":%q}`, due.Format(time.RFC3339Nano))
			leaves = append(leaves, fmt.Appendf(nil, `{"body":%s,"kind":"contest","logged_at":%q,"v":1}`, body, at))
			continue
		case i == 550 && resolve:
			leaves = append(leaves, fmt.Appendf(nil, `{"body":{"contest_id":"c1","outcome":"overturned"},"kind":"resolution","logged_at":%q,"v":1}`, at))
			continue
		case i%7 == 0:
			body = fmt.Sprintf(`{"decision_id":"d%d","outcome":{"action":"refused","category":"medical"},"subject":{"jurisdiction":"DE"},"rules":[{"rule_id":"H-12"}],"constitution":{"id":"c","version":"1"}}`, i)
		default:
			body = fmt.Sprintf(`{"decision_id":"d%d","outcome":{"action":"answered","category":"education"},"subject":{"jurisdiction":"FR"},"rules":[{"rule_id":"F-02"}],"constitution":{"id":"c","version":"1"}}`, i)
		}
		leaves = append(leaves, fmt.Appendf(nil, `{"body":%s,"kind":"decision","logged_at":%q,"v":1}`, body, at))
	}
	return leaves
}

// fetcher serves the C2SP tiles of leaves (levels 0 and 1), with the
// entry at tamper (if >= 0) changed in its bundle.
func fetcher(leaves [][]byte, tamper int) tile.Fetcher {
	return func(_ context.Context, p string) ([]byte, error) {
		t, err := tile.ParsePath(p)
		if err != nil {
			return nil, err
		}
		span := uint64(1) << (tile.Height * uint(t.Level))
		if (t.Index*tile.Width+uint64(t.Width))*span > uint64(len(leaves)) || t.Level > 1 {
			return nil, fs.ErrNotExist
		}
		var body []byte
		for i := t.Index * tile.Width; i < t.Index*tile.Width+uint64(t.Width); i++ {
			if t.Entries {
				e := leaves[i]
				if int(i) == tamper {
					e = []byte(strings.Replace(string(e), "FR", "ES", 1))
				}
				body, _ = tile.AppendBundleEntry(body, e)
			} else {
				body = append(body, reftree.Root(leaves[i*span:(i+1)*span])...)
			}
		}
		return body, nil
	}
}

func auditor(leaves [][]byte, tamper int, now time.Time) *Auditor {
	cp := &verify.Checkpoint{Origin: "test", Size: uint64(len(leaves)), Hash: reftree.Root(leaves)}
	return &Auditor{Reader: tile.NewReader(context.Background(), fetcher(leaves, tamper)), Checkpoint: cp, Now: now}
}

func records(leaves [][]byte, idxs ...uint64) []Record {
	var out []Record
	for _, i := range idxs {
		out = append(out, Record{Index: i, Entry: leaves[i], LeafHash: verify.LeafHash(leaves[i])})
	}
	return out
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	leaves := testLog(t0.Add(time.Hour), false)
	a := auditor(leaves, -1, t0.Add(2*time.Hour))
	// window [t0+250s, t0+300s): entries [250, 300), crossing a bundle edge
	f := Filter{Action: "refused", From: t0.Add(250 * time.Second), To: t0.Add(300 * time.Second)}
	want := []uint64{252, 259, 266, 273, 280, 287, 294}
	rep, err := a.Query(ctx, f, Range{From: 250, To: 300}, records(leaves, want...))
	if err != nil || !rep.OK() || rep.Matched != 7 || rep.Read != 52 {
		t.Fatalf("honest: %v %+v", err, rep)
	}
	rep, _ = a.Query(ctx, f, Range{From: 250, To: 300}, records(leaves, 252, 259, 266, 280, 287, 294, 295))
	if rep.OK() || len(rep.Problems) != 2 || rep.Problems[0].Kind != "missing" || *rep.Problems[0].Index != 273 || *rep.Problems[1].Index != 295 {
		t.Fatalf("missing and extra: %+v", rep.Problems)
	}
	rep, _ = a.Query(ctx, f, Range{From: 251, To: 300}, records(leaves, want...))
	if rep.OK() || rep.Problems[0].Kind != "window" || *rep.Problems[0].Index != 250 {
		t.Fatalf("range starting late: %+v", rep.Problems)
	}
	// the contest of d7 is overdue from t0+1h
	rep, _ = a.Query(ctx, Filter{ContestStatus: "overdue"}, Range{From: 0, To: 600}, records(leaves, 7))
	if !rep.OK() {
		t.Fatalf("overdue: %+v", rep.Problems)
	}
	// a bundle entry that is not the logged one
	if _, err := auditor(leaves, 260, t0).Query(ctx, f, Range{From: 250, To: 300}, records(leaves, want...)); err == nil || !strings.Contains(err.Error(), "entry 260") {
		t.Fatalf("tampered bundle: %v", err)
	}
}

func TestStatsClockSlack(t *testing.T) {
	ctx := context.Background()
	due := t0.Add(time.Hour)
	leaves := testLog(due, false)
	g := func(overdue int) []Group {
		return []Group{
			{Key: map[string]string{"rule": "F-02", "constitution": "c@1"}, Count: 513},
			{Key: map[string]string{"rule": "H-12", "constitution": "c@1"}, Count: 86, Contests: 1, Overdue: overdue},
		}
	}
	for _, c := range []struct {
		now     time.Time
		overdue int
		ok      bool
	}{
		{due.Add(time.Hour), 1, true},
		{due.Add(time.Hour), 0, false},
		{due.Add(-time.Hour), 0, true},
		{due.Add(-time.Hour), 1, false},
		{due.Add(20 * time.Second), 0, true}, // within the slack: either
		{due.Add(-20 * time.Second), 1, true},
	} {
		rep, err := auditor(leaves, -1, c.now).Stats(ctx, Filter{}, []string{"rule"}, Range{From: 0, To: 600}, g(c.overdue))
		if err != nil || rep.OK() != c.ok {
			t.Errorf("now %s, overdue %d: %v %+v", c.now.Sub(due), c.overdue, err, rep)
		}
	}
	// resolved and overturned
	leaves = testLog(due, true)
	gs := g(0)
	gs[1].Overturned = 1
	gs[0].Count = 512 // entry 550 is the resolution
	if rep, err := auditor(leaves, -1, due.Add(time.Hour)).Stats(ctx, Filter{}, []string{"rule"}, Range{From: 0, To: 600}, gs); err != nil || !rep.OK() {
		t.Fatalf("resolved: %v %+v", err, rep)
	}
}

// TestAccessStats: reads of private content (access records) are
// recounted per actor, with the number of records they read; a count the
// server inflated is a problem; decision statistics do not count them.
func TestAccessStats(t *testing.T) {
	leaves := testLog(t0.Add(time.Hour), false)
	for i := range 6 {
		at := t0.Add(time.Duration(600+i) * time.Second).Format(time.RFC3339Nano)
		name := []string{"reg-a", "reg-b"}[i%2]
		recs := `{"id":"d7","index":7,"kind":"decision"}`
		if name == "reg-b" {
			recs += `,{"id":"d14","index":14,"kind":"decision"}`
		}
		body := fmt.Sprintf(`{"access_id":"acc-%032d","actor":{"name":%q,"role":"regulator"},"purpose":"audit","records":[%s],"route":"GET /v1/query"}`, i, name, recs)
		leaves = append(leaves, fmt.Appendf(nil, `{"body":%s,"kind":"access","logged_at":%q,"v":1}`, body, at))
	}
	a := auditor(leaves, -1, t0.Add(time.Hour+time.Hour))
	f := Filter{Kind: "access"}
	all := Range{From: 0, To: uint64(len(leaves))}
	right := []Group{
		{Key: map[string]string{"actor": "reg-a", "role": "regulator"}, Count: 3, Records: 3},
		{Key: map[string]string{"actor": "reg-b", "role": "regulator"}, Count: 3, Records: 6},
	}
	rep, err := a.Stats(context.Background(), f, []string{"actor", "actor"}, all, right)
	if err != nil || !rep.OK() || rep.Matched != 6 {
		t.Fatalf("right access answer: %v %+v", err, rep)
	}
	wrong := []Group{right[0], {Key: right[1].Key, Count: 3, Records: 5}}
	if rep, err = a.Stats(context.Background(), f, []string{"actor"}, all, wrong); err != nil || rep.OK() {
		t.Fatalf("records undercounted, but the recount found no problem: %v %+v", err, rep)
	}
	if _, err := a.Stats(context.Background(), f, []string{"rule"}, all, right); err == nil {
		t.Fatal("group_by rule for access statistics was accepted")
	}
	if _, err := a.Stats(context.Background(), Filter{}, []string{"rule", "flag", "model", "operator"}, all, nil); err == nil {
		t.Fatal("four group_by fields were accepted")
	}
	// decisions only: the access records count nowhere
	groups, _, err := a.Groups(context.Background(), Filter{}, nil, all, t0)
	if err != nil || len(groups) != 1 || groups[0].Count != 599 {
		t.Fatalf("decision totals over a log with access records: %+v, %v", groups, err)
	}
}
