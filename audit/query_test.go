package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/audit"
)

// streamFixture is a book of n decisions with varied indexed fields, and
// what each one was logged with.
type streamFixture struct {
	book *audit.Book
	decs map[uint64]map[string][]string // index -> field -> values
	size uint64
}

func newStreamFixture(t testing.TB, n int) *streamFixture {
	t.Helper()
	book := newBook(t)
	tmpl, err := os.ReadFile("../schemas/examples/decision-refused.json")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 5))
	fx := &streamFixture{book: book, decs: map[uint64]map[string][]string{}}
	type req struct {
		raw    []byte
		fields map[string][]string
	}
	reqs := make([]req, n)
	for i := range reqs {
		var d map[string]any
		json.Unmarshal(tmpl, &d)
		d["decision_id"] = fmt.Sprintf("dec-s-%d", i)
		// skewed values: long and short posting lists, so that leapfrog
		// skips through the long ones
		j := []string{"DE", "DE", "DE", "FR", "KE", "IN"}[r.IntN(6)]
		d["subject"].(map[string]any)["jurisdiction"] = j
		out := d["outcome"].(map[string]any)
		cat := []string{"medical", "finance", "education", "rare"}[min(r.IntN(10), 3)]
		out["category"] = cat
		action, rules := "refused", []string{"H-12", "H-07"}
		if r.IntN(3) == 0 {
			action, rules = "answered", []string{"A-03"}
			out["action"] = action
			d["rules"] = []any{map[string]any{"rule_id": "A-03", "effect": "allow", "rationale": "adult"}}
		}
		var flags []string
		if r.IntN(5) == 0 {
			flags = []string{"western-sources"}
			d["provenance_flags"] = []any{map[string]any{"code": "western-sources", "message": "mostly Western sources", "severity": "info"}}
		}
		raw, _ := json.Marshal(d)
		var logged struct {
			Rules []struct {
				RuleID string `json:"rule_id"`
			} `json:"rules"`
		}
		json.Unmarshal(raw, &logged)
		rules = rules[:0]
		for _, x := range logged.Rules {
			rules = append(rules, x.RuleID)
		}
		reqs[i] = req{raw, map[string][]string{"jurisdiction": {j}, "category": {cat}, "action": {action}, "rule": rules, "flag": flags}}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, q := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := book.AppendDecision(context.Background(), q.raw)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			fx.decs[a.Ack.Index] = q.fields
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	fx.size = uint64(n) + 1 // and the constitution at 0
	return fx
}

func (fx *streamFixture) brute(f map[string]string) []uint64 {
	var out []uint64
	for idx, d := range fx.decs {
		ok := true
		for k, v := range f {
			ok = ok && slices.Contains(d[k], v)
		}
		if ok {
			out = append(out, idx)
		}
	}
	slices.Sort(out)
	return out
}

func filterOf(m map[string]string) audit.Filter {
	return audit.Filter{Jurisdiction: m["jurisdiction"], Category: m["category"], Action: m["action"], Rule: m["rule"], Flag: m["flag"]}
}

// pages runs a query to its end, limit records a page, checking that each
// page's cursor is where the next page starts.
func pages(t *testing.T, b *audit.Book, f audit.Filter, kind string, limit int) []uint64 {
	t.Helper()
	var got []uint64
	cursor := uint64(0)
	for n := 0; ; n++ {
		res, err := b.Query(context.Background(), f, kind, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Indices) > limit {
			t.Fatalf("%d records for limit %d", len(res.Indices), limit)
		}
		got = append(got, res.Indices...)
		if !res.More {
			return got
		}
		if len(res.Indices) != limit || res.Next <= res.Indices[len(res.Indices)-1] {
			t.Fatalf("page %d: %d records for limit %d, next %d after %v", n, len(res.Indices), limit, res.Next, res.Indices)
		}
		cursor = res.Next
	}
}

// TestQueryStreamsPostings: with cursor chunks of 2 to 8 keys (so every
// list is read in many chunks, sought past and refilled), every filter
// combination and page size answers exactly what a brute-force filter
// finds.
func TestQueryStreamsPostings(t *testing.T) {
	fx := newStreamFixture(t, 300)
	defer audit.SetSmallLimits(2, 8, audit.MaxGroups)()
	cases := []map[string]string{
		{}, {"jurisdiction": "DE"}, {"jurisdiction": "KE", "category": "rare"}, {"category": "rare", "flag": "western-sources"},
		{"action": "answered", "jurisdiction": "DE", "category": "medical"}, {"rule": "H-12", "flag": "western-sources"},
		{"rule": "A-03", "action": "refused"}, {"jurisdiction": "XX"}, {"jurisdiction": "IN", "category": "finance", "rule": "H-07", "flag": "western-sources"},
	}
	for _, c := range cases {
		want := fx.brute(c)
		for _, limit := range []int{1, 3, 1000} {
			got := pages(t, fx.book, filterOf(c), "decision", limit)
			if !slices.Equal(got, want) {
				t.Errorf("%v limit %d: got %v, want %v", c, limit, got, want)
			}
		}
		// no contests are logged: status none is the same, open is empty
		f := filterOf(c)
		f.ContestStatus = "none"
		if got := pages(t, fx.book, f, "decision", 7); !slices.Equal(got, want) {
			t.Errorf("%v none: got %v, want %v", c, got, want)
		}
		f.ContestStatus = "open"
		if got := pages(t, fx.book, f, "decision", 7); len(got) != 0 {
			t.Errorf("%v open: got %v, want none", c, got)
		}
	}
	// a window over everything with limit 1: the first match, and the
	// cursor at the second
	want := fx.brute(map[string]string{"category": "rare"})
	res, err := fx.book.Query(context.Background(), audit.Filter{Category: "rare"}, "", 0, 1)
	if err != nil || len(res.Indices) != 1 || res.Indices[0] != want[0] || !res.More || res.Next != want[1] || res.To != fx.size {
		t.Fatalf("limit 1: %+v, %v; want [%d] next %d to %d", res, err, want[0], want[1], fx.size)
	}
}

// TestQueryAndStatsHonourContext: a request whose deadline has passed
// stops with context.DeadlineExceeded, in the scans of query and stats.
func TestQueryAndStatsHonourContext(t *testing.T) {
	fx := newStreamFixture(t, 40)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := fx.book.Query(ctx, audit.Filter{Jurisdiction: "DE"}, "", 0, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("query: %v, want DeadlineExceeded", err)
	}
	if _, err := fx.book.Query(ctx, audit.Filter{}, "", 0, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unfiltered query: %v, want DeadlineExceeded", err)
	}
	if _, err := fx.book.Stats(ctx, audit.Filter{}, []string{"rule"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stats: %v, want DeadlineExceeded", err)
	}
	if _, err := fx.book.AccessStats(ctx, audit.Filter{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("access stats: %v, want DeadlineExceeded", err)
	}
}

// TestStatsBounds: repeated group_by fields count once; more than three
// distinct ones, or an unknown one, are refused naming group_by; past the
// group cap the answer is ErrTooManyGroups, not a truncated answer.
func TestStatsBounds(t *testing.T) {
	fx := newStreamFixture(t, 60)
	ctx := context.Background()
	once, err := fx.book.Stats(ctx, audit.Filter{}, []string{"rule", "jurisdiction"})
	if err != nil {
		t.Fatal(err)
	}
	many := []string{"rule", "jurisdiction"}
	for range 25 {
		many = append(many, "rule")
	}
	twice, err := fx.book.Stats(ctx, audit.Filter{}, many)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(once.Groups)
	b, _ := json.Marshal(twice.Groups)
	if string(a) != string(b) {
		t.Fatalf("rule repeated 26 times:\n%s\nonce:\n%s", b, a)
	}
	total := 0
	for _, g := range once.Groups {
		total += g.Count
	}
	if total < 60 {
		t.Fatalf("groups count %d decisions, want at least 60", total)
	}
	for _, gb := range [][]string{{"rule", "jurisdiction", "category", "model"}, {"nope"}} {
		var ve *audit.ValidationError
		if _, err := fx.book.Stats(ctx, audit.Filter{}, gb); !errors.As(err, &ve) || ve.Field != "group_by" {
			t.Errorf("group_by %v: %v, want a ValidationError on group_by", gb, err)
		}
	}
	defer audit.SetSmallLimits(2, 8, 3)()
	if _, err := fx.book.Stats(ctx, audit.Filter{}, []string{"jurisdiction"}); !errors.Is(err, audit.ErrTooManyGroups) {
		t.Errorf("4 jurisdictions with a cap of 3 groups: %v, want ErrTooManyGroups", err)
	}
	if _, err := fx.book.Stats(ctx, audit.Filter{Jurisdiction: "DE"}, []string{"jurisdiction"}); err != nil {
		t.Errorf("one jurisdiction with a cap of 3 groups: %v", err)
	}
}

// BenchmarkQueryLimit1: one page of one record over the whole window of
// 20,000 decisions, filtered by two posting lists (about 50% and 10% of
// the decisions): the work is that of the first match, not of the lists.
func BenchmarkQueryLimit1(b *testing.B) {
	fx := newStreamFixture(b, 20000)
	f := audit.Filter{Jurisdiction: "DE", Category: "rare"}
	for _, limit := range []int{1, 1000} {
		b.Run(fmt.Sprint("limit=", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fx.book.Query(context.Background(), f, "", 0, limit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("stats/group_by=rule,jurisdiction", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fx.book.Stats(context.Background(), audit.Filter{}, []string{"rule", "jurisdiction"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
