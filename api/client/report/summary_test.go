package report_test

import (
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// TestSummaries: the lines said after a report, an export and an append
// name what was covered and whether it was verified.
func TestSummaries(t *testing.T) {
	d := &report.Data{Total: 7, Scanned: record.Range{From: 3, To: 12}, Verified: true,
		Checkpoints: []report.Checkpoint{{Origin: "o", Size: 10}, {Origin: "o", Size: 12}}, CheckpointChanged: true}
	v, line := d.Summary("r.html")
	if line != "wrote r.html: 7 decisions in entries [3, 12) at checkpoint o size 12 (verified)" {
		t.Errorf("report line %q", line)
	}
	if v["out"] != "r.html" || v["decisions"] != 7 || v["checkpoint_changed"] != true || v["verified"] != true {
		t.Errorf("report members %v", v)
	}
	d.Verified = false
	if _, line := d.Summary("-"); strings.Contains(line, "verified") {
		t.Errorf("unverified report line %q", line)
	}
	r := &report.ExportResult{Records: 2, Scanned: record.Range{From: 0, To: 5}, Size: 5}
	if got := r.Summary(true); got != "exported 2 records from entries [0, 5) at checkpoint size 5, every proof verified" {
		t.Errorf("export line %q", got)
	}
	if got := r.Summary(false); strings.Contains(got, "verified") {
		t.Errorf("unverified export line %q", got)
	}
	logged := &client.Appended{Receipt: &verify.Receipt{Index: 4}}
	summary, verified := report.ChallengeFiled("ch-1", "k@1/H-12", &record.ChallengeFiled{DueBy: "2026-12-01T00:00:00Z"}, logged)
	if summary != "challenge ch-1 of k@1/H-12 filed, due by 2026-12-01T00:00:00Z" || verified != report.NotVerified("challenge") {
		t.Errorf("challenge: %q, %q", summary, verified)
	}
	am := &record.AmendmentLogged{AmendmentID: "am-1", Constitution: "k@1"}
	if got := report.AmendmentLogged(am, logged); got != "amendment am-1 of k@1 logged at entry 4; no comment period" {
		t.Errorf("amendment without a comment period: %q", got)
	}
	am.CommentUntil = "2026-12-08T00:00:00Z"
	if got := report.AmendmentLogged(am, logged); !strings.HasSuffix(got, "; comments until 2026-12-08T00:00:00Z") {
		t.Errorf("amendment with a comment period: %q", got)
	}
	c, err := client.New(client.Config{URL: "http://127.0.0.1:1", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := report.VerifiedLine(c, "", 3); !strings.HasPrefix(got, "3 receipts NOT verified (no --key)") {
		t.Errorf("append line without a key %q", got)
	}
}
