package audit

import (
	"sort"
	"testing"
)

// BenchmarkValidate measures Validate on each example request body, by the
// schema of its endpoint (the path a request takes before it is logged:
// compiled), beside the JSON Schema validator on the same document
// (jsonschema), and the one-pass typed decode of the request (typed).
func BenchmarkValidate(b *testing.B) {
	names := make([]string, 0, len(svExampleSchemas))
	for n := range svExampleSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		schema := svExampleSchemas[name]
		doc := svReadExample(b, name)
		run := func(variant string, f func() error) {
			b.Run(name+"/"+variant, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					if err := f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		run("compiled", func() error { return Validate(schema, doc) })
		run("jsonschema", func() error { return validateInterpreted(schema, doc) })
		switch schema {
		case "append-decision.v1":
			run("typed", func() error { _, err := DecodeDecisionRequest(doc); return err })
			run("validate+decodeStrict", func() error {
				if err := Validate(schema, doc); err != nil {
					return err
				}
				var r DecisionRequest
				return decodeStrict(doc, &r)
			})
		case "append-contest.v1":
			run("typed", func() error { _, err := DecodeContestRequest(doc); return err })
		case "append-resolution.v1":
			run("typed", func() error { _, err := DecodeResolutionRequest(doc); return err })
		}
	}
}

// BenchmarkCanonicalDecision measures the canonical forms of a decision
// that the append path needs, for each example decision: what was sent
// (for the digest) and the logged record, with a contest token hash and,
// for a private decision, its commitments filled in. "twice" writes both
// (canonicalRecord, twice); "resplice" writes the first and makes the
// second from its bytes (respliceDecisionJCS), as AppendDecision does.
func BenchmarkCanonicalDecision(b *testing.B) {
	for _, name := range []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"} {
		req, err := DecodeDecisionRequest(svReadExample(b, name))
		if err != nil {
			b.Fatal(err)
		}
		sent := req.Decision
		sent.Contest = nil
		logged := sent
		logged.Contest = &ContestStanding{TokenSHA256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"}
		if req.Private != nil {
			c := &Commitment{Commitment: "sha256:" + logged.Contest.TokenSHA256}
			logged.Request, logged.Response = c, c
		}
		b.Run(name+"/twice", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := canonicalRecord(&sent); err != nil {
					b.Fatal(err)
				}
				if _, err := canonicalRecord(&logged); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/resplice", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var sp decisionSpans
				first, err := appendDecisionJCSSpans(make([]byte, 0, 2048), &sent, &sp)
				if err != nil {
					b.Fatal(err)
				}
				respliceDecisionJCS(first, &sp, &logged)
			}
		})
	}
}
