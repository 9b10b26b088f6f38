package audit

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// What a restore from the public copy can and cannot rebuild. The public
// copy of the log (its entries and tiles) determines:
//   - every record's dedup key ("<kind>/<id>"), so a resubmitted record is
//     found in the restored log, never appended twice;
//   - the keys of the book that the records imply: the published
//     constitutions' rule ids ("c/"), each decision's contest token hash
//     ("th/"), each decision's contests ("cd/");
//   - the query indexes (Reindex).
//
// It does not hold the book's private state, PrivateIndexPrefixes: sealed
// private content and the vault slots it uses, the request digests (keyed
// with the server secret or a record's vault key, over the request as
// sent), and the contest-token delivery keys. Those come back only from an
// operator's backup (api/recovery).

// PrivateIndexPrefixes are the prefixes of the index keys that hold the
// book's private state, which no public entry determines: "m/" request
// digests and the sealed private content that follows them, "v/" sealed
// private content of records logged before it moved into "m/", "vs/"
// vault slots in use and "vm/" the highest one of the records, "p/" sealed
// content of the legacy layout, "dk/" contest-token delivery keys (their
// slots). A backup of
// the private part holds these keys with the vault's key file and the
// server secret.
func PrivateIndexPrefixes() []string {
	return []string{prefixSealed, prefixSlot, prefixSlotMax, prefixPrivate, prefixDigest, prefixDeliveryKey}
}

// RebuildEntry returns what the append of a logged entry wrote beside it
// that the entry alone determines, for ledger.Rebuilder: its dedup key,
// its log time and the book keys above (not the query indexes, which
// Reindex rebuilds once the entries are in place). An entry that is not a
// record envelope was appended by ledger.Log.Append and is deduplicated by
// its leaf hash. A record of a kind this version does not know gets no
// dedup key (known is false): a resubmission of it would not be found.
func RebuildEntry(entry []byte) (e ledger.RebuildEntry, known bool, err error) {
	e.Entry = entry
	env, perr := ParseEnvelope(entry)
	if perr != nil {
		return e, true, nil // a plain entry: ledger.DedupLeaf
	}
	t, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
	if err != nil {
		return e, false, fmt.Errorf("audit: logged_at %q: %w", env.LoggedAt, err)
	}
	e.LoggedAt = t.UnixNano()
	var id string
	switch env.Kind {
	case KindDecision:
		var d Decision
		if err := decodeStrict(env.Body, &d); err != nil {
			return e, false, err
		}
		id = d.DecisionID
		if d.Contest != nil {
			k, err := tokenHashKey(d.Contest.TokenSHA256)
			if err != nil {
				return e, false, err
			}
			e.Extra = append(e.Extra, ledger.KV{Key: k, Value: []byte(d.DecisionID)})
		}
	case KindConstitution:
		var c Constitution
		if err := decodeStrict(env.Body, &c); err != nil {
			return e, false, err
		}
		id = c.ConstitutionID + "@" + c.Version
		ids := make([]string, 0, len(c.Rules))
		for _, r := range c.Rules {
			ids = append(ids, r.RuleID)
		}
		v, err := json.Marshal(ids)
		if err != nil {
			return e, false, err
		}
		e.Extra = append(e.Extra, ledger.KV{Key: []byte(prefixConstitution + id), Value: v})
	case KindContest:
		var c Contest
		if err := decodeStrict(env.Body, &c); err != nil {
			return e, false, err
		}
		id = c.ContestID
		e.Extra = append(e.Extra, ledger.KV{Key: []byte(prefixContestOfDecision + c.Decision.DecisionID + "/" + c.ContestID), Value: []byte{1}})
	case KindResolution:
		var r Resolution
		if err := decodeStrict(env.Body, &r); err != nil {
			return e, false, err
		}
		id = r.ContestID
	case KindAccess:
		var a Access
		if err := decodeStrict(env.Body, &a); err != nil {
			return e, false, err
		}
		id = a.AccessID
	case KindChallenge:
		var c Challenge
		if err := decodeStrict(env.Body, &c); err != nil {
			return e, false, err
		}
		id = c.ChallengeID
	case KindChallengeResponse:
		var r ChallengeResponse
		if err := decodeStrict(env.Body, &r); err != nil {
			return e, false, err
		}
		id = r.ChallengeID
	case KindAmendment:
		var a Amendment
		if err := decodeStrict(env.Body, &a); err != nil {
			return e, false, err
		}
		id = a.AmendmentID
	default:
		e.Dedup = ledger.DedupNone
		return e, false, nil
	}
	e.Dedup, e.Key = ledger.DedupStamped, []byte(recordKey(env.Kind, id))
	return e, true, nil
}
