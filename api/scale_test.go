package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
)

// The scale benchmarks (make scale) run against a log of FJA_SCALE_N
// decisions (default 1,000,000) spread evenly over the 30 days from
// scaleStart, made by a seeded generator and kept in FJA_SCALE_DIR (default
// a temporary directory) so that later runs reuse it.
var scaleStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

const scaleDays = 30

var (
	scaleJurisdictions = []string{"DE", "FR", "IT", "ES", "PL", "NL", "BE", "SE", "AT", "DK", "FI", "IE", "PT", "GR", "CZ",
		"HU", "RO", "BG", "SK", "SI", "HR", "LT", "LV", "EE", "LU", "MT", "CY", "KE", "IN", "BR"}
	scaleCategories = []string{"medical", "finance", "legal", "education", "politics", "religion", "sexuality", "weapons", "drugs", "self-harm",
		"hate", "privacy", "security", "employment", "housing", "immigration", "children", "elections", "science", "other"}
	scaleFlags = []string{"western-sources", "single-source", "outdated-sources", "machine-translated", "low-confidence"}
)

func scaleRule(i int) string { return fmt.Sprintf("R-%02d", i) }

// scaleConstitution has 30 rules, R-00 .. R-29.
func scaleConstitution() []byte {
	var rules []map[string]string
	pillars := []string{"flourishing", "justice", "autonomy", "harmlessness", "helpfulness", "honesty"}
	for i := 0; i < 30; i++ {
		rules = append(rules, map[string]string{"rule_id": scaleRule(i), "pillar": pillars[i%6], "text": "Scale rule " + strconv.Itoa(i)})
	}
	b, _ := json.Marshal(map[string]any{"constitution_id": "scale", "version": "1", "process": map[string]any{"method": "generated"}, "rules": rules})
	return b
}

// scaleDecision is decision i of the seeded generator.
func scaleDecision(r *rand.Rand, i int) []byte {
	action := "answered"
	switch p := r.IntN(100); {
	case p < 15:
		action = "refused"
	case p < 25:
		action = "modified"
	case p < 30:
		action = "escalated"
	}
	var rules []map[string]string
	n := 1 + r.IntN(3)
	for j := 0; j < n; j++ {
		effect := "allow"
		if j == 0 && action == "refused" {
			effect = "refuse"
		}
		rules = append(rules, map[string]string{"rule_id": scaleRule(r.IntN(30)), "effect": effect, "rationale": "generated"})
	}
	var flags []map[string]string
	for j := r.IntN(3); j > 0; j-- {
		flags = append(flags, map[string]string{"code": scaleFlags[r.IntN(len(scaleFlags))], "message": "generated", "severity": "info"})
	}
	if flags == nil {
		flags = []map[string]string{}
	}
	hex := func() string {
		return fmt.Sprintf("sha256:%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
	}
	d := map[string]any{
		"decision_id": fmt.Sprintf("scale-%d", i), "occurred_at": "2026-10-01T00:00:00Z",
		"system":       map[string]string{"operator": fmt.Sprintf("op-%d", r.IntN(5)), "model": fmt.Sprintf("model-%d", r.IntN(10)), "model_version": "1", "deployment": "eu"},
		"subject":      map[string]string{"ref": hex(), "jurisdiction": scaleJurisdictions[r.IntN(len(scaleJurisdictions))], "locale": "en"},
		"request":      map[string]string{"commitment": hex()},
		"response":     map[string]string{"commitment": hex()},
		"objectives":   []map[string]any{{"id": "o1", "description": "generated", "source": "extracted", "confidence": 0.5}},
		"constitution": map[string]string{"id": "scale", "version": "1"},
		"rules":        rules, "provenance_flags": flags,
		"weights":    map[string]float64{"flourishing": 0.2, "justice": 0.2, "autonomy": 0.2, "harmlessness": 0.2, "helpfulness": 0.2},
		"candidates": []map[string]any{{"id": "c1", "scores": map[string]float64{"helpfulness": 0.5}, "selected": true}},
		"outcome":    map[string]any{"action": action, "category": scaleCategories[r.IntN(len(scaleCategories))], "explanation": "", "contestable": true},
	}
	b, _ := json.Marshal(d)
	return b
}

// scaleServer returns a server on the scale log, generating it first if
// the directory holds fewer decisions than wanted. The log clock steps so
// that the decisions spread evenly over scaleDays.
func scaleServer(b *testing.B) (*server, int) {
	n := 1_000_000
	if v := os.Getenv("FJA_SCALE_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := os.Getenv("FJA_SCALE_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	step := scaleDays * 24 * time.Hour / time.Duration(n)
	var tick atomic.Int64
	s := newServer(b, apitest.WithDir(dir), apitest.WithLedger(func(c *ledger.Config) {
		c.Now = func() time.Time { return scaleStart.Add(time.Duration(tick.Add(1)) * step) }
	}))
	have := s.Log.Head().Size
	if have >= uint64(n)+1 {
		return s, n
	}
	if have == 0 {
		if code, body := s.do("POST", "/v1/constitutions", auth.Producer, scaleConstitution()); code != 201 {
			b.Fatalf("constitution: %d %s", code, body)
		}
	}
	tick.Store(int64(have))
	b.Logf("generating %d decisions into %s (once; reused while FJA_SCALE_DIR is kept)", n-int(have)+1, dir)
	start := time.Now()
	r := rand.New(rand.NewPCG(2026, 11))
	for i := 0; i < int(have)-1; i++ { // replay the generator to where the log stands
		scaleDecision(r, i)
	}
	jobs := make(chan []byte, 1024)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				if _, err := s.Book.AppendDecision(context.Background(), body); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	for i := max(0, int(have)-1); i < n; i++ {
		jobs <- scaleDecision(r, i)
		if i%100000 == 0 {
			b.Logf("  %d decisions, %s", i, time.Since(start).Round(time.Second))
		}
	}
	close(jobs)
	wg.Wait()
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
	b.Logf("generated in %s; log size %d", time.Since(start).Round(time.Second), s.Log.Head().Size)
	return s, n
}

// medianMS reports the median of durations as ms-median.
func medianMS(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "ms-max")
}

// BenchmarkScaleQuerySelective: GET /v1/query with a selective filter
// (one jurisdiction, one category, refused: about 0.025% of decisions) over
// a one-day window, each answer with its proofs, over real HTTP.
func BenchmarkScaleQuerySelective(b *testing.B) {
	s, n := scaleServer(b)
	r := rand.New(rand.NewPCG(1, 1))
	var ds []time.Duration
	matched := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		day := scaleStart.Add(time.Duration(r.IntN(scaleDays-1)) * 24 * time.Hour)
		q := url.Values{"jurisdiction": {scaleJurisdictions[r.IntN(len(scaleJurisdictions))]}, "category": {scaleCategories[r.IntN(len(scaleCategories))]},
			"action": {"refused"}, "from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)}}
		t0 := time.Now()
		code, body := s.do("GET", "/v1/query?"+q.Encode(), auth.Regulator, nil)
		ds = append(ds, time.Since(t0))
		if code != 200 {
			b.Fatalf("%d %s", code, body)
		}
		var a api.QueryAnswer
		json.Unmarshal(body, &a)
		matched += len(a.Records)
		if perDay := uint64(n / scaleDays); a.Scanned.To-a.Scanned.From < perDay/2 || a.Scanned.To-a.Scanned.From > 2*perDay {
			b.Fatalf("the day's window holds %d records, want about %d", a.Scanned.To-a.Scanned.From, perDay)
		}
	}
	b.StopTimer()
	medianMS(b, ds)
	b.ReportMetric(float64(matched)/float64(b.N), "records/op")
}

// BenchmarkScaleStatsMonth: GET /v1/stats grouped by rule over the whole
// month (every decision of the log).
func BenchmarkScaleStatsMonth(b *testing.B) {
	s, n := scaleServer(b)
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := url.Values{"group_by": {"rule"}, "from": {scaleStart.Format(time.RFC3339)}, "to": {scaleStart.Add(scaleDays * 24 * time.Hour).Format(time.RFC3339)}}
		t0 := time.Now()
		code, body := s.do("GET", "/v1/stats?"+q.Encode(), auth.Regulator, nil)
		ds = append(ds, time.Since(t0))
		if code != 200 {
			b.Fatalf("%d %s", code, body)
		}
		var a api.StatsAnswer
		json.Unmarshal(body, &a)
		total := 0
		for _, g := range a.Groups {
			total += g.Count
		}
		if total < n { // every decision cites at least one rule
			b.Fatalf("stats counted %d rule citations for %d decisions", total, n)
		}
	}
	b.StopTimer()
	medianMS(b, ds)
}
