//go:build race

package ledger_test

// raceEnabled: the race detector slows Badger's writes some twentyfold.
const raceEnabled = true
