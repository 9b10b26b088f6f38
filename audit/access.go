package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fjaledger/fja/ledger"
)

// Limits of an access record (the schema holds the same ones).
const (
	// MaxAccessRecords is the most records one access record names: one
	// request may read the private content of at most this many records
	// (so the record stays far below ledger.MaxEntrySize).
	MaxAccessRecords = 250
	// MaxPurpose is the longest purpose, in characters.
	MaxPurpose = 256
	// MaxAccessesListed is the most access records Accesses returns.
	MaxAccessesListed = 1000
)

// AccessGroupFields are the group_by fields of access statistics
// (GET /v1/stats?kind=access): grouped by actor, the key names the
// token's name and role.
var AccessGroupFields = []string{"actor", "route", "purpose"}

// Index keys of access records (beside those of index.go):
//
//	"a/" record idx(8) access idx(8)   the access at access idx read record idx
//	"sa/" idx(8)                        an access record's summary (for stats)
const (
	prefixAccessed      = "a/"
	prefixAccessSummary = "sa/"
)

// CheckPurpose checks an access purpose as given: 1 to MaxPurpose
// characters of valid UTF-8 without control characters.
func CheckPurpose(p string) error {
	switch {
	case p == "":
		return errors.New("is missing; say why the private content is read")
	case !utf8.ValidString(p):
		return errors.New("is not valid UTF-8")
	case utf8.RuneCountInString(p) > MaxPurpose:
		return fmt.Errorf("is %d characters long, want at most %d", utf8.RuneCountInString(p), MaxPurpose)
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("holds a control character")
	}
	return nil
}

// LogAccess logs a read of private content and returns its receipt. The
// caller MUST NOT return the content unless this succeeded: no log entry,
// no content. It fills in AccessID; a.Records must name 1 to
// MaxAccessRecords records. ctx bounds the wait for the sequencer.
func (b *Book) LogAccess(ctx context.Context, a Access) (*Appended, error) {
	if len(a.Records) == 0 || len(a.Records) > MaxAccessRecords {
		return nil, &ValidationError{Field: "records", Message: fmt.Sprintf("names %d records, want 1..%d", len(a.Records), MaxAccessRecords)}
	}
	if err := CheckPurpose(a.Purpose); err != nil {
		return nil, &ValidationError{Field: "purpose", Message: err.Error()}
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	a.AccessID = "acc-" + hex.EncodeToString(id)
	body, err := Canonical(a)
	if err != nil {
		return nil, err
	}
	if err := Validate("access.v1", body); err != nil {
		return nil, err
	}
	return b.appendRecord(ctx, &pendingRecord{kind: KindAccess, id: a.AccessID, body: body, digest: b.digest(body),
		index: func(i uint64, _ time.Time) []ledger.KV { return accessIndex(i, &a) }})
}

// accessIndex returns the index keys of access record a logged at idx.
func accessIndex(idx uint64, a *Access) []ledger.KV {
	kvs := append(kindIndex(KindAccess), ledger.KV{Key: accessSummaryKey(idx), Value: encodeAccessSummary(a)})
	var seen []uint64
	for _, r := range a.Records {
		if !slices.Contains(seen, r.Index) {
			seen = append(seen, r.Index)
			kvs = append(kvs, ledger.KV{Key: accessedKey(r.Index, idx)})
		}
	}
	return kvs
}

func accessedKey(recordIdx, accessIdx uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte(prefixAccessed), recordIdx), accessIdx)
}

func accessSummaryKey(idx uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixAccessSummary), idx)
}

// encodeAccessSummary: actor name, role, route and purpose, each a
// uvarint-length-prefixed string, then the number of records (uvarint).
func encodeAccessSummary(a *Access) []byte {
	var b []byte
	for _, v := range []string{a.Actor.Name, a.Actor.Role, a.Route, a.Purpose} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return binary.AppendUvarint(b, uint64(len(a.Records)))
}

// accessSummary is a decoded access summary; its strings point into the
// stored value (valid during one Scan callback).
type accessSummary struct {
	fields  [4][]byte // name, role, route, purpose
	records int
}

func (s *accessSummary) decode(b []byte) error {
	for i := range s.fields {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errBadSummary
		}
		s.fields[i] = b[k : k+int(n)]
		b = b[k+int(n):]
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || k != len(b) || n > MaxAccessRecords {
		return errBadSummary
	}
	s.records = int(n)
	return nil
}

// Accesses returns the access records that read the private content of
// the record at recordIdx, in log order, at most MaxAccessesListed of them
// (more reports that there are others after them). It reads one bounded
// range of "a/" keys.
func (b *Book) Accesses(ctx context.Context, recordIdx uint64) (views []AccessView, more bool, err error) {
	prefix := binary.BigEndian.AppendUint64([]byte(prefixAccessed), recordIdx)
	size := b.cfg.Log.Head().Size
	var idxs []uint64
	err = b.cfg.Index.Scan(ctx, prefix, nil, func(k, _ []byte) bool {
		if len(k) != len(prefix)+8 {
			return true
		}
		i := binary.BigEndian.Uint64(k[len(prefix):])
		if i >= size {
			return false
		}
		if len(idxs) == MaxAccessesListed {
			more = true
			return false
		}
		idxs = append(idxs, i)
		return true
	})
	if err != nil {
		return nil, false, err
	}
	views = make([]AccessView, 0, len(idxs))
	for _, i := range idxs {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		es, err := b.cfg.Log.Entries(i, 1)
		if err != nil {
			return nil, false, err
		}
		env, err := ParseEnvelope(es[0])
		if err != nil {
			return nil, false, fmt.Errorf("entry %d: %w", i, err)
		}
		var a Access
		if env.Kind != KindAccess {
			return nil, false, fmt.Errorf("audit: index key a/%d/%d points at a %s record, not an access", recordIdx, i, env.Kind)
		}
		if err := decodeStrict(env.Body, &a); err != nil {
			return nil, false, fmt.Errorf("entry %d: %w", i, err)
		}
		views = append(views, AccessView{Index: i, LoggedAt: env.LoggedAt, Actor: a.Actor, Purpose: a.Purpose, Route: a.Route})
	}
	return views, more, nil
}

// AccessStats counts the access records logged in the window of f,
// grouped by groupBy (AccessGroupFields: actor, route, purpose): how many
// reads of private content (count) and how many records they read
// (records). Only the window of f applies; a decision filter is invalid
// here. Its bounds are those of Stats.
func (b *Book) AccessStats(ctx context.Context, f Filter, groupBy []string) (*StatsResult, error) {
	groupBy, err := normalizeGroupBy(groupBy, AccessGroupFields)
	if err != nil {
		return nil, err
	}
	for _, v := range []struct{ name, value string }{{"operator", f.Operator}, {"model", f.Model}, {"action", f.Action},
		{"category", f.Category}, {"rule", f.Rule}, {"flag", f.Flag}, {"jurisdiction", f.Jurisdiction}, {"contest_status", f.ContestStatus}} {
		if v.value != "" {
			return nil, &ValidationError{Field: v.name, Message: "filters decisions; access statistics take only from and to"}
		}
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	head := b.cfg.Log.Head()
	from, to, err := b.window(f, head.Size)
	if err != nil {
		return nil, err
	}
	groups := map[string]*Group{}
	var (
		perr error
		s    accessSummary
		key  []byte
	)
	err = b.cfg.Index.Scan(ctx, []byte(prefixAccessSummary), accessSummaryKey(from), func(k, v []byte) bool {
		idx := binary.BigEndian.Uint64(k[len(prefixAccessSummary):])
		if idx >= to {
			return false
		}
		if err := s.decode(v); err != nil {
			perr = fmt.Errorf("access summary of entry %d: %w", idx, err)
			return false
		}
		key = key[:0]
		for _, g := range groupBy {
			switch g {
			case "actor":
				key = append(append(append(append(key, s.fields[0]...), 0), s.fields[1]...), 0)
			case "route":
				key = append(append(key, s.fields[2]...), 0)
			case "purpose":
				key = append(append(key, s.fields[3]...), 0)
			}
		}
		g := groups[string(key)]
		if g == nil {
			if len(groups) == maxGroups {
				perr = tooManyGroups()
				return false
			}
			g = &Group{Key: map[string]string{}}
			for _, f := range groupBy {
				switch f {
				case "actor":
					g.Key["actor"], g.Key["role"] = string(s.fields[0]), string(s.fields[1])
				case "route":
					g.Key["route"] = string(s.fields[2])
				case "purpose":
					g.Key["purpose"] = string(s.fields[3])
				}
			}
			groups[string(key)] = g
		}
		g.Count++
		g.Records += s.records
		return true
	})
	if err := errors.Join(err, perr); err != nil {
		return nil, err
	}
	return sortedGroups(groups, from, to, head), nil
}
