package ledger_test

// Crash safety. TestCrashRecovery re-runs the test binary as a child
// (TestCrashChild, which skips unless FJA_CRASH_CHILD_DIR is set) that
// appends under load to one Badger directory and reports every
// acknowledgement on stdout; the parent kills it with SIGKILL at a random
// moment, reopens the log in-process and checks that nothing acknowledged
// was lost and that every checkpoint ever returned is consistent with the
// reopened head. TestCloseWhileAppending does the same for a clean Close
// racing with appends.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

const (
	crashEnvDir  = "FJA_CRASH_CHILD_DIR"  // Badger directory; child mode when set
	crashEnvSKey = "FJA_CRASH_CHILD_SKEY" // note private key
	crashEnvSeed = "FJA_CRASH_CHILD_SEED" // round number: entry contents derive from it
	crashEnvSkew = "FJA_CRASH_CHILD_SKEW" // offset of the child's log clock (time.Duration)

	crashWorkers = 64
	crashAckTag  = "ACK "
	crashErrTag  = "ERR "
	crashReady   = "READY"
)

// crashReq is the append a child makes for request n of round seed. Parent
// and child derive it the same way, so the parent checks each
// acknowledgement against what was asked for.
type crashReq struct {
	key  string // non-empty: AppendStamped with this key
	pad  string // stamped entries: filler, so their sizes vary
	data []byte // plain Append
}

// crashStamp is the body of a stamped entry; Key comes first so that stamped
// entries are recognised by their prefix.
type crashStamp struct {
	Key      string `json:"key"`
	Index    uint64 `json:"index"`
	LoggedAt string `json:"logged_at"`
	Pad      string `json:"pad,omitempty"`
}

// crashIndexPrefix namespaces the index key each stamped entry writes in its
// commit: crashIndexPrefix+key -> the entry's index, big-endian.
const crashIndexPrefix = "crash/"

// crashStampFunc builds a stamped entry and its index key.
func crashStampFunc(key, pad string) ledger.StampFunc {
	return func(index uint64, at time.Time) ([]byte, []ledger.KV, error) {
		e, err := json.Marshal(crashStamp{Key: key, Index: index, LoggedAt: at.Format(time.RFC3339Nano), Pad: pad})
		kv := ledger.KV{Key: []byte(crashIndexPrefix + key), Value: binary.BigEndian.AppendUint64(nil, index)}
		return e, []ledger.KV{kv}, err
	}
}

var crashStampPrefix = []byte(`{"key":`)

func crashRand(seed, n int64) *mrand.Rand {
	return mrand.New(mrand.NewPCG(uint64(seed)*0x9e3779b97f4a7c15+1, uint64(n)))
}

// crashSize is 1..4000, skewed towards small entries so rounds stay cheap.
func crashSize(r *mrand.Rand) int {
	u := r.Float64()
	return 1 + int(3999*u*u*u)
}

// crashEntry is the distinct plain entry of request n of round seed.
func crashEntry(seed, n int64) []byte {
	r := crashRand(seed, n)
	r.Uint64() // decorrelate from crashRequest's choices
	head := fmt.Sprintf("fja-crash s%d n%d|", seed, n)
	size := max(crashSize(r), len(head))
	b := make([]byte, size)
	copy(b, head)
	for i := len(head); i < size; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func crashRequest(seed, n int64) crashReq {
	r := crashRand(seed, n)
	earlier := func() (int64, int64) { // an earlier request of this or the two rounds before
		s := max(0, seed-r.Int64N(3))
		return s, r.Int64N(max(n, 1) + 64)
	}
	switch p := r.IntN(100); {
	case p < 20: // stamped
		return crashReq{key: fmt.Sprintf("k%d-%d", seed, n), pad: strings.Repeat("p", crashSize(r)/2)}
	case p < 24: // stamped, probably a duplicate key
		s, m := earlier()
		return crashReq{key: fmt.Sprintf("k%d-%d", s, m), pad: strings.Repeat("q", crashSize(r)/2)}
	case p < 30: // plain, probably a duplicate of an earlier entry
		s, m := earlier()
		return crashReq{data: crashEntry(s, m)}
	case p < 32: // one or two bytes: duplicates by chance, across rounds too
		return crashReq{data: []byte{byte(r.Uint32()), byte(r.Uint32())}[:1+r.IntN(2)]}
	default:
		return crashReq{data: crashEntry(seed, n)}
	}
}

// crashLine is one acknowledgement as the child reports it.
type crashLine struct {
	Seed       int64    `json:"seed"`
	N          int64    `json:"n"`
	Index      uint64   `json:"index"`
	Entry      []byte   `json:"entry"` // base64
	Duplicate  bool     `json:"dup"`
	Size       uint64   `json:"size"`
	Checkpoint []byte   `json:"checkpoint"` // base64
	Proof      [][]byte `json:"proof"`
}

// TestCrashChild is the child process of TestCrashRecovery: it appends with
// crashWorkers goroutines until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("child process of TestCrashRecovery; runs only when " + crashEnvDir + " is set")
	}
	var outMu sync.Mutex
	emit := func(b []byte) {
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.Write(b) // unbuffered: one write per line
	}
	fail := func(format string, a ...any) {
		msg := strings.ReplaceAll(fmt.Sprintf(format, a...), "\n", `\n`)
		emit([]byte(crashErrTag + msg + "\n"))
		os.Exit(3)
	}
	// The parent holds our stdin open; if it goes away, so do we.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(4)
	}()
	seed, err := strconv.ParseInt(os.Getenv(crashEnvSeed), 10, 64)
	if err != nil {
		fail("seed: %v", err)
	}
	skew, err := time.ParseDuration(os.Getenv(crashEnvSkew))
	if err != nil {
		fail("skew: %v", err)
	}
	signer, err := note.NewSigner(os.Getenv(crashEnvSKey))
	if err != nil {
		fail("signer: %v", err)
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		fail("open store: %v", err)
	}
	l, err := ledger.Open(ledger.Config{
		Origin:   testOrigin,
		Signers:  []note.Signer{signer},
		Storage:  st,
		MaxDelay: time.Millisecond,
		Now:      func() time.Time { return time.Now().Add(skew) },
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fail("open log: %v", err)
	}
	emit([]byte(fmt.Sprintf("%s %d\n", crashReady, l.Head().Size)))

	ctx := context.Background()
	var counter atomic.Int64
	for range crashWorkers {
		go func() {
			for {
				n := counter.Add(1) - 1
				req := crashRequest(seed, n)
				var ack *ledger.Ack
				for {
					if req.key != "" {
						ack, err = l.AppendStamped(ctx, []byte(req.key), crashStampFunc(req.key, req.pad))
					} else {
						ack, err = l.Append(ctx, req.data)
					}
					if !errors.Is(err, ledger.ErrPushback) {
						break
					}
					time.Sleep(time.Millisecond)
				}
				if err != nil {
					fail("request %d: %v", n, err)
				}
				line, err := json.Marshal(crashLine{Seed: seed, N: n, Index: ack.Index, Entry: ack.Entry,
					Duplicate: ack.Duplicate, Size: ack.Size, Checkpoint: ack.Checkpoint, Proof: ack.Proof})
				if err != nil {
					fail("marshal: %v", err)
				}
				emit(append(append([]byte(crashAckTag), line...), '\n'))
			}
		}()
	}
	select {} // until killed
}

// crashState is what the parent learned from every round so far.
type crashState struct {
	t        *testing.T
	verifier note.Verifier

	acked     map[uint64][32]byte  // index -> SHA-256 of the acknowledged entry
	firstPlai map[[32]byte]uint64  // plain entry -> the index it was acknowledged at
	keyIndex  map[string]uint64    // stamped key -> the index it was acknowledged at
	trees     map[int64]tlog.Hash  // every checkpoint ever returned, by size
	cps       map[string]tlog.Tree // checkpoints already opened
	maxIndex  int64                // largest acknowledged index, -1 for none
	nAcks     int
}

// record checks one acknowledgement on its own and against all earlier ones.
func (s *crashState) record(a *crashLine) {
	t := s.t
	t.Helper()
	req := crashRequest(a.Seed, a.N)
	if req.key == "" {
		if !bytes.Equal(a.Entry, req.data) {
			t.Fatalf("round %d request %d: acknowledged entry %q, want the appended one (%d bytes)", a.Seed, a.N, crashTrim(a.Entry), len(req.data))
		}
	} else {
		var st crashStamp
		if err := json.Unmarshal(a.Entry, &st); err != nil || st.Key != req.key {
			t.Fatalf("round %d request %d: stamped ack entry %q, want one with key %q (%v)", a.Seed, a.N, crashTrim(a.Entry), req.key, err)
		}
		if !a.Duplicate && st.Pad != req.pad {
			t.Fatalf("round %d request %d: new stamped entry does not carry the request's pad", a.Seed, a.N)
		}
	}
	// The checkpoint opens with the log's key and the proof includes the entry.
	tree := s.tree(a.Checkpoint)
	if uint64(tree.N) != a.Size || a.Index >= a.Size {
		t.Fatalf("ack of index %d: size %d, checkpoint size %d", a.Index, a.Size, tree.N)
	}
	if err := tlog.CheckRecord(toTlog(a.Proof), tree.N, tree.Hash, int64(a.Index), tlog.RecordHash(a.Entry)); err != nil {
		t.Fatalf("ack of index %d: inclusion proof in %d: %v", a.Index, tree.N, err)
	}
	// One entry per index; a duplicate points at the first index.
	h := sha256.Sum256(a.Entry)
	if old, ok := s.acked[a.Index]; ok && old != h {
		t.Fatalf("index %d acknowledged for two different entries", a.Index)
	}
	s.acked[a.Index] = h
	if req.key == "" {
		if first, ok := s.firstPlai[h]; ok && first != a.Index {
			t.Fatalf("entry %q acknowledged at index %d and at %d (dup=%v)", crashTrim(a.Entry), first, a.Index, a.Duplicate)
		}
		s.firstPlai[h] = a.Index
	} else {
		if first, ok := s.keyIndex[req.key]; ok && first != a.Index {
			t.Fatalf("key %q acknowledged at index %d and at %d (dup=%v)", req.key, first, a.Index, a.Duplicate)
		}
		s.keyIndex[req.key] = a.Index
	}
	s.maxIndex = max(s.maxIndex, int64(a.Index))
	s.nAcks++
}

// tree opens a checkpoint and remembers it; two checkpoints of one size
// must commit to one root.
func (s *crashState) tree(cp []byte) tlog.Tree {
	s.t.Helper()
	if tree, ok := s.cps[string(cp)]; ok {
		return tree
	}
	tree := openTree(s.t, s.verifier, cp)
	s.cps[string(cp)] = tree
	if h, ok := s.trees[tree.N]; ok && h != tree.Hash {
		s.t.Fatalf("two checkpoints of size %d with different roots: the log forked", tree.N)
	}
	s.trees[tree.N] = tree.Hash
	return tree
}

// check reopens the log and verifies everything learned so far against it.
// newAcks are the indices acknowledged in the last round.
func (s *crashState) check(dir string, signer note.Signer, newAcks []uint64) (size int64) {
	t := s.t
	t.Helper()
	var index ledger.IndexStore
	l := openLog(t, dir, signer, func(c *ledger.Config) { index = c.Storage.(ledger.IndexStore) })
	defer func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	head := l.Head()
	ht := s.tree(head.Checkpoint)
	if uint64(ht.N) != head.Size || !bytes.Equal(ht.Hash[:], head.Root) {
		t.Fatalf("reopened head: size %d root %x, checkpoint says %d %x", head.Size, head.Root, ht.N, ht.Hash)
	}
	// (3) the head covers every acknowledged index.
	if ht.N < s.maxIndex+1 {
		t.Fatalf("reopened head has size %d, but index %d was acknowledged", ht.N, s.maxIndex)
	}
	// (1) this round's acknowledged entries, one by one.
	for _, i := range newAcks {
		es, err := l.Entries(i, 1)
		if err != nil {
			t.Fatalf("acknowledged entry %d after restart: %v", i, err)
		}
		if sha256.Sum256(es[0]) != s.acked[i] {
			t.Fatalf("entry %d after restart is %q, not the acknowledged one", i, crashTrim(es[0]))
		}
	}
	// (2) every checkpoint ever returned is consistent with the new head.
	for n, h := range s.trees {
		switch {
		case n > ht.N:
			t.Fatalf("checkpoint of size %d was returned, the reopened head has size %d", n, ht.N)
		case n == 0:
		case n == ht.N:
			if h != ht.Hash {
				t.Fatalf("checkpoint of size %d has root %v, the reopened head %v", n, h, ht.Hash)
			}
		default:
			p, err := l.ConsistencyProof(uint64(n), uint64(ht.N))
			if err != nil {
				t.Fatalf("consistency proof %d -> %d: %v", n, ht.N, err)
			}
			if err := tlog.CheckTree(toTlog(p), ht.N, ht.Hash, n, h); err != nil {
				t.Fatalf("checkpoint of size %d is not consistent with the reopened head of size %d: %v", n, ht.N, err)
			}
		}
	}
	// The whole log, in index order: (1) every acknowledged entry of every
	// round is there, (4) log time never decreases, (5) no entry and no
	// stamped key is logged twice; and the entries hash to the head's root.
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	seen := make(map[[32]byte]uint64, ht.N)
	keys := map[string]uint64{}
	var lastTime time.Time
	var lastTimeIndex uint64
	for start := uint64(0); start < uint64(ht.N); {
		n := int(min(uint64(ledger.TileWidth), uint64(ht.N)-start))
		es, err := l.Entries(start, n)
		if err != nil {
			t.Fatalf("entries [%d, %d+%d): %v", start, start, n, err)
		}
		for j, e := range es {
			i := start + uint64(j)
			h := sha256.Sum256(e)
			if want, ok := s.acked[i]; ok && want != h {
				t.Fatalf("entry %d after restart is %q, not the acknowledged one", i, crashTrim(e))
			}
			if first, ok := seen[h]; ok {
				t.Fatalf("entry %q is logged at %d and again at %d", crashTrim(e), first, i)
			}
			seen[h] = i
			if bytes.HasPrefix(e, crashStampPrefix) {
				var st crashStamp
				if err := json.Unmarshal(e, &st); err != nil {
					t.Fatalf("stamped entry %d: %v", i, err)
				}
				if first, ok := keys[st.Key]; ok {
					t.Fatalf("key %q is logged at %d and again at %d", st.Key, first, i)
				}
				keys[st.Key] = i
				if st.Index != i {
					t.Fatalf("stamped entry at %d was stamped with index %d", i, st.Index)
				}
				at, err := time.Parse(time.RFC3339Nano, st.LoggedAt)
				if err != nil {
					t.Fatalf("stamped entry %d: logged_at: %v", i, err)
				}
				if at.Before(lastTime) {
					t.Fatalf("log time goes backwards: entry %d logged at %v, entry %d at %v", lastTimeIndex, lastTime, i, at)
				}
				lastTime, lastTimeIndex = at, i
			}
			if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
				t.Fatal(err)
			}
		}
		start += uint64(n)
	}
	if ht.N > 0 {
		root, err := rng.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, ht.Hash[:]) {
			t.Fatalf("the %d stored entries hash to %x, the head's root is %v", ht.N, root, ht.Hash)
		}
	}
	// The index keys of the stamped entries were committed with them, and
	// no index key of an entry that was lost survived.
	idx := map[string]uint64{}
	err := index.Scan(context.Background(), []byte(crashIndexPrefix), nil, func(k, v []byte) bool {
		if len(v) != 8 {
			t.Errorf("index key %q has a %d-byte value", k, len(v))
			return false
		}
		idx[strings.TrimPrefix(string(k), crashIndexPrefix)] = binary.BigEndian.Uint64(v)
		return true
	})
	if err != nil {
		t.Fatalf("scan index keys: %v", err)
	}
	for k, i := range keys {
		if j, ok := idx[k]; !ok || j != i {
			t.Fatalf("stamped entry %d with key %q: its index key holds %d (present %v)", i, k, j, ok)
		}
	}
	if len(idx) != len(keys) {
		for k, j := range idx {
			if _, ok := keys[k]; !ok {
				t.Fatalf("index key %q -> %d is stored, but no entry with that key is logged (log size %d)", k, j, ht.N)
			}
		}
	}
	for h, i := range s.firstPlai {
		if seen[h] != i {
			t.Fatalf("plain entry acknowledged at %d is logged at %d", i, seen[h])
		}
	}
	for k, i := range s.keyIndex {
		if keys[k] != i {
			t.Fatalf("key %q acknowledged at %d is logged at %d", k, i, keys[k])
		}
	}
	return ht.N
}

func crashTrim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// TestCrashRecovery: a child process appends under load and is killed with
// SIGKILL at random moments, many times; after each restart every
// acknowledged entry is present and every checkpoint it ever returned is
// consistent with the new one.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashEnvDir) != "" {
		t.Skip("in the child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot re-run the test binary: %v", err)
	}
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	if v := os.Getenv("FJA_CRASH_ROUNDS"); v != "" {
		if rounds, err = strconv.Atoi(v); err != nil {
			t.Fatalf("FJA_CRASH_ROUNDS: %v", err)
		}
	}
	seed := time.Now().UnixNano()
	if v := os.Getenv("FJA_CRASH_SEED"); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("FJA_CRASH_SEED: %v", err)
		}
	}
	t.Logf("kill schedule seed %d (rerun with FJA_CRASH_SEED=%d)", seed, seed)
	rnd := mrand.New(mrand.NewPCG(uint64(seed), 0))

	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &crashState{t: t, verifier: verifier, acked: map[uint64][32]byte{}, firstPlai: map[[32]byte]uint64{},
		keyIndex: map[string]uint64{}, trees: map[int64]tlog.Hash{}, cps: map[string]tlog.Tree{}, maxIndex: -1}

	start := time.Now()
	for round := range rounds {
		// Every third round the child's clock runs an hour behind: log
		// time must still not go backwards across the restart.
		skew := time.Duration(0)
		if round%3 == 2 {
			skew = -time.Hour
		}
		// Mostly the delay counts from the child's READY line (log open);
		// every fourth round from its start, so the kill may land in
		// Badger's recovery or ledger.Open.
		delay := time.Duration(50+rnd.IntN(651)) * time.Millisecond
		fromStart := round%4 == 3
		t0 := time.Now()
		lines, out := crashRunChild(t, exe, dir, skey, round, skew, delay, fromStart)
		t1 := time.Now()
		var newAcks []uint64
		for _, ln := range lines {
			var a crashLine
			if err := json.Unmarshal(ln, &a); err != nil {
				t.Fatalf("round %d: bad ack line %q: %v", round, crashTrim(ln), err)
			}
			if a.Seed != int64(round) {
				t.Fatalf("round %d: ack of round %d", round, a.Seed)
			}
			s.record(&a)
			newAcks = append(newAcks, a.Index)
		}
		t2 := time.Now()
		size := s.check(dir, signer, newAcks)
		from := "ready"
		if fromStart {
			from = "start"
		}
		t.Logf("round %2d: skew %v, killed %v after %s: %5d acks, log size %6d, %4d checkpoints so far (child %v, acks %v, reopen+check %v)%s",
			round, skew, delay, from, len(lines), size, len(s.trees),
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond), out)
	}
	if s.nAcks == 0 {
		t.Fatal("no append was acknowledged in any round")
	}
	t.Logf("%d rounds, %d acks, %d distinct checkpoints in %v", rounds, s.nAcks, len(s.trees), time.Since(start).Round(time.Millisecond))
}

// crashRunChild runs one child, kills it and returns the complete ack lines
// it printed (without the tag) and a note on how far it got.
func crashRunChild(t *testing.T, exe, dir, skey string, round int, skew, delay time.Duration, fromStart bool) ([][]byte, string) {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		crashEnvDir+"="+dir, crashEnvSKey+"="+skey,
		crashEnvSeed+"="+strconv.Itoa(round), crashEnvSkew+"="+skew.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()

	var (
		lines  [][]byte
		other  []string
		readyC = make(chan struct{})
		eof    = make(chan struct{})
	)
	go func() {
		defer close(eof)
		r := bufio.NewReaderSize(stdout, 64<<10)
		ready := false
		for {
			ln, err := r.ReadBytes('\n')
			if err != nil {
				return // EOF; a line cut off by the kill has no newline and is dropped
			}
			ln = ln[:len(ln)-1]
			switch {
			case bytes.HasPrefix(ln, []byte(crashAckTag)):
				lines = append(lines, ln[len(crashAckTag):])
			case !ready && bytes.HasPrefix(ln, []byte(crashReady)):
				ready = true
				close(readyC)
			default:
				other = append(other, string(ln))
			}
		}
	}()

	var exitedEarly bool
	if fromStart {
		select {
		case <-time.After(delay):
		case <-eof:
			exitedEarly = true
		}
	} else {
		select {
		case <-readyC:
			select {
			case <-time.After(delay):
			case <-eof:
				exitedEarly = true
			}
		case <-eof:
			exitedEarly = true
		case <-time.After(30 * time.Second):
			t.Errorf("round %d: child not ready after 30s", round)
		}
	}
	cmd.Process.Kill() // SIGKILL
	<-eof
	err = cmd.Wait()
	if exitedEarly || cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("round %d: child exited on its own (%v) after %v\nstdout:\n%s\nstderr:\n%s",
			round, err, time.Since(started), strings.Join(other, "\n"), stderr.String())
	}
	for _, o := range other {
		if strings.HasPrefix(o, crashErrTag) {
			t.Fatalf("round %d: child failed: %s\nstderr:\n%s", round, o, stderr.String())
		}
	}
	summary := ""
	if len(other) > 0 {
		summary = fmt.Sprintf(" [child also printed %q]", other)
	}
	return lines, summary
}

// TestCloseWhileAppending closes the log while 64 goroutines append: every
// append returns, either acknowledged (and then present after reopening) or
// refused with ErrClosed or ErrPushback; Close integrates what was queued,
// so the reopened log holds exactly the acknowledged entries.
func TestCloseWhileAppending(t *testing.T) {
	for iter := range 4 {
		closeAfter := []time.Duration{0, 5 * time.Millisecond, 40 * time.Millisecond, 150 * time.Millisecond}[iter]
		t.Run(fmt.Sprintf("after=%v", closeAfter), func(t *testing.T) {
			crashCloseWhileAppending(t, closeAfter)
		})
	}
}

func crashCloseWhileAppending(t *testing.T, closeAfter time.Duration) {
	signer, verifier := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, signer, func(c *ledger.Config) {
		c.MaxDelay = time.Millisecond
		c.MaxBatch = 32
		c.MaxPending = 48 // fewer than the appenders, so some are pushed back
	})

	type result struct {
		req crashReq
		ack *ledger.Ack
	}
	var (
		mu       sync.Mutex
		results  []result
		nClosed  atomic.Int64
		nPush    atomic.Int64
		badErrs  []error
		counter  atomic.Int64
		wg       sync.WaitGroup
		finished = make(chan struct{})
	)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := counter.Add(1) - 1
				req := crashRequest(1000, n)
				var ack *ledger.Ack
				var err error
				if req.key != "" {
					ack, err = l.AppendStamped(ctx, []byte(req.key), crashStampFunc(req.key, req.pad))
				} else {
					ack, err = l.Append(ctx, req.data)
				}
				switch {
				case err == nil:
					mu.Lock()
					results = append(results, result{req, ack})
					mu.Unlock()
				case errors.Is(err, ledger.ErrPushback):
					nPush.Add(1)
					runtime.Gosched()
				case errors.Is(err, ledger.ErrClosed):
					nClosed.Add(1)
					return
				default:
					mu.Lock()
					badErrs = append(badErrs, fmt.Errorf("request %d: %w", n, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(finished) }()

	time.Sleep(closeAfter)
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Close hangs with appends in flight\n%s", crashStacks())
	}
	select {
	case <-finished:
	case <-time.After(15 * time.Second):
		t.Fatalf("appends hang after Close\n%s", crashStacks())
	}
	for _, err := range badErrs {
		t.Errorf("append failed with neither ErrClosed nor ErrPushback: %v", err)
	}
	if t.Failed() {
		return
	}
	if _, err := l.Append(context.Background(), []byte("after close")); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}

	var index2 ledger.IndexStore
	l2 := openLog(t, dir, signer, func(c *ledger.Config) { index2 = c.Storage.(ledger.IndexStore) })
	defer l2.Close()
	head := l2.Head()
	ht := openTree(t, verifier, head.Checkpoint)
	first := map[uint64]bool{} // indices acknowledged as new entries
	trees := map[int64]tlog.Hash{}
	for _, r := range results {
		a := r.ack
		if r.req.key == "" && !bytes.Equal(a.Entry, r.req.data) {
			t.Fatalf("ack of index %d carries another entry", a.Index)
		}
		if a.Index >= head.Size {
			t.Fatalf("index %d acknowledged, the reopened log has size %d", a.Index, head.Size)
		}
		es, err := l2.Entries(a.Index, 1)
		if err != nil {
			t.Fatalf("acknowledged entry %d after reopen: %v", a.Index, err)
		}
		if !bytes.Equal(es[0], a.Entry) {
			t.Fatalf("entry %d after reopen is %q, acknowledged %q", a.Index, crashTrim(es[0]), crashTrim(a.Entry))
		}
		tree := openTree(t, verifier, a.Checkpoint)
		if err := tlog.CheckRecord(toTlog(a.Proof), tree.N, tree.Hash, int64(a.Index), tlog.RecordHash(a.Entry)); err != nil {
			t.Fatalf("ack of %d: %v", a.Index, err)
		}
		if h, ok := trees[tree.N]; ok && h != tree.Hash {
			t.Fatalf("two checkpoints of size %d with different roots", tree.N)
		}
		trees[tree.N] = tree.Hash
		if r.req.key != "" {
			v, err := index2.Get([]byte(crashIndexPrefix + r.req.key))
			if err != nil || len(v) != 8 || binary.BigEndian.Uint64(v) != a.Index {
				t.Fatalf("index key of stamped entry %d: %x, %v", a.Index, v, err)
			}
		}
		if !a.Duplicate {
			if first[a.Index] {
				t.Fatalf("index %d acknowledged twice as a new entry", a.Index)
			}
			first[a.Index] = true
		}
	}
	for n, h := range trees {
		if n == ht.N {
			if h != ht.Hash {
				t.Fatalf("checkpoint of size %d differs from the reopened head", n)
			}
			continue
		}
		p, err := l2.ConsistencyProof(uint64(n), uint64(ht.N))
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(toTlog(p), ht.N, ht.Hash, n, h); err != nil {
			t.Fatalf("checkpoint of size %d vs reopened head %d: %v", n, ht.N, err)
		}
	}
	// Close integrated and acknowledged everything it had queued: no entry
	// is in the log without its appender having been told.
	if uint64(len(first)) != head.Size {
		t.Fatalf("reopened log has %d entries, %d were acknowledged as new", head.Size, len(first))
	}
	t.Logf("%d acks (%d new), %d ErrClosed, %d ErrPushback, size %d", len(results), len(first), nClosed.Load(), nPush.Load(), head.Size)
}

func crashStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
