package main

import (
	"fmt"
	"os"

	"github.com/fjaledger/fja/verify"
)

// checkWitnesses requires the signed checkpoint's witness cosignatures to
// satisfy the --witness-policy file, if one was given. The log's own
// signature was verified before.
func (o *verifyOptions) checkWitnesses(signed []byte) error {
	if o.policy == "" {
		return nil
	}
	p, err := os.ReadFile(o.policy)
	if err != nil {
		return usageErrorf("--witness-policy: %v", err)
	}
	if err := verify.CheckWitnessPolicy(signed, p); err != nil {
		return fmt.Errorf("checkpoint does NOT satisfy the witness policy %s: %w", o.policy, err)
	}
	return nil
}
