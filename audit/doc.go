// Package audit is the ledger's domain: the record kinds (decision,
// constitution, contest, resolution), their canonical envelopes,
// commitments, validation against the schemas in package schemas, and the
// private content kept outside the tree.
//
// Contracts:
//   - A leaf is the RFC 8785 (JCS) canonical JSON of an envelope
//     {"body":{...},"kind":K,"logged_at":T,"v":1}. Anyone holding the body
//     a producer sent (with the commitments the ledger put in place of
//     private content) and the receipt's logged_at recomputes the leaf hash.
//   - logged_at is stamped by the sequencer: UTC, RFC 3339 with exactly nine
//     fractional digits, non-decreasing in index order.
//   - Personal data never enters a leaf: private content is replaced by a
//     commitment "sha256:" + hex(SHA-256(salt || content)) with a fresh
//     32-byte salt; salt and content are sealed outside the tree (package
//     vault) and can be erased without touching the tree.
//   - Record ids are unique per kind: resubmitting the same request returns
//     the first receipt; different content under a logged id is a conflict.
//     A decision's contest token reaches its producer with the first
//     receipt and, within the delivery window (default 24 h), with the
//     receipt of a resubmission; after the window it exists nowhere on the
//     server (delivery.go). A contest token hash stands for one decision.
//   - A decision cites a constitution version published earlier in the
//     log, and only rule ids that exist in it; a refusal cites at least one
//     rule whose effect is refuse.
package audit
