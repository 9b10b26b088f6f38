package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
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
	// Vault keeps the keys of private content.
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
	// Now is the clock for windows and deadlines (default time.Now).
	Now func() time.Time
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

	// contestMu serialises filing and resolving contests, whose rules
	// (one open contest per decision, one resolution per contest) read the
	// log's state. Contests are rare next to decisions.
	contestMu sync.Mutex
}

// Index key prefixes kept beside the log (ledger.KV), all written in the
// same commit as the record they describe.
const (
	prefixConstitution = "c/" // "c/<id>@<version>" -> JSON array of rule ids
	prefixDigest       = "m/" // "m/<kind>/<id>" -> keyed digest of the request
	prefixPrivate      = "p/" // "p/<kind>/<id>" -> sealed private content
)

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
	b := &Book{cfg: cfg, constitutions: map[string]map[string]bool{}}
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
	return b, nil
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
	// ContestToken is the one-time token of a new decision whose producer
	// did not bring its own token hash (empty otherwise).
	ContestToken string
}

func recordKey(kind Kind, id string) string { return string(kind) + "/" + id }

// digest is the keyed digest of a request as the producer sent it, given
// as canonical parts (the record before the ledger filled anything in, and
// its private section): a resubmission with the same content, however
// formatted, has the same digest. It is keyed so that the stored digest
// reveals nothing of private content.
func (b *Book) digest(canonicalParts ...[]byte) []byte {
	m := hmac.New(sha256.New, b.cfg.Secret)
	for _, c := range canonicalParts {
		m.Write(c)
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// pendingRecord is a validated record ready for the sequencer.
type pendingRecord struct {
	kind   Kind
	id     string
	body   []byte // canonical
	digest []byte
	extra  []ledger.KV // written with the entry
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
	extra := append([]ledger.KV{{Key: []byte(prefixDigest + key), Value: r.digest}}, r.extra...)
	ack, err := b.cfg.Log.AppendStamped(ctx, []byte(key), func(idx uint64, t time.Time) ([]byte, []ledger.KV, error) {
		body, err := body(t)
		if err != nil {
			return nil, nil, err
		}
		kvs := extra
		if r.index != nil {
			kvs = append(kvs[:len(kvs):len(kvs)], r.index(idx, t)...)
		}
		return EnvelopeBytes(r.kind, t, body), kvs, nil
	})
	if err != nil {
		return nil, err
	}
	out := &Appended{Kind: r.kind, ID: r.id, Ack: ack, Duplicate: ack.Duplicate}
	if ack.Duplicate {
		if err := b.sameRequest(key, r.digest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sameRequest checks a resubmission against the digest logged with the
// first request.
func (b *Book) sameRequest(key string, digest []byte) error {
	first, err := b.cfg.Index.Get([]byte(prefixDigest + key))
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("%w: %s is logged already and its private content was erased, so a resubmission cannot be compared", ErrConflict, key)
	}
	if err != nil {
		return err
	}
	if !hmac.Equal(first, digest) {
		return fmt.Errorf("%w: %s is logged already with different content", ErrConflict, key)
	}
	return nil
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
