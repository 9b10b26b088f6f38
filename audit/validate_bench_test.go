package audit

import (
	"sort"
	"testing"
)

// BenchmarkValidate measures Validate on each example request body, by the
// schema of its endpoint: the path a request takes before it is logged.
func BenchmarkValidate(b *testing.B) {
	names := make([]string, 0, len(svExampleSchemas))
	for n := range svExampleSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		schema := svExampleSchemas[name]
		doc := svReadExample(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if err := Validate(schema, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
