// Package schemas holds the JSON Schemas (draft 2020-12) of the FJA Ledger's
// records, write requests and receipts, embedded in the binary.
//
// Each file is named <name>.json and carries the $id BaseURL + <name>.json;
// schemas refer to each other by relative $ref, so a validator MUST load
// every file in FS (or fetch them from BaseURL) before compiling any one.
//
//   - decision.v1, constitution.v1, contest.v1, resolution.v1, access.v1,
//     challenge.v1, challenge_response.v1, amendment.v1, shard.v1: the
//     body of a leaf of that kind, as logged (an access record is made by
//     the ledger itself, for each read of private content; a shard record
//     by `ledgerctl rotate`, as entry 0 of a new shard). Records are strict:
//     unknown fields are rejected, every string, array and map is bounded.
//   - envelope.v1: a whole leaf, {"kind","v","logged_at","body"}; the body is
//     checked against the record schema of its kind.
//   - append-decision.v1, append-contest.v1, append-resolution.v1,
//     append-challenge.v1, append-challenge-response.v1: the request
//     bodies of POST /v1/decisions, POST /v1/contests,
//     POST /v1/contests/{id}/resolution, POST /v1/challenges and
//     POST /v1/challenges/{id}/response (a constitution and an amendment
//     are posted as their record).
//   - receipt.v1: the receipt returned by appends.
//   - common.v1: shared definitions only; it is not a record kind.
//
// Examples holds example request bodies that every schema change MUST keep
// valid.
//
// A published schema version never changes incompatibly: a breaking change
// gets a new file (v2) next to the old one.
package schemas

import "embed"

// FS holds the schema files, <name>.json at its root.
//
//go:embed *.json
var FS embed.FS

// Examples holds the example request bodies of the API under examples/
// (constitution.json, decision-*.json, contest.json, resolution.json; see
// examples/README.md). Every one of them MUST be accepted as it is.
//
//go:embed examples/*.json
var Examples embed.FS

// BaseURL is the prefix of every schema's $id: the $id of schema name is
// BaseURL + name + ".json".
const BaseURL = "https://fja-ledger.org/schemas/"

// Names returns the names of all embedded schemas (file names without
// ".json"), sorted.
func Names() []string {
	entries, err := FS.ReadDir(".") // sorted by file name
	if err != nil {
		panic("schemas: reading embedded files: " + err.Error()) // cannot happen with embed.FS
	}
	const ext = ".json"
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && len(n) > len(ext) && n[len(n)-len(ext):] == ext {
			names = append(names, n[:len(n)-len(ext)])
		}
	}
	return names
}

// ID returns the $id of schema name.
func ID(name string) string { return BaseURL + name + ".json" }

// Read returns the raw bytes of schema name.
func Read(name string) ([]byte, error) { return FS.ReadFile(name + ".json") }
