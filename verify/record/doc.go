// Package record declares, once, the wire types of the FJA ledger: the
// record kinds that are logged as leaves (DESIGN.md §4), the request
// bodies that make them, and the answers of the HTTP API (§5, §6). It
// also holds the decision rules that go beyond the JSON Schemas
// (CheckDecision), and the rule of constitution versions that adopt
// amendments (ApplyChanges, CheckAdoption), so that the ledger refusing a
// record and an auditor flagging a logged one apply the same rules.
//
// The package is pure: it MUST import nothing from the server (audit,
// api, ledger, badger, echo), so that producers, auditors and monitors
// can import it alone. JSON field names and shapes are those of DESIGN.md
// and schemas/; they are an interface and MUST NOT change.
package record
