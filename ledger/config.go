package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// MaxEntrySize is the largest entry the log takes: tlog-tiles entry bundles
// prefix each entry with a big-endian uint16 length.
const MaxEntrySize = 1<<16 - 1

// Config configures a Log. Zero values of the tuning fields take the
// documented defaults.
type Config struct {
	// Origin is the checkpoint origin line, e.g. "ledger.example.org/fja/2026".
	Origin string
	// Signers sign every checkpoint. The first MUST be the log's Ed25519
	// key (note algorithm 0x01, the one C2SP witnesses accept); further
	// signers (e.g. an ECDSA P-256 KMS key) add signatures.
	Signers []note.Signer
	// Storage is the backend; the Log owns it and closes it on Close.
	Storage Storage
	// MaxBatch is the most entries integrated in one commit (default 1024).
	MaxBatch int
	// MaxBatchBytes bounds the entry bytes of one commit (default 8 MiB).
	MaxBatchBytes int
	// MaxDelay is how long the sequencer waits for a batch to fill once its
	// first entry arrived (default 2ms).
	MaxDelay time.Duration
	// MaxPending is how many appends may wait for the sequencer before Append
	// pushes back with ErrPushback (default 16 × MaxBatch).
	MaxPending int
	// Presync, when set, is called once for every batch after it was cut
	// and before it is built and committed. When it returns, every write
	// the layers above made before submitting the batch's appends MUST be
	// durable (the audit layer makes the keys of a batch's private content
	// durable here: one fsync per batch, never a record without its key).
	// An error fails the batch's appends and changes nothing in the log.
	// It MAY run while the previous batch's commit is in flight.
	Presync func() error
	// Now is the log clock (default time.Now). Log time never goes backwards
	// even if Now does.
	Now func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxBatch == 0 {
		c.MaxBatch = 1024
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 8 << 20
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 2 * time.Millisecond
	}
	if c.MaxPending == 0 {
		c.MaxPending = 16 * c.MaxBatch
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first thing wrong with c (after defaults are applied).
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Origin == "":
		return errors.New("ledger: Origin is empty, want the checkpoint origin line")
	case len(c.Signers) == 0:
		return errors.New("ledger: no Signers, want at least the log's Ed25519 signer")
	case c.Storage == nil:
		return errors.New("ledger: Storage is nil")
	case c.MaxBatch < 1:
		return fmt.Errorf("ledger: MaxBatch is %d, want >= 1", c.MaxBatch)
	case c.MaxBatchBytes < MaxEntrySize:
		return fmt.Errorf("ledger: MaxBatchBytes is %d, want >= %d", c.MaxBatchBytes, MaxEntrySize)
	case c.MaxDelay < 0:
		return fmt.Errorf("ledger: MaxDelay is %v, want >= 0", c.MaxDelay)
	case c.MaxPending < 1:
		return fmt.Errorf("ledger: MaxPending is %d, want >= 1", c.MaxPending)
	}
	if n := c.Signers[0].Name(); n != c.Origin {
		return fmt.Errorf("ledger: first signer is named %q, want the origin %q", n, c.Origin)
	}
	return nil
}
