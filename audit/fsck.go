package audit

import (
	"context"
	"fmt"

	"github.com/fjaledger/fja/ledger"
)

// FsckIndexes adds to rep (a ledger fsck of src's tree) the query index
// keys that disagree with the records (CheckIndex), at most
// ledger.MaxFsckProblems problems in all, counting the others as omitted.
// A log whose first entry is not a record envelope has no query indexes:
// nothing is added.
func FsckIndexes(ctx context.Context, src IndexSource, rep *ledger.FsckReport) error {
	if rep.Size == 0 {
		return nil
	}
	first, err := src.Entries(0, 1)
	if err != nil {
		return nil // already reported by the tree check
	}
	if _, err := ParseEnvelope(first[0]); err != nil {
		return nil
	}
	problems, err := CheckIndex(ctx, src, rep.Size, nil)
	if err != nil {
		return err
	}
	for _, p := range problems {
		if len(rep.Problems) >= ledger.MaxFsckProblems {
			rep.Omitted++
			continue
		}
		rep.Problems = append(rep.Problems, ledger.Problem{Index: p.Index, Kind: "index", Detail: fmt.Sprintf("%s (key %q)", p.Detail, p.Key)})
	}
	return nil
}
