package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/verify"
)

func newGetCmd() *cobra.Command {
	var (
		receipt      bool
		contestToken string
		purpose      string
		index        uint64
		vo           verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "get DECISION_ID [--receipt] [--contest-token T] [--purpose WHY] [--key VKEY] | get --index N",
		Short: "Fetch a decision record, its receipt, or a log entry",
		Long: `get DECISION_ID prints the decision record (GET /v1/decisions/{id}) as pretty
JSON: decision_id, index, record, and for the regulator any private content.
It needs a regulator --token, or the subject's --contest-token. A regulator
reading a decision with private content must say why with --purpose (sent as
X-Access-Purpose): the server logs the read as an access record before it
answers. The subject's answer lists those access records.

get DECISION_ID --receipt prints the receipt (GET /v1/decisions/{id}/receipt)
as the server returned it, ready for 'ledgerctl verify'.

get --index N prints the decoded JSON of log entry N (GET /v1/entries/N).

With --key the answer is verified offline first: the receipt, or the entry's
inclusion proof against the signed checkpoint served with it. --json prints
the server's answer unchanged.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("index") {
				if len(args) != 0 {
					return usageErrorf("get --index takes no DECISION_ID")
				}
				if receipt || contestToken != "" {
					return usageErrorf("--receipt and --contest-token do not go with --index")
				}
				return nil
			}
			if len(args) != 1 {
				return usageErrorf("get takes one DECISION_ID (or --index N), got %d arguments", len(args))
			}
			if receipt && contestToken != "" {
				return usageErrorf("--receipt needs a producer, regulator or operator --token, not --contest-token")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			g := globals(cmd)
			var origin, key string
			var others []string
			if len(vo.keys) > 0 {
				var err error
				if origin, key, others, err = vo.resolve(); err != nil {
					return err
				}
			}
			check := func(entry, leafHash []byte, checkpoint string, proof [][]byte, idx uint64) error {
				if key == "" {
					return nil
				}
				return verifyInclusionView(entry, leafHash, checkpoint, proof, idx, origin, key, others)
			}
			c := g.client()
			ctx := cmd.Context()
			w := cmd.OutOrStdout()

			if cmd.Flags().Changed("index") {
				path := fmt.Sprintf("/v1/entries/%d", index)
				_, body, err := c.Do(ctx, http.MethodGet, path, nil, nil)
				if err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				var e struct {
					Index          uint64   `json:"index"`
					Entry          []byte   `json:"entry"`
					LeafHash       []byte   `json:"leaf_hash"`
					Checkpoint     string   `json:"checkpoint"`
					InclusionProof [][]byte `json:"inclusion_proof"`
				}
				if err := json.Unmarshal(body, &e); err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if e.Index != index {
					return fmt.Errorf("GET %s: the server answered entry %d", path, e.Index)
				}
				if err := check(e.Entry, e.LeafHash, e.Checkpoint, e.InclusionProof, e.Index); err != nil {
					return fmt.Errorf("entry %d does NOT verify: %w", index, err)
				}
				if g.JSON {
					return writeLine(w, body)
				}
				return writePretty(w, e.Entry)
			}

			id := args[0]
			if receipt {
				path := "/v1/decisions/" + url.PathEscape(id) + "/receipt"
				_, body, err := c.Do(ctx, http.MethodGet, path, nil, nil)
				if err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if key != "" {
					r, _, err := verify.VerifyReceipt(body, key, others...)
					if err != nil {
						return fmt.Errorf("the receipt of %s does NOT verify: %w", id, err)
					}
					if vo.origin != "" && r.Origin != origin {
						return fmt.Errorf("the receipt of %s is for origin %q, want %q", id, r.Origin, origin)
					}
					if err := entryIs(r.Entry, id); err != nil {
						return err
					}
				}
				return writeLine(w, body)
			}

			path := "/v1/decisions/" + url.PathEscape(id)
			var hdr http.Header
			if contestToken != "" {
				hdr = http.Header{"X-Contest-Token": {contestToken}}
			}
			if purpose != "" {
				if hdr == nil {
					hdr = http.Header{}
				}
				hdr.Set("X-Access-Purpose", purpose)
			}
			_, body, err := c.Do(ctx, http.MethodGet, path, nil, hdr)
			if err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			var v struct {
				DecisionID     string            `json:"decision_id"`
				Index          uint64            `json:"index"`
				Entry          []byte            `json:"entry"`
				LeafHash       []byte            `json:"leaf_hash"`
				Record         json.RawMessage   `json:"record"`
				Checkpoint     string            `json:"checkpoint"`
				InclusionProof [][]byte          `json:"inclusion_proof"`
				Private        map[string]string `json:"private,omitempty"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			if key != "" {
				if err := check(v.Entry, v.LeafHash, v.Checkpoint, v.InclusionProof, v.Index); err != nil {
					return fmt.Errorf("the record of %s does NOT verify: %w", id, err)
				}
				if err := entryIs(v.Entry, id); err != nil {
					return err
				}
				var rec, ent any
				if json.Unmarshal(v.Record, &rec) != nil || json.Unmarshal(v.Entry, &ent) != nil || !reflect.DeepEqual(rec, ent) {
					return fmt.Errorf("the record of %s differs from its logged entry", id)
				}
			}
			if g.JSON {
				return writeLine(w, body)
			}
			out, err := json.MarshalIndent(struct {
				DecisionID string            `json:"decision_id"`
				Index      uint64            `json:"index"`
				Record     json.RawMessage   `json:"record"`
				Private    map[string]string `json:"private,omitempty"`
			}{v.DecisionID, v.Index, v.Record, v.Private}, "", "  ")
			if err != nil {
				return err
			}
			return writeLine(w, out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&receipt, "receipt", false, "print the decision's receipt instead of the record")
	f.StringVar(&contestToken, "contest-token", "", "the subject's contest `token` (sent as X-Contest-Token)")
	f.StringVar(&purpose, "purpose", "", "why private content is read (`text` sent as X-Access-Purpose; the read is logged)")
	f.Uint64Var(&index, "index", 0, "print log entry `N` instead of a decision")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify the answer offline with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// verifyInclusionView checks a served entry against the signed checkpoint
// served with it: signature, leaf hash and inclusion proof.
func verifyInclusionView(entry, leafHash []byte, checkpoint string, proof [][]byte, idx uint64, origin, key string, others []string) error {
	cp, err := verify.OpenCheckpoint([]byte(checkpoint), origin, key, others...)
	if err != nil {
		return err
	}
	if lh := verify.LeafHash(entry); !bytes.Equal(lh, leafHash) {
		return fmt.Errorf("leaf hash %s is not the hash of the entry (%s)", b64(leafHash), b64(lh))
	}
	return verify.Inclusion(idx, cp.Size, leafHash, proof, cp.Hash)
}

// entryIs checks that a logged entry is the decision id.
func entryIs(entry []byte, id string) error {
	var env struct {
		Kind string `json:"kind"`
		Body struct {
			DecisionID string `json:"decision_id"`
		} `json:"body"`
	}
	if err := json.Unmarshal(entry, &env); err != nil {
		return fmt.Errorf("the logged entry is not a JSON envelope: %w", err)
	}
	if env.Kind != "decision" || env.Body.DecisionID != id {
		return fmt.Errorf("the logged entry is %s %q, not decision %q", env.Kind, env.Body.DecisionID, id)
	}
	return nil
}

func writeLine(w io.Writer, b []byte) error {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b[:len(b):len(b)], '\n')
	}
	_, err := w.Write(b)
	return err
}

// writePretty prints JSON indented, or other bytes as they are.
func writePretty(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return writeLine(w, b)
	}
	return writeLine(w, buf.Bytes())
}
