package loadgen

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// BenchConfig is the HTTP benchmark: every kind alone, first sent one
// record per request, then in batches.
type BenchConfig struct {
	Sender   *Sender
	Examples *Examples
	Kinds    []*Template // default: every kind of Examples

	Single, SingleClients int // records per kind sent one per request (0: skip), and clients
	Batched, BatchClients int // records per kind sent in batches (0: skip), and clients
	Batch                 int // records per batch
	// OTLP apply_guardrail spans (made from the refused example) are sent
	// last to POST /otlp/v1/traces, Batch spans a request from
	// BatchClients clients (0: skip): the OTLP ingest beside the JSON API.
	OTLP int

	// Warmup records (all kinds mixed) are sent first in batches, then,
	// if Single is set, as many again one per request from SingleClients
	// clients, and not reported: a fresh server grows its heap to its
	// collector's goal in its first seconds of load (tens of thousands of
	// page faults a second), and its connections and goroutines for the
	// single phase's clients, so the first phase would measure start-up.
	Warmup int
	// Faults, if set, returns the server's minor page faults so far
	// (ProcessMinorFaults). The warm-up is then sent again, up to
	// MaxWarmups times in all, until one costs the server fewer than
	// SettledFaults a record: how long a fresh server's heap grows
	// depends on the load and the host, and each fault of its growth
	// costs a record several µs here (on this 2-core VM, 10,000 single
	// records after a warm-up of 10,000 each way took 1.7–2.0 faults a
	// record and ran 10–12% slower than the next 10,000, which took
	// 0.15–0.27).
	Faults func() (int64, error)

	// Rounds splits each kind's single and batched records into this many
	// parts, sent round after round with the order of the kinds rotated
	// (round r starts with kind r mod the number of kinds), so that no
	// kind always meets the log at the same size or follows the same
	// kind. The batched phase sends each part as a load of its own; the
	// single phase sends all its parts as one load (RunSliced), the kind
	// changing from part to part without a pause, each round's order drawn
	// rather than rotated (see RunSliced). A kind's figures add up
	// its parts: its rate is its records over the seconds of its parts,
	// its latency quantiles are over all its requests. 0 or 1: each kind
	// once, in order.
	Rounds int
	// SingleRounds, if set, is the single phase's rounds (0: Rounds). Its
	// parts have no start and end of their own, so they can be short
	// enough for the kinds to share the server's pauses — a checkpoint of
	// the store (~0.1 s every ~15,000 records here), a Badger memtable
	// flush (seconds of slower appends every ~240,000) — instead of one
	// kind meeting a pause whole.
	SingleRounds int

	// Profile, when set, is called as the batched phase of each kind
	// starts (its first part), in its own goroutine: the place to take a CPU profile of the
	// server under that kind's load. The next phase starts only once it has
	// returned (so profiles never overlap; a phase's time is not affected).
	Profile func(kind string) error
	// Progress, if set, gets one line per finished phase.
	Progress io.Writer
}

// MaxWarmups bounds the warm-up rounds of a Bench with Faults set;
// SettledFaults is the server's minor page faults a warm-up record under
// which it counts as warmed up: above the ~0.1–0.3 a record that Badger's
// memory-mapped logs take for good (each new page written is one), below
// the several a record of a growing heap.
const (
	MaxWarmups    = 6
	SettledFaults = 0.5
)

// warmUp sends the warm-up records, once, or with Faults set, until the
// server has stopped growing (see BenchConfig.Faults), and says so on
// Progress.
func (c *BenchConfig) warmUp(ctx context.Context, kinds []*Template) error {
	warm := []Phase{{Kinds: kinds, N: c.Warmup, Clients: max(c.BatchClients, 1), Batch: max(c.Batch, 1), NoLatency: true}}
	if c.Single > 0 {
		warm = append(warm, Phase{Kinds: kinds, N: c.Warmup, Clients: c.SingleClients, Batch: 1, NoLatency: true})
	}
	for round := 1; ; round++ {
		var f0 int64
		if c.Faults != nil {
			var err error
			if f0, err = c.Faults(); err != nil {
				return fmt.Errorf("warm-up: the server's page faults: %w", err)
			}
		}
		sent := 0
		for _, p := range warm {
			r, err := c.Sender.Run(ctx, p)
			if err != nil {
				return err
			}
			if r.Errors > 0 {
				return fmt.Errorf("warm-up: %d of %d records failed: %s", r.Errors, c.Warmup, r.FirstError)
			}
			sent += r.Records
		}
		if c.Faults == nil {
			return nil
		}
		f1, err := c.Faults()
		if err != nil {
			return fmt.Errorf("warm-up: the server's page faults: %w", err)
		}
		per := float64(f1-f0) / float64(max(sent, 1))
		settled := per < SettledFaults
		verdict := "settled"
		switch {
		case !settled && round < MaxWarmups:
			verdict = "still growing: again"
		case !settled:
			verdict = fmt.Sprintf("still growing after %d rounds: measuring anyway", round)
		}
		if c.Progress != nil {
			fmt.Fprintf(c.Progress, "warm-up   %d of %d: %d records, %.2f server page faults a record (%s)\n", round, MaxWarmups, sent, per, verdict)
		}
		if settled || round == MaxWarmups {
			return nil
		}
	}
}

// Bench publishes the constitution and runs the phases in order: the
// single phase (every kind, in SingleRounds rounds of one load), then the
// batched phase of each kind (each in Rounds parts), then the OTLP phase.
func Bench(ctx context.Context, c BenchConfig) ([]*Result, error) {
	kinds := c.Kinds
	if len(kinds) == 0 {
		kinds = c.Examples.Kinds
	}
	if err := c.Sender.PublishConstitution(ctx, c.Examples); err != nil {
		return nil, err
	}
	if c.Warmup > 0 {
		if err := c.warmUp(ctx, kinds); err != nil {
			return nil, err
		}
	}
	cost := map[*Template]time.Duration{}
	for _, k := range kinds {
		cost[k] = k.GenerationCost(20000)
	}
	var out []*Result
	// runKinds sends n records of each kind in phases made by phase, in
	// rounds, and adds one merged Result per kind to out. start, if set,
	// is called with the kind's name, in its own goroutine, as the first
	// part of a kind begins, and waited for before the next part.
	runKinds := func(n int, phase func(k *Template, n int) Phase, start func(kind string) error) error {
		rounds := max(c.Rounds, 1)
		parts := make([][]*Result, len(kinds))
		for r := range rounds {
			for j := range kinds {
				i := (r + j) % len(kinds)
				k := kinds[i]
				p := phase(k, n/rounds+btoi(r < n%rounds))
				if p.N == 0 {
					continue
				}
				wait := func() error { return nil }
				if r == 0 && start != nil {
					done := make(chan error, 1)
					p.OnStart = func() { go func() { done <- start(k.Name) }() }
					wait = func() error { return <-done }
				}
				res, err := c.Sender.Run(ctx, p)
				if err != nil {
					return err
				}
				res.GenCPU = (cost[k] * time.Duration(res.Records+res.Errors)).Seconds()
				if c.Progress != nil {
					fmt.Fprintf(c.Progress, "%-9s %-6s %7d records  %8.0f/s  %d errors%s\n", res.Kind, res.Mode, res.Records, res.PerSec, res.Errors, roundNote(r, rounds))
				}
				if err := wait(); err != nil {
					return fmt.Errorf("%s: %w", k.Name, err)
				}
				parts[i] = append(parts[i], res)
			}
		}
		for _, ps := range parts {
			if len(ps) > 0 {
				out = append(out, mergeResults(ps))
			}
		}
		return nil
	}
	if c.Single > 0 {
		rounds := cmp.Or(c.SingleRounds, c.Rounds, 1)
		parts, err := c.Sender.RunSliced(ctx, Phase{Kinds: kinds, N: c.Single, Clients: c.SingleClients}, rounds)
		if err != nil {
			return out, err
		}
		named, byKind := map[string]*Template{}, map[string][]*Result{}
		for _, k := range kinds {
			named[k.Name] = k
		}
		var line strings.Builder
		for i, r := range parts {
			r.GenCPU = (cost[named[r.Kind]] * time.Duration(r.Records+r.Errors)).Seconds()
			byKind[r.Kind] = append(byKind[r.Kind], r)
			fmt.Fprintf(&line, "  %s %d at %.0f/s", r.Kind, r.Records, r.PerSec)
			if r.Errors > 0 {
				fmt.Fprintf(&line, " (%d errors)", r.Errors)
			}
			if (i+1)%len(kinds) == 0 || i == len(parts)-1 {
				if c.Progress != nil {
					fmt.Fprintf(c.Progress, "single    round %d of %d:%s\n", i/len(kinds)+1, rounds, line.String())
				}
				line.Reset()
			}
		}
		for _, k := range kinds {
			if ps := byKind[k.Name]; len(ps) > 0 {
				out = append(out, mergeResults(ps))
			}
		}
	}
	if c.Batched > 0 {
		err := runKinds(c.Batched, func(k *Template, n int) Phase {
			return Phase{Kinds: []*Template{k}, N: n, Clients: c.BatchClients, Batch: max(c.Batch, 2)}
		}, c.Profile)
		if err != nil {
			return out, err
		}
	}
	if c.OTLP > 0 {
		batch, clients := max(c.Batch, 1), max(c.BatchClients, 1)
		sb, err := NewSpanBatch(c.Examples, batch)
		if err != nil {
			return out, err
		}
		cost := sb.GenerationCost(max(20000/batch, 1))
		profiled := make(chan error, 1)
		if c.Profile != nil {
			go func() { profiled <- c.Profile(OTLPKind) }()
		} else {
			profiled <- nil
		}
		r, err := c.Sender.RunOTLP(ctx, c.Examples, c.OTLP, clients, batch)
		if err != nil {
			return out, err
		}
		r.GenCPU = (cost * time.Duration(r.Records+r.Errors)).Seconds()
		out = append(out, r)
		if c.Progress != nil {
			fmt.Fprintf(c.Progress, "%-9s %-6s %7d records  %8.0f/s  %d errors\n", r.Kind, r.Mode, r.Records, r.PerSec, r.Errors)
		}
		if err := <-profiled; err != nil {
			return out, fmt.Errorf("%s: %w", OTLPKind, err)
		}
	}
	return out, nil
}

// FetchProfile takes a CPU profile of the Go server whose net/http/pprof
// handlers are at pprofURL (e.g. http://127.0.0.1:6060) over d, and returns
// it (gzipped protobuf, for go tool pprof).
func FetchProfile(ctx context.Context, pprofURL string, d time.Duration) ([]byte, error) {
	return getPprof(ctx, pprofURL, fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(int(d.Seconds()), 1)), d+time.Minute, "CPU profile")
}

// getPprof GETs path (with its query) from the net/http/pprof handlers at
// pprofURL, waiting at most timeout, and returns the answer's body; what
// names the fetch in its errors.
func getPprof(ctx context.Context, pprofURL, path string, timeout time.Duration, what string) ([]byte, error) {
	u := strings.TrimRight(pprofURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET %s: want 200, got %d %s", what, u, resp.StatusCode, clip(b, 200))
	}
	return b, nil
}

// ProfileSaver takes a CPU profile of the server as each kind's batched
// phase starts (BenchConfig.Profile): FetchProfile from URL over Time,
// written by Write to <Name>-<kind>.pprof (Name without .pprof). Saved
// lists the files written.
type ProfileSaver struct {
	URL, Name string
	Time      time.Duration
	Write     func(name string, b []byte) error
	Saved     []string
}

// Profile is the BenchConfig.Profile of p under ctx.
func (p *ProfileSaver) Profile(ctx context.Context) func(kind string) error {
	return func(kind string) error {
		b, err := FetchProfile(ctx, p.URL, p.Time)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(p.Name, ".pprof") + "-" + kind + ".pprof"
		p.Saved = append(p.Saved, name) // one call at a time: Bench waits for each
		return p.Write(name, b)
	}
}

// Reference is a rate measured in the same run to compare with: the peer
// (Tessera POSIX) or the raw log.
type Reference struct {
	Name, Mode string
	Records    int
	PerSec     float64
}

// ReadPeer reads the JSON the peer benchmark (../shared/peers/tessera-posix)
// prints.
func ReadPeer(path string) (*Reference, error) {
	var p struct {
		Peer      string  `json:"peer"`
		Entries   int     `json:"entries"`
		InFlight  int     `json:"in_flight"`
		Published float64 `json:"published_per_sec"`
	}
	if err := readJSON(path, &p); err != nil || p.Published <= 0 {
		return nil, fmt.Errorf("peer figures %s: want the peer's JSON with published_per_sec > 0 (%v)", path, err)
	}
	return &Reference{Name: "peer: " + p.Peer, Mode: fmt.Sprintf("in-process, %d in flight", p.InFlight), Records: p.Entries, PerSec: p.Published}, nil
}

// ReadRaw reads the JSON `ledgerctl bench` prints for the embedded log.
func ReadRaw(path string) (*Reference, error) {
	var r struct {
		Entries  int     `json:"entries"`
		InFlight int     `json:"in_flight"`
		PerSec   float64 `json:"acked_per_sec"`
	}
	if err := readJSON(path, &r); err != nil || r.PerSec <= 0 {
		return nil, fmt.Errorf("raw log figures %s: want ledgerctl bench's JSON with acked_per_sec > 0 (%v)", path, err)
	}
	return &Reference{Name: "raw log (1200-byte entries)", Mode: fmt.Sprintf("in-process, %d in flight", r.InFlight), Records: r.Entries, PerSec: r.PerSec}, nil
}

// ReadReferences reads the peer's figures (ReadPeer) and the raw log's
// (ReadRaw) from the files named; a name "" gives nil.
func ReadReferences(peerFile, rawFile string) (peer, raw *Reference, err error) {
	if peerFile != "" {
		if peer, err = ReadPeer(peerFile); err != nil {
			return nil, nil, err
		}
	}
	if rawFile != "" {
		if raw, err = ReadRaw(rawFile); err != nil {
			return nil, nil, err
		}
	}
	return peer, raw, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// The file may hold other output lines: take the last JSON object.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}

// WriteTable writes the results as one Markdown table, with the references
// (either may be nil) as the first rows and every rate's ratio to peer.
func WriteTable(w io.Writer, peer, raw *Reference, results []*Result) error {
	var b strings.Builder
	b.WriteString("| records | mode | sent | records/s | × peer | p50 ms | p99 ms | errors | 429/503 retries | server CPU µs/record | load generator CPU µs/record | commits: records each, ms each |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ratio := func(v float64) string {
		if peer == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f×", v/peer.PerSec)
	}
	for _, r := range []*Reference{peer, raw} {
		if r != nil {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | | | | | | | |\n", r.Name, r.Mode, r.Records, thousands(r.PerSec), ratio(r.PerSec))
		}
	}
	perRec := func(s float64, n int) string {
		if s <= 0 || n == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f", s*1e6/float64(n))
	}
	for _, r := range results {
		mode := fmt.Sprintf("single, %d clients", r.Clients)
		switch r.Mode {
		case "batch":
			mode = fmt.Sprintf("batches of %d, %d clients", r.Batch, r.Clients)
		case "otlp":
			mode = fmt.Sprintf("OTLP/HTTP protobuf, %d guardrail spans a request, %d clients", r.Batch, r.Clients)
		}
		gen := perRec(r.ClientCPU, r.Records)
		if r.ClientCPU > 0 {
			gen += fmt.Sprintf(" (%.1f%% generating)", 100*r.GenCPU/r.ClientCPU)
		}
		commits := "–"
		if r.Commits > 0 {
			commits = fmt.Sprintf("%.0f, %.2f", float64(r.Records)/float64(r.Commits), 1e3*r.CommitSeconds/float64(r.Commits))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %.1f | %.1f | %d | %d | %s | %s | %s |\n",
			r.Kind, mode, r.Records+r.Errors, thousands(r.PerSec), ratio(r.PerSec), r.P50ms, r.P99ms,
			r.Errors, r.Retries, perRec(r.ServerCPU, r.Records), gen, commits)
	}
	// Issue 10 wants private decisions at >= 0.9x the rate of public ones.
	for _, mode := range []string{"single", "batch"} {
		var priv, pub float64
		var npub int
		for _, r := range results {
			switch {
			case r.Mode != mode:
			case r.Kind == "private":
				priv = r.PerSec
			case !strings.Contains(r.Kind, "+"):
				pub += r.PerSec
				npub++
			}
		}
		if priv > 0 && npub > 0 {
			fmt.Fprintf(&b, "\n%s: private decisions at %.2f× the mean rate of the public kinds", mode, priv/(pub/float64(npub)))
		}
	}
	// Issue 12 wants OTLP ingest at >= 0.8x the batch API's decisions/s.
	var otlp, refused, all float64
	var nall int
	for _, r := range results {
		switch {
		case r.Mode == "otlp":
			otlp = r.PerSec
		case r.Mode == "batch" && r.Kind == "refused":
			refused = r.PerSec
		}
		if r.Mode == "batch" && !strings.Contains(r.Kind, "+") {
			all += r.PerSec
			nall++
		}
	}
	if otlp > 0 && nall > 0 {
		fmt.Fprintf(&b, "\notlp: guardrail spans → decisions at %.2f× the batch API's mean decisions/s", otlp/(all/float64(nall)))
		if refused > 0 {
			fmt.Fprintf(&b, " (%.2f× the refused decisions it is made from)", otlp/refused)
		}
	}
	b.WriteString("\n")
	for _, r := range results {
		if r.FirstError != "" {
			fmt.Fprintf(&b, "\n%s %s: first error: %s\n", r.Kind, r.Mode, r.FirstError)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// thousands formats a rate with thousands separators: 12,345.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// roundNote names the round of a part, when there are several.
func roundNote(r, rounds int) string {
	if rounds < 2 {
		return ""
	}
	return fmt.Sprintf("  (round %d of %d)", r+1, rounds)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mergeResults adds up the parts of one kind's phase (BenchConfig.Rounds):
// counts, seconds and CPU times add, the rate is the records over the
// seconds, and the latency quantiles are taken over every part's requests.
func mergeResults(parts []*Result) *Result {
	if len(parts) == 1 {
		return parts[0]
	}
	m := *parts[0]
	m.Records, m.Errors, m.Retries, m.Seconds, m.ClientCPU, m.ServerCPU, m.GenCPU = 0, 0, 0, 0, 0, 0, 0
	m.Commits, m.CommitSeconds = 0, 0
	m.latencies = nil
	for _, p := range parts {
		m.Records += p.Records
		m.Errors += p.Errors
		m.Retries += p.Retries
		m.Seconds += p.Seconds
		m.ClientCPU += p.ClientCPU
		m.ServerCPU += p.ServerCPU
		m.GenCPU += p.GenCPU
		m.Commits += p.Commits
		m.CommitSeconds += p.CommitSeconds
		m.latencies = append(m.latencies, p.latencies...)
		if m.FirstError == "" {
			m.FirstError = p.FirstError
		}
	}
	if m.Seconds > 0 {
		m.PerSec = float64(m.Records) / m.Seconds
	}
	m.P50ms, m.P99ms = 0, 0
	if len(m.latencies) > 0 {
		slices.Sort(m.latencies)
		m.P50ms, m.P99ms = ms(quantile(m.latencies, 0.50)), ms(quantile(m.latencies, 0.99))
	}
	return &m
}
