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

// BenchmarkCanonicalDecision measures the canonical form of a decision
// record (canonicalRecord), which the append path computes twice per
// decision (the digest of what was sent, and the leaf body).
func BenchmarkCanonicalDecision(b *testing.B) {
	req, err := DecodeDecisionRequest(svReadExample(b, "decision-answered.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonicalRecord(req.Decision); err != nil {
			b.Fatal(err)
		}
	}
}
