// Package ledger is the log itself: an append-only RFC 6962 Merkle tree,
// stored as C2SP tlog-tiles hash tiles and entries, with a sequencer that
// batches concurrent appends and a signed C2SP checkpoint for every batch.
//
// Invariants (the rest of the system relies on them):
//   - An append is acknowledged only after its entry, every tile it changes,
//     the new tree state and the checkpoint that covers it were written in
//     one durable storage commit. An acknowledged entry survives kill -9.
//   - Indices are contiguous from 0; a batch is integrated in request order.
//   - Log time (the time passed to Stamp) is non-decreasing in index order,
//     across batches and across restarts, so a time window is a contiguous
//     index range.
//   - The tree size never decreases, and every checkpoint the log signs is
//     consistent with every earlier one: the tree only ever grows by
//     appending leaves to the compact range it resumes from.
//   - Memory does not grow with the log: the sequencer keeps the compact
//     range and the right-edge tile of each level, nothing else. Proofs are
//     computed from stored tiles with O(log n) tile reads.
//   - An entry with a dedup key already in the log is not appended again; its
//     acknowledgement carries the first index and Duplicate=true.
package ledger
