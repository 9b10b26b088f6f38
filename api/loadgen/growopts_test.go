package loadgen

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The flags of bench grow fill GrowOptions, and Check names what is
// missing or out of range.
func TestGrowOptions(t *testing.T) {
	parse := func(args ...string) *GrowOptions {
		var o GrowOptions
		f := pflag.NewFlagSet("grow", pflag.ContinueOnError)
		o.Flags(f)
		if err := f.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &o
	}
	ok := []string{"--pid", "42", "--data", "d", "--csv", "g.csv", "--svg", "g.svg"}
	o := parse(append(ok, "-n", "100", "--every", "10", "--md", "n.md", "--note", "shared")...)
	if o.PID != 42 || o.DataDir != "d" || o.N != 100 || o.Every != 10 || o.Info.CSV != "g.csv" || o.Info.SVG != "g.svg" || o.MD != "n.md" || o.Info.Note != "shared" {
		t.Fatalf("parsed %+v", o)
	}
	if o.Batch != 250 || o.Clients != 8 || o.Proofs != 1000 {
		t.Fatalf("defaults: batch %d clients %d proofs %d, want 250 8 1000", o.Batch, o.Clients, o.Proofs)
	}
	if err := o.Check("tok"); err != nil {
		t.Fatalf("Check of a complete run: %v", err)
	}
	for _, c := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", ok, "--token"},
		{"tok", ok[2:], "--pid, --data, --csv and --svg"},
		{"tok", append(ok, "--proofs", "0"), "--proofs >= 1"},
		{"tok", append(ok, "-n", "0"), "-n, --every"},
	} {
		err := parse(c.args...).Check(c.token)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%q) with %q: %v, want an error naming %q", c.token, c.args, err, c.want)
		}
	}
}
