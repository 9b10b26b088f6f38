package ledger

import "errors"

// ErrStopped is wrapped by the error a log returns once a commit failed:
// the log takes no appends until it is restarted.
var ErrStopped = errors.New("ledger: the log stopped after a failed commit")
