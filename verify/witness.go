package verify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	fwitness "github.com/transparency-dev/formats/witness"
)

// ErrWitnessPolicy: a checkpoint's cosignatures do not satisfy a witness
// policy.
var ErrWitnessPolicy = errors.New("witness policy not met")

// CheckWitnessPolicy checks that the signed checkpoint carries enough valid
// witness cosignatures (cosignature/v1, C2SP tlog-cosignature) to satisfy
// policy, a C2SP/Sigsum witness policy file as parsed by
// github.com/transparency-dev/formats/witness.ParsePolicy. It does not check
// the log's own signature: open the checkpoint with OpenCheckpoint first.
//
// The error wraps ErrWitnessPolicy and says which group was not satisfied
// and which witnesses did and did not cosign.
func CheckWitnessPolicy(signed []byte, policy []byte) error {
	g, err := fwitness.ParsePolicy(policy)
	if err != nil {
		return fmt.Errorf("%w: witness policy does not parse: %v", ErrBadKey, err)
	}
	if g.Satisfied(signed) {
		return nil
	}
	var signedBy, missing []string
	describe(g, signed, &signedBy, &missing)
	quorum := quorumName(policy)
	return fmt.Errorf("%w: quorum %q needs %d of its %d members; cosigned by %d witnesses [%s]; no valid cosignature by [%s]",
		ErrWitnessPolicy, quorum, g.N, len(g.Components), len(signedBy), strings.Join(signedBy, ", "), strings.Join(missing, ", "))
}

// describe lists the witnesses of g (recursively) that did and did not
// cosign signed.
func describe(g fwitness.Group, signed []byte, yes, no *[]string) {
	for _, c := range g.Components {
		switch c := c.(type) {
		case fwitness.Witness:
			name := fmt.Sprintf("%s+%08x", c.Key.Name(), c.Key.KeyHash())
			if c.Satisfied(signed) {
				*yes = append(*yes, name)
			} else {
				*no = append(*no, name)
			}
		case fwitness.Group:
			describe(c, signed, yes, no)
		}
	}
}

// quorumName is the name after the policy's "quorum" keyword.
func quorumName(policy []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(policy))
	name := ""
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if f := strings.Fields(line); len(f) == 2 && f[0] == "quorum" {
			name = f[1]
		}
	}
	return name
}

// Cosigners returns the names and key hashes of the witnesses of policy
// that validly cosigned signed.
func Cosigners(signed []byte, policy []byte) ([]string, error) {
	g, err := fwitness.ParsePolicy(policy)
	if err != nil {
		return nil, fmt.Errorf("%w: witness policy does not parse: %v", ErrBadKey, err)
	}
	var yes, no []string
	describe(g, signed, &yes, &no)
	return yes, nil
}
