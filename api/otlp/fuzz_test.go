package otlp

import (
	"encoding/json"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzMapTraces: any bytes an exporter may send either fail to decode
// (a 400) or map span by span to a request body that is JSON, or to a
// mapError: never a panic, never another error (which would be a 5xx).
func FuzzMapTraces(f *testing.F) {
	for _, r := range mapping {
		b, err := ptraceotlp.NewExportRequestFromTraces(baseSpan(r)).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := decodeTraces(Protobuf, b)
		if err != nil {
			return
		}
		guards, evs := guardsOf(td)
		for _, g := range guards {
			var evals []evaluation
			for _, o := range evs {
				if o.eval.matches(g) {
					evals = append(evals, *o.eval)
				}
			}
			body, _, err := mapDecision(g, evals, joinOf(g, evals, 0, false))
			if err != nil {
				if _, ok := err.(*mapError); !ok {
					t.Fatalf("mapping error %T %v, want a *mapError", err, err)
				}
				continue
			}
			if !json.Valid(body) {
				t.Fatalf("mapped body is not JSON: %q", body)
			}
		}
	})
}
