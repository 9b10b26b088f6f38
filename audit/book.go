package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
)

// Errors callers branch on (besides *ValidationError for invalid records).
var (
	// ErrConflict: the id is logged already with other content.
	ErrConflict = errors.New("conflict")
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
)

// Config configures a Book.
type Config struct {
	// Log is the ledger the records are appended to.
	Log *ledger.Log
	// Index is the store of the index keys the records' commits write
	// (the Log's own storage): the Book reads and erases them there.
	Index ledger.IndexStore
	// Vault keeps the keys of private content. A key is durable when the
	// vault hands it out (written and fsynced ahead, a run at a time), so
	// a record sealed under it may be committed at once. Open the Log with
	// ledger.Config.Presync calling Vault.Sync all the same: it then makes
	// any vault write still unsynced durable before a commit, and costs
	// nothing when there is none.
	Vault *vault.Vault
	// Secret (at least 32 bytes) keys the digests of requests kept to tell
	// a retry from a conflicting resubmission; it never leaves the server.
	Secret []byte
	// ContestWindow is how long after it is logged a decision can be
	// contested (default and minimum DefaultContestWindow: six months).
	ContestWindow time.Duration
	// ResponseWindow sets a contest's due_by after it is logged (default
	// DefaultResponseWindow).
	ResponseWindow time.Duration
	// DeliveryWindow is how long after a decision is logged a producer that
	// sends the same request again gets its contest token back (default
	// DefaultDeliveryWindow); after it the token exists nowhere on the
	// server (see delivery.go).
	DeliveryWindow time.Duration
	// Now is the clock for windows and deadlines (default time.Now).
	Now func() time.Time
	// Logger receives background errors (default slog.Default()).
	Logger *slog.Logger
	// Earlier are the books of the log's frozen shards, oldest first
	// (package ledger/shard): a contest filed here may contest a decision
	// logged in one of them, within its contest window (shard.go).
	Earlier []EarlierShard
}

// Validate reports what is missing from c.
func (c Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("audit: Log is nil")
	case c.Index == nil:
		return errors.New("audit: Index is nil")
	case c.Vault == nil:
		return errors.New("audit: Vault is nil")
	case len(c.Secret) < 32:
		return fmt.Errorf("audit: Secret has %d bytes, want at least 32", len(c.Secret))
	case c.ContestWindow != 0 && c.ContestWindow < MinContestWindow:
		return fmt.Errorf("audit: ContestWindow is %s, want at least %s (DSA Art. 20: six months)", c.ContestWindow, MinContestWindow)
	case c.DeliveryWindow < 0:
		return fmt.Errorf("audit: DeliveryWindow is %s, want > 0", c.DeliveryWindow)
	case c.ResponseWindow < 0:
		return fmt.Errorf("audit: ResponseWindow is %s, want > 0", c.ResponseWindow)
	}
	return nil
}

// Book appends records to the log and answers for them. It is safe for
// concurrent use.
type Book struct {
	cfg Config

	mu            sync.RWMutex
	constitutions map[string]map[string]bool // "id@version" -> rule ids

	delivery *deliveryKeys // contest-token delivery keys (delivery.go)
	claims   tokenClaims   // producer-supplied token hashes in flight
	stop     chan struct{} // closed by Close: ends the sweeper
	swept    chan struct{} // closed when the sweeper has ended

	// contestMu serialises filing and resolving contests, whose rules
	// (one open contest per decision, one resolution per contest) read the
	// log's state. Contests are rare next to decisions.
	contestMu sync.Mutex

	// secretMACs are HMAC-SHA256 hashes keyed with cfg.Secret, reset
	// after each use (keying one costs two SHA-256 blocks and two hashes).
	secretMACs sync.Pool

	// slotMax is the highest vault slot of the private content of any
	// record stamped so far (see prefixSlotMax), at least the one stored
	// at Open; slotMu guards it.
	slotMu  sync.Mutex
	slotMax uint64
}

// Index key prefixes kept beside the log (ledger.KV), all written in the
// same commit as the record they describe.
//
// No key is ever written to the index (an LSM tree keeps old versions of a
// value until compaction, erased or not): private content is sealed under
// a key of its own, kept in a vault slot, and the sealed blob is kept in
// the record's "m/" value beside the request's digest, which is keyed
// with that same key: when erasure zeroes the slot, the stale copies of
// both left in the index can neither be opened nor confirm a guess. (One
// index key for both: every key a record writes is one more insert into
// Badger's memtable in the batch's commit.)
const (
	prefixConstitution = "c/" // "c/<id>@<version>" -> JSON array of rule ids
	// "m/<kind>/<id>" -> digest of the request (see mac), one of:
	//   - 32 bytes: HMAC under the server secret (no private content, or a
	//     record of the legacy key-file layout, prefixPrivate). Records
	//     logged since keep it with their dedup key instead (ledger.KV's
	//     Dedup: one Badger key fewer a record), read by requestDigest; a
	//     backup of the private part copies it out under this key
	//     (DigestIndexKV), where a restore puts it back;
	//   - digestVaultSealed || slot(8) || HMAC(32) || sealed blob (with
	//     private content): the HMAC under a subkey of the key in that
	//     vault slot, the blob the AES-256-GCM seal of the private content
	//     under that key (vault.AppendSeal, the record key as its
	//     associated data);
	//   - digestVaultKeyed || slot(8) || HMAC(32): as written before the
	//     blob moved here, which was then kept under prefixSealed.
	prefixDigest = "m/"
	// "v/<kind>/<id>" -> slot(8, big-endian) || AES-256-GCM blob of the
	// private content under the key in that vault slot, for records logged
	// before the blob moved into the m/ value (read and erased, never
	// written any more).
	prefixSealed = "v/"
	// "vs/" slot(8, big-endian) -> empty: a vault slot in use, by a
	// contest-token delivery key or by the private content of a record
	// logged before prefixSlotMax. Never deleted (slot numbers reveal
	// nothing): every one must lie within the vault's key file, which Open
	// checks (a key file restored from an older backup than the index
	// would hand out slots the index uses).
	prefixSlot = "vs/"
	// "vm/" -> slot(8, big-endian): the highest vault slot of the private
	// content of any record logged, kept with each record that has some.
	// Each such record sets it to the highest slot of any record stamped
	// before it or with it, in log order, so the last one a batch sets,
	// which its commit keeps (ledger.Batch), covers every record committed
	// so far: one key per batch where there was one per record. Open
	// checks it against the key file as it checks "vs/".
	prefixSlotMax = "vm/"
	// "p/<kind>/<id>" -> sealed private content of the legacy layout,
	// under a per-record key file of the vault (read and erased, never
	// written any more).
	prefixPrivate = "p/"
	// "th/" hash(32) -> decision id: the contest token hash of every
	// decision (its token_sha256, the 64 hex digits decoded), so that a
	// producer-supplied one, which stands for one decision only, can be
	// checked against all of them. Earlier versions wrote the hex digits
	// themselves ("th/<token_sha256>", tokenHashLegacyKey), which are
	// still read: the decoded hash is 32 bytes a decision fewer for each
	// of Badger's merges to rewrite (these keys are random, so a merge
	// rewrites them across the whole level).
	prefixTokenHash = "th/"
)

// The tags of an m/ value keyed with the record's vault key: without the
// sealed blob (kept under prefixSealed), and followed by it.
const (
	digestVaultKeyed  = 1
	digestVaultSealed = 2
)

// vaultDigestSize is the length of a vault-keyed digest: tag, slot, HMAC.
const vaultDigestSize = 1 + 8 + sha256.Size

// digestPurpose names the subkey of a record's vault key that keys the
// digest of its request.
const digestPurpose = "fja-ledger/request-digest/v1"

// Open loads the published constitutions from the log's indexes.
func Open(cfg Config) (*Book, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ContestWindow == 0 {
		cfg.ContestWindow = DefaultContestWindow
	}
	if cfg.ResponseWindow == 0 {
		cfg.ResponseWindow = DefaultResponseWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DeliveryWindow == 0 {
		cfg.DeliveryWindow = DefaultDeliveryWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Book{cfg: cfg, constitutions: map[string]map[string]bool{},
		delivery: &deliveryKeys{slots: cfg.Vault, index: cfg.Index, window: cfg.DeliveryWindow, keys: map[int64][]byte{}},
		stop:     make(chan struct{}), swept: make(chan struct{})}
	if err := b.checkVault(); err != nil {
		return nil, err
	}
	if err := checkIndexFormat(cfg.Index, cfg.Log.Head().Size); err != nil {
		return nil, err
	}
	var perr error
	err := cfg.Index.Scan(context.Background(), []byte(prefixConstitution), nil, func(k, v []byte) bool {
		var ids []string
		if err := json.Unmarshal(v, &ids); err != nil {
			perr = fmt.Errorf("audit: index %q: %w", k, err)
			return false
		}
		b.addConstitution(string(k[len(prefixConstitution):]), ids)
		return true
	})
	if err := errors.Join(err, perr); err != nil {
		return nil, err
	}
	go b.sweepLoop(b.stop, b.swept)
	return b, nil
}

// Close stops the Book's background work (destroying expired
// contest-token delivery keys). It does not close the Log or the Vault.
func (b *Book) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.swept
	return nil
}

func (b *Book) addConstitution(ref string, ruleIDs []string) {
	rules := make(map[string]bool, len(ruleIDs))
	for _, id := range ruleIDs {
		rules[id] = true
	}
	b.mu.Lock()
	b.constitutions[ref] = rules
	b.mu.Unlock()
}

// Appended is the outcome of an append.
type Appended struct {
	Kind Kind
	ID   string
	Ack  *ledger.Ack
	// Duplicate: the same request was logged before; Ack is the first one's.
	Duplicate bool
	// ContestToken is the contest token of a decision whose producer did
	// not bring its own token hash: for a new decision, and for a repeat of
	// the same request within Config.DeliveryWindow (empty otherwise).
	ContestToken string
}

func recordKey(kind Kind, id string) string { return string(kind) + "/" + id }

// tokenHashKey is the "th/" key of a contest token hash h, 64 lowercase
// hex digits (the schema's pattern): the prefix and the 32 bytes they
// stand for.
func tokenHashKey(h string) ([]byte, error) {
	k := make([]byte, len(prefixTokenHash), len(prefixTokenHash)+sha256.Size)
	copy(k, prefixTokenHash)
	if len(h) != 2*sha256.Size {
		return nil, fmt.Errorf("audit: contest token hash %q: want %d hex digits, got %d", h[:min(len(h), 80)], 2*sha256.Size, len(h))
	}
	k, err := hex.AppendDecode(k, []byte(h))
	if err != nil {
		return nil, fmt.Errorf("audit: contest token hash %q: %w", h, err)
	}
	return k, nil
}

// tokenHashLegacyKey is the "th/" key of a contest token hash as written
// before tokenHashKey: the hex digits as they are.
func tokenHashLegacyKey(h string) []byte { return keyOf(prefixTokenHash, h) }

// keyOf is the index key prefix + name, in one allocation.
func keyOf[T string | []byte](prefix string, name T) []byte {
	return append(append(make([]byte, 0, len(prefix)+len(name)), prefix...), name...)
}

// mac is HMAC-SHA256 under key of the canonical parts of a request (the
// record before the ledger filled anything in, and its private section),
// each followed by a zero byte: a resubmission with the same content,
// however formatted, has the same digest, and the digest reveals nothing
// of private content to anyone without the key.
func mac(key []byte, canonicalParts ...[]byte) []byte {
	return appendMAC(make([]byte, 0, sha256.Size), key, canonicalParts)
}

// appendMAC appends mac(key, canonicalParts...) to dst, keyed on the stack
// (vault.AppendMAC): for keys used once, such as a record's vault key.
func appendMAC(dst, key []byte, canonicalParts [][]byte) []byte {
	var small [8][]byte
	msgs := small[:0]
	for _, c := range canonicalParts {
		msgs = append(msgs, c, zeroByte[:])
	}
	return vault.AppendMAC(dst, key, msgs...)
}

// zeroByte follows each part in a mac.
var zeroByte = [1]byte{0}

func macWith(m hash.Hash, canonicalParts [][]byte) []byte {
	for _, c := range canonicalParts {
		m.Write(c)
		m.Write(zeroByte[:])
	}
	return m.Sum(make([]byte, 0, sha256.Size))
}

// digest is the m/ value of a request without private content: keyed
// with the server secret (mac(b.cfg.Secret, parts...)).
func (b *Book) digest(parts ...[]byte) []byte {
	m, _ := b.secretMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, b.cfg.Secret)
	}
	d := macWith(m, parts)
	m.Reset()
	b.secretMACs.Put(m)
	return d
}

// appendVaultDigest appends the vault-keyed digest of a request, tagged
// tag, whose private content is sealed under key, kept in vault slot s: it
// dies with the key.
func appendVaultDigest(dst []byte, tag byte, s vault.Slot, key []byte, parts ...[]byte) []byte {
	var sub [sha256.Size]byte // vault.SubKey(key, digestPurpose)
	vault.AppendMAC(sub[:0], key, []byte(digestPurpose))
	dst = binary.BigEndian.AppendUint64(append(dst, tag), uint64(s))
	dst = appendMAC(dst, sub[:], parts)
	clear(sub[:])
	return dst
}

// sealPrivate seals plaintext, the private content of the record ref,
// under a new vault key, and returns the record's m/ value (see
// prefixDigest: the digest of the request's parts bound to that key,
// then the sealed blob) and the vault slot of the key (for the record's
// pendingRecord.slot).
func (b *Book) sealPrivate(ref string, plaintext []byte, parts ...[]byte) ([]byte, vault.Slot, error) {
	s, key, err := b.cfg.Vault.NewKey()
	if err != nil {
		return nil, 0, err
	}
	v := appendVaultDigest(make([]byte, 0, vaultDigestSize+vault.SealedSize(len(plaintext))), digestVaultSealed, s, key, parts...)
	if v, err = vault.AppendSeal(v, key, ref, plaintext); err != nil {
		return nil, 0, err
	}
	return v, s, nil
}

// slotMaxKV is the "vm/" key of a record whose private content's key is
// in vault slot s, made as the record is stamped (in log order): the
// highest slot of any record stamped so far. A record stamped in a batch
// that then fails may raise it without being committed; it then only
// over-counts slots the vault handed out.
func (b *Book) slotMaxKV(s vault.Slot) ledger.KV {
	b.slotMu.Lock()
	b.slotMax = max(b.slotMax, uint64(s))
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8), b.slotMax)
	b.slotMu.Unlock()
	return ledger.KV{Key: []byte(prefixSlotMax), Value: v}
}

// checkVault makes sure the vault's key file holds every slot the index
// says is in use, and loads the highest slot logged (prefixSlotMax).
func (b *Book) checkVault() error {
	n := b.cfg.Vault.Slots()
	refuse := func(used uint64) error {
		return fmt.Errorf("audit: the index uses vault slot %d but the vault's key file has %d slots: the key file is older than the index (restored from an older backup?); refusing to hand its slots out again", used, n)
	}
	switch v, err := b.cfg.Index.Get([]byte(prefixSlotMax)); {
	case errors.Is(err, ledger.ErrNotFound):
	case err != nil:
		return err
	case len(v) != 8:
		return fmt.Errorf("audit: index key %s holds %d bytes, want a slot of 8", prefixSlotMax, len(v))
	default:
		b.slotMax = binary.BigEndian.Uint64(v)
		if b.slotMax >= n {
			return refuse(b.slotMax)
		}
	}
	start := binary.BigEndian.AppendUint64([]byte(prefixSlot), n)
	var beyond []byte
	err := b.cfg.Index.Scan(context.Background(), []byte(prefixSlot), start, func(k, _ []byte) bool {
		beyond = bytes.Clone(k)
		return false
	})
	if err != nil {
		return err
	}
	if beyond != nil {
		return refuse(binary.BigEndian.Uint64(beyond[len(prefixSlot):]))
	}
	return nil
}

// RequestDigester decodes the request body raw of kind (decision,
// contest or resolution; for a resolution, raw is the canonical record) and
// returns a function giving, for any key, the digest the Book would keep
// for that request if key were the server secret (asSecret) and if key
// were the record's own vault key (asRecordKey, without tag and slot). It
// is for audits of erasure: a data directory from which erased content
// must not be confirmable holds neither digest of a guess under any key
// it holds.
func RequestDigester(kind Kind, raw []byte) (func(key []byte) (asSecret, asRecordKey []byte), error) {
	var parts [][]byte
	var err error
	switch kind {
	case KindDecision:
		var req DecisionRequest
		if err := decodeStrict(raw, &req); err != nil {
			return nil, err
		}
		parts, err = decisionParts(&req, nil)
	case KindContest:
		var req ContestRequest
		if err := decodeStrict(raw, &req); err != nil {
			return nil, err
		}
		parts, err = contestParts(&req)
	case KindResolution:
		parts = [][]byte{raw}
	default:
		err = fmt.Errorf("audit: no request digest for records of kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	return func(key []byte) ([]byte, []byte) {
		return mac(key, parts...), mac(vault.SubKey(key, digestPurpose), parts...)
	}, nil
}

// pendingRecord is a validated record ready for the sequencer.
type pendingRecord struct {
	kind Kind
	id   string
	body []byte // canonical
	// digest is the m/ value of a new record (see prefixDigest; with
	// private content, its sealed blob follows the digest). parts,
	// when set, are the canonical parts of the request as sent: a
	// resubmission is compared by recomputing the first request's digest
	// from them (needed when that digest is keyed with the first
	// request's vault key); when nil, by comparing digest itself (a digest
	// under the server secret).
	parts  [][]byte
	digest []byte
	extra  []ledger.KV   // written with the entry
	probe  *ledger.Probe // the record key looked up already (nil: not yet)
	// slot is the vault slot of the key of the record's private content,
	// if sealed: its stamp adds the prefixSlotMax key.
	slot   vault.Slot
	sealed bool
	// index returns the query index keys of the record once it has its
	// index and log time (nil: none).
	index func(idx uint64, loggedAt time.Time) []ledger.KV
}

// appendRecord logs r, or returns the first receipt of an identical
// earlier request (ErrConflict if the earlier one differs).
func (b *Book) appendRecord(ctx context.Context, r *pendingRecord) (*Appended, error) {
	return b.appendStamped(ctx, r, func(time.Time) ([]byte, error) { return r.body, nil })
}

// appendStamped is appendRecord for a body that depends on the log time.
func (b *Book) appendStamped(ctx context.Context, r *pendingRecord, body func(loggedAt time.Time) ([]byte, error)) (*Appended, error) {
	key := recordKey(r.kind, r.id)
	extra := r.extra
	if r.digest != nil {
		kv := ledger.KV{Key: keyOf(prefixDigest, key), Value: r.digest}
		if len(r.digest) == sha256.Size { // under the server secret: with the dedup key
			kv = ledger.KV{Dedup: true, Value: r.digest}
		}
		extra = append(append(make([]ledger.KV, 0, 1+len(r.extra)), kv), r.extra...)
	}
	stamp := func(idx uint64, t time.Time) ([]byte, []ledger.KV, error) {
		body, err := body(t)
		if err != nil {
			return nil, nil, err
		}
		kvs := extra
		if r.sealed {
			kvs = append(kvs[:len(kvs):len(kvs)], b.slotMaxKV(r.slot))
		}
		if r.index != nil {
			kvs = append(kvs[:len(kvs):len(kvs)], r.index(idx, t)...)
		}
		return EnvelopeBytes(r.kind, t, body), kvs, nil
	}
	var ack *ledger.Ack
	var err error
	if r.probe != nil {
		ack, err = b.cfg.Log.AppendProbed(ctx, r.probe, stamp)
	} else {
		ack, err = b.cfg.Log.AppendStamped(ctx, []byte(key), stamp)
	}
	if err != nil {
		return nil, err
	}
	out := &Appended{Kind: r.kind, ID: r.id, Ack: ack, Duplicate: ack.Duplicate}
	if ack.Duplicate {
		if err := b.sameRequest(key, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameRequest checks a resubmission against the digest logged with the
// first request, recomputed under the first request's key (the request
// that won a race to the same id sealed under a key of its own).
func (b *Book) sameRequest(key string, r *pendingRecord) error {
	erased := fmt.Errorf("%w: %s is logged already, and its request digest is gone (its private content was erased, or the log was restored from its public copy without the private backup), so a resubmission cannot be compared", ErrConflict, key)
	first, err := b.requestDigest(key)
	if errors.Is(err, ledger.ErrNotFound) {
		return erased
	}
	if err != nil {
		return err
	}
	var want []byte
	parts := r.parts
	switch {
	case parts == nil:
		want = r.digest
	case len(first) == sha256.Size:
		want = b.digest(parts...)
	case len(first) == vaultDigestSize && first[0] == digestVaultKeyed,
		len(first) > vaultDigestSize && first[0] == digestVaultSealed:
		s := vault.Slot(binary.BigEndian.Uint64(first[1:9]))
		k, err := b.cfg.Vault.Key(s)
		if errors.Is(err, vault.ErrDestroyed) {
			return erased // erased, the index not yet cleaned (a crash)
		}
		if err != nil {
			return fmt.Errorf("audit: key of %s: %w", key, err)
		}
		// the digest alone, not the blob sealed after it
		first, want = first[:vaultDigestSize], appendVaultDigest(make([]byte, 0, vaultDigestSize), first[0], s, k, parts...)
	default:
		return fmt.Errorf("audit: index %s%s holds %d bytes (tag %#x), want a digest of %d bytes, a vault-keyed one of %d (tag %#x) or one followed by a sealed blob (tag %#x)",
			prefixDigest, key, len(first), first[:min(1, len(first))], sha256.Size, vaultDigestSize, digestVaultKeyed, digestVaultSealed)
	}
	if !hmac.Equal(first, want) {
		return fmt.Errorf("%w: %s is logged already with different content", ErrConflict, key)
	}
	return nil
}

// requestDigest returns the digest logged with the record under key: kept
// with its dedup key, or under prefixDigest (see there); ledger.ErrNotFound
// if neither holds one.
func (b *Book) requestDigest(key string) ([]byte, error) {
	switch v, _, err := b.cfg.Log.DedupValue([]byte(key)); {
	case err != nil:
		return nil, err
	case len(v) > 0:
		return v, nil
	}
	return b.cfg.Index.Get([]byte(prefixDigest + key))
}

// DigestIndexKV returns the index key and value under which a backup of
// the private part keeps the request digest stored with the dedup key of
// a stamped record (ledger.StampedKey) as value: "m/<key>" and the digest
// (see prefixDigest); ok is false for a value that is not such a digest.
func DigestIndexKV(key, value []byte) (kv ledger.KV, ok bool) {
	if len(value) != sha256.Size || len(key) == 0 {
		return ledger.KV{}, false
	}
	return ledger.KV{Key: keyOf(prefixDigest, key), Value: bytes.Clone(value)}, true
}

// lookup returns the index of a logged record.
func (b *Book) lookup(kind Kind, id string) (uint64, error) {
	idx, ok, err := b.cfg.Log.LookupKey([]byte(recordKey(kind, id)))
	if err != nil {
		return 0, err
	}
	if !ok || idx >= b.cfg.Log.Head().Size {
		return 0, fmt.Errorf("%w: no %s %q", ErrNotFound, kind, id)
	}
	return idx, nil
}

// Record is a logged record with its place in the log.
type Record struct {
	Index    uint64
	Entry    []byte
	Envelope *Envelope
}

// Get returns the logged record of kind with id.
func (b *Book) Get(kind Kind, id string) (*Record, error) {
	idx, err := b.lookup(kind, id)
	if err != nil {
		return nil, err
	}
	return b.recordAt(idx)
}

// getBody returns the logged record of kind with id and its body decoded
// into a T.
func getBody[T any](b *Book, kind Kind, id string) (*Record, *T, error) {
	rec, err := b.Get(kind, id)
	if err != nil {
		return nil, nil, err
	}
	var v T
	if err := json.Unmarshal(rec.Envelope.Body, &v); err != nil {
		return nil, nil, err
	}
	return rec, &v, nil
}

// bodyAt returns the body of the logged record at idx, decoded into a T.
func bodyAt[T any](b *Book, idx uint64) (*T, error) {
	rec, err := b.recordAt(idx)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(rec.Envelope.Body, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// recordAt returns the logged record at idx.
func (b *Book) recordAt(idx uint64) (*Record, error) {
	es, err := b.cfg.Log.Entries(idx, 1)
	if err != nil {
		return nil, err
	}
	env, err := ParseEnvelope(es[0])
	if err != nil {
		return nil, err
	}
	return &Record{Index: idx, Entry: es[0], Envelope: env}, nil
}

// decodeStrict decodes JSON into v, refusing unknown fields and trailing data.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &ValidationError{Field: te.Field, Message: fmt.Sprintf("%s does not fit a %s", te.Value, te.Type)}
		}
		return &ValidationError{Field: "(root)", Message: strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &ValidationError{Field: "(root)", Message: "trailing data after the JSON value"}
	}
	return nil
}
