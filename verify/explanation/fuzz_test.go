package explanation_test

import (
	"bytes"
	"testing"

	"github.com/fjaledger/fja/verify/explanation"
)

// FuzzVerify: Verify never panics, and whatever it accepts is exactly the
// canonical encoding of what it returns.
func FuzzVerify(f *testing.F) {
	e, err := newFixture().build(f, true)
	if err != nil {
		f.Fatal(err)
	}
	good, err := explanation.Encode(e)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"fja-explanation/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := explanation.Verify(b, logVKey)
		if err != nil {
			return
		}
		canon, err := explanation.Encode(got)
		if err != nil || !bytes.Equal(canon, b) {
			t.Fatalf("accepted a file that is not the encoding of what it returned: %v", err)
		}
	})
}
