// Package monitor follows an FJA Ledger log as a third party: it checks
// that every checkpoint the log signs extends the last one the monitor
// trusted and every checkpoint gossiped to it (no fork), re-derives each
// root from the public tiles, reads every new entry and checks the
// ledger's own rules on it (DESIGN.md §4):
//
//   - logged_at never goes backwards, across rounds too;
//   - a decision cites a constitution version published earlier in the
//     log (or in an earlier shard, Monitor.EarlierConstitutions), and
//     every rule it cites exists in it; a refusal cites at least
//     one rule whose effect is refuse;
//   - a constitution version is published once;
//   - a contest references a real decision: decision.index is below its
//     own index (or, with decision.shard, is an entry of that earlier
//     shard, read through Monitor.Earlier), the entry there is a decision
//     with that decision_id and that leaf hash, it is contestable, and has
//     no open contest; a contest id is used once;
//   - a shard record is entry 0 (package verify/shard checks the chain);
//   - a resolution is human_reviewed and resolves a contest logged earlier
//     (or, with contest_shard, logged in that earlier shard, read through
//     Monitor.EarlierContest) that has no resolution yet;
//   - challenges, their responses and amendments are consistent with the
//     records before them, and a constitution version that adopts
//     amendments differs from the version it supersedes by exactly their
//     changes (governance.go).
//
// Contests past their due_by without a resolution are reported as
// warnings, not violations.
//
// Nothing the log serves is trusted until verified: checkpoints are opened
// with the log key, tiles are authenticated against a checkpoint's root by
// golang.org/x/mod/sumdb/tlog, and every entry against the authenticated
// level-0 hashes. A misbehaving log raises an Alarm carrying evidence a
// third party can check: for a fork, the two conflicting signed
// checkpoints (and the consistency proof the log answered between them,
// verbatim, when it does not verify or parse); for a rule violation, the entry, its inclusion proof and
// the checkpoint.
//
// It imports only verify, verify/tile, x/mod and the standard library.
package monitor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/tile"
)

// Alarm kinds.
const (
	// KindFork: two checkpoints signed by the log key that cannot both be
	// views of one append-only log (same size with different roots, or the
	// smaller is not a prefix of the larger), or that the log cannot show
	// to be: asked for the consistency proof between them, it answered
	// (200 OK) something that does not verify or is not a proof at all.
	// A request that failed (network, timeout, HTTP status) is no evidence
	// and never an alarm: the round ends with an error instead.
	KindFork = "fork"
	// KindRollback: the log served a checkpoint smaller than one it signed
	// before.
	KindRollback = "rollback"
	// KindTile: a tile or entry bundle the log served does not
	// authenticate against its signed checkpoint.
	KindTile = "tile"
	// KindProof: the log served a consistency proof that does not verify
	// or is not a proof, although its tiles show the two trees are
	// consistent (so the history is one, but the proof service lies).
	KindProof = "proof"
	// KindViolation: an entry breaks one of the ledger's rules.
	KindViolation = "violation"
	// KindChain: the log's temporal shards do not form a chain from the
	// pinned key (package verify/shard): a shard record whose previous
	// checkpoint is not the frozen shard's final one, a successor key not
	// endorsed, a frozen shard that grew.
	KindChain = "chain"
)

// Alarm is one piece of log misbehavior found in a round.
type Alarm struct {
	Kind    string  `json:"kind"`
	Index   *uint64 `json:"index,omitempty"` // the entry, for a violation
	Rule    string  `json:"rule,omitempty"`  // the rule broken, for a violation
	Message string  `json:"message"`
	// Related are other entries a violation concerns (the superseded
	// constitution and the adopted amendments of a version whose rules do
	// not match them); their entries and proofs are in Evidence.
	Related []uint64 `json:"related,omitempty"`
	// Evidence is a self-contained text a third party can check with the
	// log key: signed checkpoints between BEGIN/END CHECKPOINT lines,
	// entries and proofs in base64.
	Evidence string `json:"-"`
}

func (a Alarm) String() string {
	if a.Index != nil {
		return fmt.Sprintf("%s at index %d: %s", strings.ToUpper(a.Kind), *a.Index, a.Message)
	}
	return strings.ToUpper(a.Kind) + ": " + a.Message
}

// Result is what one round found.
type Result struct {
	// PreviousSize is the size of the checkpoint trusted before the round
	// (0 if none); Checkpoint the one fetched in this round.
	PreviousSize uint64             `json:"previous_size"`
	Checkpoint   *verify.Checkpoint `json:"-"`
	Size         uint64             `json:"size"`
	// Entries [From, To) were read and checked in this round.
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Gossip is the number of gossiped checkpoints that opened with the key
	// and were compared.
	Gossip   int      `json:"gossip"`
	Alarms   []Alarm  `json:"alarms"`
	Warnings []string `json:"warnings"`
	// OverdueContests is the number of contests past due without a
	// resolution at the end of the round.
	OverdueContests int `json:"overdue_contests"`
}

// Summary is the first alarm and how many more there are.
func (r *Result) Summary() string {
	if len(r.Alarms) == 0 {
		return "OK"
	}
	s := r.Alarms[0].String()
	if n := len(r.Alarms) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more alarm(s))", n)
	}
	return s
}

// EvidenceText is every alarm's evidence as one text, written at now about
// the log at logURL.
func (r *Result) EvidenceText(logURL string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "FJA Ledger monitor evidence\nwritten: %s\nlog: %s\nalarms: %d\n", now.UTC().Format(time.RFC3339Nano), logURL, len(r.Alarms))
	for i, a := range r.Alarms {
		fmt.Fprintf(&b, "\n=== alarm %d: %s\n\n%s", i+1, a, a.Evidence)
	}
	return []byte(b.String())
}

// OK reports whether the round found no misbehavior.
func (r *Result) OK() bool { return len(r.Alarms) == 0 }

// Write prints the outcome of a round of the log origin that ended with
// err (nil when it completed). As JSON: the Result with "ok" (no alarm
// and no error) and "error", one object. As text: a line per warning
// ("warning: ..."), a line per alarm, and, when the round is ok, "OK: ..."
// naming the sizes, the entries checked and the gossip compared.
func (r *Result) Write(w io.Writer, asJSON bool, origin string, err error) error {
	ok := r.OK() && err == nil
	if asJSON {
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		return json.NewEncoder(w).Encode(struct {
			*Result
			OK    bool   `json:"ok"`
			Error string `json:"error,omitempty"`
		}{r, ok, errText})
	}
	var b strings.Builder
	for _, warning := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warning)
	}
	for _, a := range r.Alarms {
		fmt.Fprintf(&b, "%s\n", a)
	}
	if ok {
		fmt.Fprintf(&b, "OK: %s at size %d (was %d): checked entries [%d, %d), consistent with %d gossiped checkpoint(s)\n",
			origin, r.Size, r.PreviousSize, r.From, r.To, r.Gossip)
	}
	_, werr := io.WriteString(w, b.String())
	return werr
}

// SaveEvidence writes EvidenceText, at now, to path (mode 0644,
// atomically: see WriteFileWith), or when path is "" to
// dir/evidence-<UTC time>.txt; it returns the path written.
func (r *Result) SaveEvidence(path, dir, logURL string, now time.Time) (string, error) {
	now = now.UTC()
	if path == "" {
		path = filepath.Join(dir, "evidence-"+now.Format("20060102T150405.000000000Z")+".txt")
	}
	return path, WriteFileAtomic(path, r.EvidenceText(logURL, now), 0o644)
}

// Forks counts the alarms about the log's history (fork, rollback).
func (r *Result) Forks() int {
	n := 0
	for _, a := range r.Alarms {
		if a.Kind == KindFork || a.Kind == KindRollback {
			n++
		}
	}
	return n
}

// Monitor follows one log.
type Monitor struct {
	Origin string // checkpoint origin
	Key    string // the log's note verifier key
	Client Client
	Gossip []Source
	// Save, if set, is called with the state after each step that changes
	// it (a newly trusted checkpoint, a checked chunk of entries). An
	// error from Save ends the round.
	Save func(*State) error
	// Progress, if set, is called as entries are checked.
	Progress func(done, total uint64)
	// Now is the clock overdue contests are judged by (default time.Now).
	Now func() time.Time
	// ChunkBundles is the number of entry bundles read per step (default 16).
	ChunkBundles int
	// MaxViolations stops the entry scan after that many violations
	// (default 100).
	MaxViolations int
	// Earlier, when set, returns the entry at index of the earlier shard
	// with origin, authenticated against that shard's checkpoint (see
	// Shards): a contest of a decision in an earlier shard is checked
	// against it. Without it such a contest's decision is not checked.
	Earlier func(origin string, index uint64) ([]byte, error)
	// EarlierConstitutions, when set, returns the rule ids of a
	// constitution version ("id@version") published in an earlier shard:
	// a decision may cite it (constitutions stay in force across a
	// rotation).
	EarlierConstitutions func(ref string) ([]string, bool)
	// EarlierContest, when set, returns the state of the contest with id
	// logged in the earlier shard with origin: a resolution naming that
	// shard (contest_shard) is checked against it and marks it resolved
	// (ContestState.ResolvedIn), so the caller MUST save that shard's
	// state again. Without it such a resolution's contest is not checked.
	EarlierContest func(origin, id string) (*ContestState, bool)
}

// inShard names the shard of a resolution index ("" for this one).
func inShard(origin string) string {
	if origin == "" {
		return ""
	}
	return " of shard " + origin
}

// errFetch marks errors of fetching a tile (network, HTTP status): those
// end the round with an error rather than an alarm.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

func isFetch(err error) bool {
	var fe *fetchError
	return errors.As(err, &fe)
}

// Round runs one round on st: fetch and verify the log's checkpoint, check
// it against the trusted one and the gossiped ones, re-derive its root
// from the tiles, then read and check every entry not checked yet. st is
// updated (and saved through Save) only with what was verified: after a
// fork nothing changes, after a violation entries are not marked checked
// beyond the last chunk without one, so that the next round finds it again.
//
// It returns an error when the round could not be completed (network,
// a checkpoint that does not open, Save); misbehavior is in the Result.
func (m *Monitor) Round(ctx context.Context, st *State) (*Result, error) {
	if st.Origin != m.Origin || st.Key != m.Key {
		return nil, fmt.Errorf("monitor: the state follows %q with key %q, not %q with key %q", st.Origin, st.Key, m.Origin, m.Key)
	}
	res := &Result{Alarms: []Alarm{}, Warnings: []string{}}
	var trusted *verify.Checkpoint
	if st.Checkpoint != "" {
		var err error
		if trusted, err = verify.OpenCheckpoint([]byte(st.Checkpoint), m.Origin, m.Key); err != nil {
			return nil, fmt.Errorf("monitor: the trusted checkpoint in the state does not open: %w", err)
		}
		res.PreviousSize = trusted.Size
		if st.Checked > trusted.Size {
			return nil, fmt.Errorf("monitor: state says %d entries checked, beyond its checkpoint of size %d", st.Checked, trusted.Size)
		}
	}
	raw, err := m.Client.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching the checkpoint: %w", err)
	}
	cp, err := verify.OpenCheckpoint(raw, m.Origin, m.Key)
	if err != nil {
		return nil, fmt.Errorf("the log's checkpoint does not open with the key: %w", err)
	}
	res.Checkpoint, res.Size = cp, cp.Size
	res.From, res.To = st.Checked, st.Checked

	f := m.Client.Fetcher()
	reader := tile.NewReader(ctx, func(ctx context.Context, p string) ([]byte, error) {
		b, err := f(ctx, p)
		if err != nil {
			return nil, &fetchError{err}
		}
		return b, nil
	})
	hr := reader.HashReader(cp.Size, cp.Hash)

	// The root, re-derived from the tiles.
	if cp.Size > 0 {
		th, err := tlog.TreeHash(int64(cp.Size), hr)
		if err == nil && !bytes.Equal(th[:], cp.Hash) {
			err = fmt.Errorf("tiles give root %x, checkpoint says %x", th[:], cp.Hash)
		}
		if err != nil {
			if isFetch(err) {
				return nil, fmt.Errorf("fetching tiles: %w", err)
			}
			res.Alarms = append(res.Alarms, tileAlarm(cp, fmt.Sprintf("the tiles of the tree of size %d do not authenticate against its checkpoint: %v", cp.Size, err)))
			return res, nil
		}
	}

	// History: the trusted checkpoint, then every gossiped one.
	if trusted != nil {
		if cp.Size < trusted.Size {
			res.Alarms = append(res.Alarms, Alarm{Kind: KindRollback,
				Message:  fmt.Sprintf("the log serves a checkpoint of size %d, smaller than the size %d it signed before", cp.Size, trusted.Size),
				Evidence: forkEvidence("the log's tree shrank", "trusted (state)", trusted, "served now", cp, "")})
			return res, nil
		}
		a, err := m.compare(ctx, cp, hr, trusted, "trusted (state)")
		if err != nil {
			return nil, err
		}
		if a != nil {
			res.Alarms = append(res.Alarms, *a)
		}
	}
	for _, src := range m.Gossip {
		data, err := src.Read(ctx)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("gossip %s: %v", src.Name, err))
			continue
		}
		notes := ParseCheckpoints(data)
		if len(notes) == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("gossip %s holds no checkpoint", src.Name))
		}
		for i, n := range notes {
			g, err := verify.OpenCheckpoint(n, m.Origin, m.Key)
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("gossip %s checkpoint %d skipped: %v", src.Name, i+1, err))
				continue
			}
			res.Gossip++
			a, err := m.compare(ctx, cp, hr, g, fmt.Sprintf("gossiped (%s, checkpoint %d)", src.Name, i+1))
			if err != nil {
				return nil, err
			}
			if a != nil {
				res.Alarms = append(res.Alarms, *a)
			}
		}
	}
	if len(res.Alarms) > 0 {
		return res, nil
	}

	// Trust cp.
	st.Checkpoint = string(cp.Raw)
	if err := m.save(st); err != nil {
		return nil, err
	}

	if err := m.checkEntries(ctx, st, reader, hr, cp, res); err != nil {
		return res, err
	}
	if len(res.Alarms) > 0 {
		return res, nil
	}
	m.overdue(st, res)
	st.Rounds++
	st.LastSuccess = m.now().UTC()
	if err := m.save(st); err != nil {
		return nil, err
	}
	return res, nil
}

// Follow runs rounds on st: one when once, otherwise one every interval
// until ctx ends. after, if set, is told each round's outcome (the Result
// is nil when the round could not be completed). Follow returns the
// Result of the first round that found misbehavior, with that round's
// error (the caller keeps the evidence); else, with once, the round's
// error; else nil when ctx ends. Without once a round that fails
// (network) is retried at the next interval.
func (m *Monitor) Follow(ctx context.Context, st *State, once bool, interval time.Duration, after func(*Result, error)) (*Result, error) {
	return Follow(ctx, m, st, once, interval, after)
}

// Rounder runs monitor rounds: a Monitor, or a follower of several shards
// (api/client.ShardMonitor).
type Rounder interface {
	Round(ctx context.Context, st *State) (*Result, error)
}

// Follow is Monitor.Follow for any Rounder.
func Follow(ctx context.Context, m Rounder, st *State, once bool, interval time.Duration, after func(*Result, error)) (*Result, error) {
	for {
		res, err := m.Round(ctx, st)
		if after != nil {
			after(res, err)
		}
		switch {
		case res != nil && !res.OK():
			return res, err
		case once:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(interval):
		}
	}
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Monitor) save(st *State) error {
	if m.Save == nil {
		return nil
	}
	if err := m.Save(st); err != nil {
		return fmt.Errorf("saving the state: %w", err)
	}
	return nil
}

// compare checks that other and ours (the log's checkpoint, whose tiles hr
// reads) are views of one log. It returns an alarm, or an error when it
// could not decide.
func (m *Monitor) compare(ctx context.Context, ours *verify.Checkpoint, hr tlog.HashReader, other *verify.Checkpoint, name string) (*Alarm, error) {
	const oursName = "served by the log now"
	fork := func(why string) *Alarm {
		return &Alarm{Kind: KindFork,
			Message:  fmt.Sprintf("the %s checkpoint of size %d and the log's checkpoint of size %d conflict: %s", name, other.Size, ours.Size, why),
			Evidence: forkEvidence(why, name, other, oursName, ours, "")}
	}
	switch {
	case other.Size == 0:
		// Every tree extends the empty tree, whose root is SHA-256("").
		if err := verify.Consistency(0, ours.Size, nil, other.Hash, ours.Hash); err != nil {
			return fork(fmt.Sprintf("a checkpoint of the empty tree must have root SHA-256(\"\"): %v", err)), nil
		}
		return nil, nil
	case other.Size == ours.Size:
		if !bytes.Equal(other.Hash, ours.Hash) {
			return fork(fmt.Sprintf("same size %d, different roots %s and %s", ours.Size, b64(other.Hash), b64(ours.Hash))), nil
		}
		return nil, nil
	case other.Size < ours.Size:
		proof, ferr := m.Client.ConsistencyProof(ctx, other.Size, ours.Size)
		var verr error
		if ferr == nil {
			if verr = verify.Consistency(other.Size, ours.Size, proof, other.Hash, ours.Hash); verr == nil {
				return nil, nil
			}
		}
		bad, perr := badProof(other.Size, ours.Size, proof, ferr, verr), cmp.Or(ferr, verr)
		// Decide from the tiles, authenticated against ours: they alone
		// settle whether the first other.Size entries have other's root.
		th, err := tlog.TreeHash(int64(other.Size), hr)
		if err != nil {
			if isFetch(err) {
				return nil, fmt.Errorf("fetching tiles: %w", err)
			}
			a := tileAlarm(ours, fmt.Sprintf("the tiles of the tree of size %d do not authenticate against its checkpoint: %v", ours.Size, err))
			if bad != "" {
				// What the log answered for the proof (for a tiles-only
				// source, the tiles it was computed from) is evidence too.
				a.Evidence += "\n" + bad
			}
			return &a, nil
		}
		if !bytes.Equal(th[:], other.Hash) {
			why := fmt.Sprintf("the first %d entries of the log's tree of size %d have root %s (from its tiles), not %s; consistency proof: %v",
				other.Size, ours.Size, b64(th[:]), b64(other.Hash), errString(perr))
			a := fork(why)
			a.Evidence = forkEvidence(why, name, other, oursName, ours, bad)
			return a, nil
		}
		if bad == "" {
			// The proof could not be fetched (network, timeout, HTTP
			// status): no statement of the log's to hold against it.
			return nil, fmt.Errorf("fetching the consistency proof from %d to %d (the tiles show the two trees consistent): %w", other.Size, ours.Size, perr)
		}
		return &Alarm{Kind: KindProof,
			Message:  fmt.Sprintf("the log's consistency proof from %d to %d does not verify (%v), although its tiles show the trees are consistent", other.Size, ours.Size, perr),
			Evidence: proofEvidence("consistency proof failed: "+perr.Error()+"; the tiles show the two trees consistent", name, other, oursName, ours, bad)}, nil
	default: // a gossiped checkpoint ahead of ours
		proof, ferr := m.Client.ConsistencyProof(ctx, ours.Size, other.Size)
		var verr error
		if ferr == nil {
			if verr = verify.Consistency(ours.Size, other.Size, proof, ours.Hash, other.Hash); verr == nil {
				return nil, nil
			}
		}
		perr := cmp.Or(ferr, verr)
		if bad := badProof(ours.Size, other.Size, proof, ferr, verr); bad != "" {
			// The log signed both trees and answered, as the proof that
			// one extends the other, something that does not prove it.
			why := fmt.Sprintf("the log's consistency proof from its tree of size %d to the tree of size %d it signed does not prove that one extends the other: %v", ours.Size, other.Size, perr)
			a := fork(why)
			a.Evidence = proofEvidence(why, oursName, ours, name, other, bad)
			return a, nil
		}
		// The proof could not be fetched. If the log's latest checkpoint is
		// smaller than a size it signed, it forked or rolled back;
		// otherwise nothing is decided.
		raw, err := m.Client.Checkpoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("fetching the checkpoint: %w", err)
		}
		latest, err := verify.OpenCheckpoint(raw, m.Origin, m.Key)
		if err != nil {
			return nil, fmt.Errorf("the log's checkpoint does not open with the key: %w", err)
		}
		if latest.Size < other.Size {
			why := fmt.Sprintf("the log signed a tree of size %d, but serves a tree of size %d and cannot prove consistency with it (%v)", other.Size, latest.Size, perr)
			return &Alarm{Kind: KindFork, Message: fmt.Sprintf("the %s checkpoint of size %d is not in the log's history: %s", name, other.Size, why),
				Evidence: forkEvidence(why, "served by the log now", latest, name, other, "")}, nil
		}
		return nil, fmt.Errorf("fetching the consistency proof from the log's size %d to the %s checkpoint of size %d: %w", ours.Size, name, other.Size, perr)
	}
}

// badProof returns the evidence text of a consistency proof from size1 to
// size2 that the log answered and that failed: the proof it served if it
// did not verify (verr), or its answer verbatim if that was not a proof at
// all (ferr wraps a *MalformedProofError). It returns "" when the request
// itself failed (network, timeout, HTTP status): that is evidence of
// nothing.
func badProof(size1, size2 uint64, proof [][]byte, ferr, verr error) string {
	var s strings.Builder
	var mp *MalformedProofError
	switch {
	case verr != nil:
		fmt.Fprintf(&s, "consistency proof from %d to %d served by the log (%d hashes), which does not verify: %v\n", size1, size2, len(proof), verr)
		for _, h := range proof {
			fmt.Fprintf(&s, "  %s\n", b64(h))
		}
	case errors.As(ferr, &mp):
		fmt.Fprintf(&s, "the log's answer to GET %s (200 OK), which is not the consistency proof from %d to %d: %v\n", mp.URL, size1, size2, mp.Err)
		fmt.Fprintf(&s, "answer (%d bytes, base64):\n", len(mp.Body))
		for b := b64(mp.Body); len(b) > 0; {
			n := min(len(b), 76)
			fmt.Fprintf(&s, "  %s\n", b[:n])
			b = b[n:]
		}
	}
	return s.String()
}

func tileAlarm(cp *verify.Checkpoint, msg string) Alarm {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", msg)
	writeCheckpoint(&b, "the checkpoint the tiles were checked against", cp)
	return Alarm{Kind: KindTile, Message: msg, Evidence: b.String()}
}

func errString(err error) string {
	if err == nil {
		return "verified"
	}
	return err.Error()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func writeCheckpoint(b *strings.Builder, title string, cp *verify.Checkpoint) {
	fmt.Fprintf(b, "%s (size %d, root %s):\n-----BEGIN CHECKPOINT-----\n%s-----END CHECKPOINT-----\n", title, cp.Size, b64(cp.Hash), cp.Raw)
}

func forkEvidence(why, nameA string, a *verify.Checkpoint, nameB string, b *verify.Checkpoint, extra string) string {
	return evidence(fmt.Sprintf("Two checkpoints signed by the log key %s that cannot both be true.", a.Origin), why, nameA, a, nameB, b, extra)
}

// proofEvidence is the evidence of a consistency proof between two signed
// checkpoints that the log answered and that proves nothing (bad, from
// badProof).
func proofEvidence(why, nameA string, a *verify.Checkpoint, nameB string, b *verify.Checkpoint, bad string) string {
	return evidence(fmt.Sprintf("Two checkpoints signed by the log key %s, and the consistency proof between them the log answered, which does not prove that the larger tree extends the smaller.", a.Origin), why, nameA, a, nameB, b, bad)
}

func evidence(head, why, nameA string, a *verify.Checkpoint, nameB string, b *verify.Checkpoint, extra string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s\n", head)
	fmt.Fprintf(&s, "What was checked: %s\n\n", why)
	writeCheckpoint(&s, "checkpoint A, "+nameA, a)
	s.WriteString("\n")
	writeCheckpoint(&s, "checkpoint B, "+nameB, b)
	if extra != "" {
		s.WriteString("\n" + extra)
	}
	return s.String()
}

// checkEntries reads entries [st.Checked, cp.Size) and checks them.
func (m *Monitor) checkEntries(ctx context.Context, st *State, reader *tile.Reader, hr tlog.HashReader, cp *verify.Checkpoint, res *Result) error {
	from, to := st.Checked, cp.Size
	res.From, res.To = from, from
	if from >= to {
		return nil
	}
	chunk := uint64(max(m.ChunkBundles, 1))
	if m.ChunkBundles <= 0 {
		chunk = 16
	}
	maxV := m.MaxViolations
	if maxV <= 0 {
		maxV = 100
	}
	r := &ruleChecker{m: m, st: st.clone(), reader: reader, hr: hr, cp: cp, bundles: map[uint64][][]byte{}}
	clean := true
	for first := from / tile.Width; first*tile.Width < to; first += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min((first+chunk)*tile.Width, to)
		before := len(res.Alarms)
		for n := first; n*tile.Width < end; n++ {
			entries, err := r.bundle(n)
			if err != nil {
				if isFetch(err) {
					return fmt.Errorf("fetching entries: %w", err)
				}
				res.Alarms = append(res.Alarms, tileAlarm(cp, err.Error()))
				return nil
			}
			for j, e := range entries {
				idx := n*tile.Width + uint64(j)
				if idx < from || idx >= end {
					continue
				}
				for _, v := range r.check(idx, e) {
					res.Alarms = append(res.Alarms, r.violation(idx, e, v))
				}
				r.st.Checked = idx + 1
				r.st.EntriesChecked++
			}
			if m.Progress != nil {
				m.Progress(min((n+1)*tile.Width, end)-from, to-from)
			}
		}
		res.To = end
		if len(res.Alarms) > before {
			clean = false
		}
		if len(res.Alarms) >= maxV {
			res.Warnings = append(res.Warnings, fmt.Sprintf("stopped after %d violations, at index %d", len(res.Alarms), end))
			return nil
		}
		if clean {
			*st = *r.st.clone()
			if err := m.save(st); err != nil {
				return err
			}
		}
	}
	return nil
}

type ruleChecker struct {
	m       *Monitor
	st      *State
	reader  *tile.Reader
	hr      tlog.HashReader
	cp      *verify.Checkpoint
	bundles map[uint64][][]byte
}

// bundle returns the entries of bundle n of the tree of cp, each checked
// against the authenticated level-0 hashes.
func (r *ruleChecker) bundle(n uint64) ([][]byte, error) {
	if b, ok := r.bundles[n]; ok {
		return b, nil
	}
	entries, err := r.reader.AuthenticatedBundle(r.hr, n, r.cp.Size)
	if err != nil {
		return nil, err
	}
	if len(r.bundles) >= 64 {
		clear(r.bundles)
	}
	r.bundles[n] = entries
	return entries, nil
}

func (r *ruleChecker) entry(idx uint64) ([]byte, error) {
	b, err := r.bundle(idx / tile.Width)
	if err != nil {
		return nil, err
	}
	return b[idx%tile.Width], nil
}

// broken is one rule an entry breaks; related are earlier entries the
// violation concerns (governance.go).
type broken struct {
	rule, msg string
	related   []uint64
}

// check applies the ledger's rules to entry idx and updates the rule state.
func (r *ruleChecker) check(idx uint64, entry []byte) []broken {
	var out []broken
	bad := func(rule, format string, a ...any) {
		out = append(out, broken{rule: rule, msg: fmt.Sprintf(format, a...)})
	}
	var env record.Envelope
	if err := json.Unmarshal(entry, &env); err != nil {
		bad("envelope", "entry is not a record envelope: %v", err)
		return out
	}
	if env.V != 1 {
		bad("envelope", "envelope version is %d, want 1", env.V)
	}
	t, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
	if err != nil {
		bad("logged_at", "logged_at %q is not an RFC 3339 time", env.LoggedAt)
	} else {
		if r.st.LastLoggedAt != "" {
			if last, err := time.Parse(time.RFC3339Nano, r.st.LastLoggedAt); err == nil && t.Before(last) {
				bad("logged_at", "logged_at %s is before the previous entry's %s: log time goes backwards", env.LoggedAt, r.st.LastLoggedAt)
			}
		}
		r.st.LastLoggedAt = env.LoggedAt
	}
	switch env.Kind {
	case record.KindConstitution:
		var c record.Constitution
		if err := json.Unmarshal(env.Body, &c); err != nil || c.ConstitutionID == "" || c.Version == "" {
			bad("constitution", "not a constitution body (constitution_id and version required): %v", err)
			break
		}
		ref := c.Ref()
		if _, dup := r.st.Constitutions[ref]; dup {
			bad("constitution", "constitution %s is published a second time", ref)
			break
		}
		ids := make([]string, 0, len(c.Rules))
		for _, rule := range c.Rules {
			ids = append(ids, rule.RuleID)
		}
		r.st.Constitutions[ref] = ids
		out = append(out, r.constitutionLogged(idx, &c)...)
	case record.KindChallenge, record.KindChallengeResponse, record.KindAmendment:
		out = append(out, r.governance(idx, &env)...)
	case record.KindDecision:
		var d record.Decision
		if err := json.Unmarshal(env.Body, &d); err != nil {
			bad("decision", "not a decision body: %v", err)
			break
		}
		for _, v := range record.CheckDecision(&d, r.published) {
			switch v.Rule {
			case record.RuleConstitution:
				bad(v.Rule, "decision %s cites constitution %s, which was not published earlier in the log", d.DecisionID, v.Ref)
			case record.RuleRule:
				bad(v.Rule, "decision %s cites rule %q, which does not exist in constitution %s", d.DecisionID, v.RuleID, v.Ref)
			default:
				bad(v.Rule, "decision %s refused without citing a rule whose effect is refuse", d.DecisionID)
			}
		}
	case record.KindContest:
		var c record.Contest
		if err := json.Unmarshal(env.Body, &c); err != nil || c.ContestID == "" || !hasMember(env.Body, "decision", "index") {
			bad("contest", "not a contest body (contest_id and decision.index required): %v", err)
			break
		}
		if _, dup := r.st.Contests[c.ContestID]; dup {
			bad("contest", "contest id %s is logged a second time", c.ContestID)
			break
		}
		if msg := r.checkContested(idx, &c); msg != "" {
			bad("contest", "contest %s: %s", c.ContestID, msg)
		}
		if _, err := time.Parse(time.RFC3339Nano, c.DueBy); err != nil {
			bad("contest", "contest %s has due_by %q, not an RFC 3339 time", c.ContestID, c.DueBy)
		}
		r.st.Contests[c.ContestID] = &ContestState{Index: idx, DecisionID: c.Decision.DecisionID, DueBy: c.DueBy}
	case record.KindResolution:
		var res record.Resolution
		if err := json.Unmarshal(env.Body, &res); err != nil || res.ContestID == "" {
			bad("resolution", "not a resolution body (contest_id required): %v", err)
			break
		}
		if !res.HumanReviewed {
			bad("resolution", "the resolution of contest %s is not human_reviewed (DSA Art. 20(6))", res.ContestID)
		}
		c, ok := r.st.Contests[res.ContestID]
		if res.ContestShard != "" { // a contest filed before a rotation
			if r.m.EarlierContest == nil {
				break // in an earlier shard, which this monitor does not read
			}
			if c, ok = r.m.EarlierContest(res.ContestShard, res.ContestID); !ok {
				bad("resolution", "resolves contest %s of shard %s, which that shard did not log", res.ContestID, res.ContestShard)
				break
			}
		}
		switch {
		case !ok:
			bad("resolution", "resolves contest %s, which was not logged earlier", res.ContestID)
		case c.Resolution != nil:
			bad("resolution", "resolves contest %s, which was resolved already at index %d%s", res.ContestID, *c.Resolution, inShard(c.ResolvedIn))
		default:
			i := idx
			c.Resolution = &i
			if res.ContestShard != "" {
				c.ResolvedIn = r.m.Origin
			}
		}
	case record.KindAccess:
		// A read of private content, logged by the ledger (schemas/access.v1.json).
		var a record.Access
		if err := json.Unmarshal(env.Body, &a); err != nil || a.AccessID == "" || len(a.Records) == 0 {
			bad("access", "not an access body (access_id and records required): %v", err)
			break
		}
		var members struct {
			Records []map[string]json.RawMessage `json:"records"`
		}
		_ = json.Unmarshal(env.Body, &members)
		for i, rec := range a.Records {
			if _, ok := members.Records[i]["index"]; !ok || rec.Index >= idx {
				bad("access", "access %s names a record that is not an earlier entry", a.AccessID)
				break
			}
		}
	case record.KindShard:
		// The link to the previous shard (package verify/shard checks it).
		if idx != 0 {
			bad("shard", "a shard record at index %d; a shard record is entry 0 of a shard only", idx)
		}
	default:
		bad("envelope", "unknown record kind %q", env.Kind)
	}
	return out
}

// checkContested checks the decision a contest at idx points at.
func (r *ruleChecker) checkContested(idx uint64, c *record.Contest) string {
	di := c.Decision.Index
	var e []byte
	var err error
	switch {
	case c.Decision.Shard != "" && r.m.Earlier == nil:
		return "" // a decision of an earlier shard, which this monitor does not read
	case c.Decision.Shard != "":
		if e, err = r.m.Earlier(c.Decision.Shard, di); err != nil {
			return fmt.Sprintf("cannot read the contested entry %d of shard %s: %v", di, c.Decision.Shard, err)
		}
	case di >= idx:
		return fmt.Sprintf("references index %d, not an earlier entry", di)
	default:
		if e, err = r.entry(di); err != nil {
			return fmt.Sprintf("cannot read the contested entry %d: %v", di, err)
		}
	}
	if lh := verify.LeafHash(e); !bytes.Equal(lh, c.Decision.LeafHash) {
		return fmt.Sprintf("references index %d with leaf hash %s, but that entry's leaf hash is %s", di, b64(c.Decision.LeafHash), b64(lh))
	}
	var env record.Envelope
	var d record.Decision
	if json.Unmarshal(e, &env) != nil || env.Kind != record.KindDecision || json.Unmarshal(env.Body, &d) != nil {
		return fmt.Sprintf("references index %d, which is not a decision", di)
	}
	if d.DecisionID != c.Decision.DecisionID {
		return fmt.Sprintf("references decision %q, but the decision at index %d is %q", c.Decision.DecisionID, di, d.DecisionID)
	}
	if !d.Outcome.Contestable {
		return fmt.Sprintf("decision %s is logged as not contestable", d.DecisionID)
	}
	for id, o := range r.st.Contests {
		if o.DecisionID == d.DecisionID && o.Resolution == nil {
			return fmt.Sprintf("decision %s already has an open contest, %s (index %d)", d.DecisionID, id, o.Index)
		}
	}
	return ""
}

// published is the record.Published of the constitutions seen so far.
func (r *ruleChecker) published(ref string) (func(string) bool, bool) {
	rules, ok := r.st.Constitutions[ref]
	if !ok && r.m.EarlierConstitutions != nil {
		rules, ok = r.m.EarlierConstitutions(ref)
	}
	return func(id string) bool { return slices.Contains(rules, id) }, ok
}

// hasMember reports whether the JSON object body has obj.name (a member
// whose absence the decoded struct cannot tell from its zero value).
func hasMember(body []byte, obj, name string) bool {
	var top, m map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top[obj], &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// violation builds the alarm for a broken rule at idx, with the entry's
// inclusion proof against the checkpoint, computed from the tiles.
func (r *ruleChecker) violation(idx uint64, entry []byte, v broken) Alarm {
	i := idx
	a := Alarm{Kind: KindViolation, Index: &i, Rule: v.rule, Message: v.msg, Related: sortedRelated(v)}
	var b strings.Builder
	fmt.Fprintf(&b, "Entry %d of the log breaks the rule %q: %s\n\n", idx, v.rule, v.msg)
	fmt.Fprintf(&b, "index: %d\nleaf hash: %s\nentry (base64): %s\nentry (text):\n%s\n\n", idx, b64(verify.LeafHash(entry)), b64(entry), entry)
	p, err := tlog.ProveRecord(int64(r.cp.Size), int64(idx), r.hr)
	if err == nil {
		proof := make([][]byte, len(p))
		for k := range p {
			proof[k] = p[k][:]
		}
		if err = verify.Inclusion(idx, r.cp.Size, verify.LeafHash(entry), proof, r.cp.Hash); err == nil {
			fmt.Fprintf(&b, "inclusion proof of index %d in the tree of size %d (%d hashes, from the leaf up):\n", idx, r.cp.Size, len(proof))
			for _, h := range proof {
				fmt.Fprintf(&b, "  %s\n", b64(h))
			}
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "inclusion proof: could not be computed from the tiles: %v\n", err)
	}
	b.WriteString("\n")
	for _, ri := range a.Related {
		r.writeRelated(&b, ri)
	}
	writeCheckpoint(&b, "checkpoint", r.cp)
	a.Evidence = b.String()
	return a
}

// overdue warns about contests past due without a resolution.
func (m *Monitor) overdue(st *State, res *Result) {
	now := m.now()
	ids := make([]string, 0, len(st.Contests))
	for id := range st.Contests {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := st.Contests[id]
		if c.Resolution != nil {
			continue
		}
		due, err := time.Parse(time.RFC3339Nano, c.DueBy)
		if err == nil && now.After(due) {
			res.OverdueContests++
			res.Warnings = append(res.Warnings, fmt.Sprintf("contest %s (index %d) against decision %s is overdue: due by %s, no resolution logged", id, c.Index, c.DecisionID, c.DueBy))
		}
	}
}
