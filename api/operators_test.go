package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestProducerOperators: a producer token bound to operators logs only
// their decisions; another system.operator is 403 and nothing is logged,
// in a single append and in a batch.
func TestProducerOperators(t *testing.T) {
	s := apitest.New(t, apitest.WithProducerOperators("other-ai"))
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	size := s.Log.Head().Size
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json"))
	if code != 403 || !strings.Contains(string(b), `"forbidden"`) || !strings.Contains(string(b), "example-ai") {
		t.Fatalf("decision of another operator: %d %s, want 403 forbidden naming it", code, b)
	}
	code, b = s.Do("POST", "/v1/decisions:batch", auth.Producer, []byte("["+string(apitest.Example(t, "decision-answered.json"))+"]"))
	var ans struct {
		Results []struct {
			Error *struct{ Code string } `json:"error"`
		} `json:"results"`
	}
	if code != 200 || json.Unmarshal(b, &ans) != nil || len(ans.Results) != 1 || ans.Results[0].Error == nil || ans.Results[0].Error.Code != "forbidden" {
		t.Fatalf("batch with another operator's decision: %d %s", code, b)
	}
	if n := s.Log.Head().Size; n != size {
		t.Fatalf("the tree grew from %d to %d on refused decisions", size, n)
	}

	ok := apitest.New(t, apitest.WithProducerOperators("example-ai", "other-ai"))
	ok.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	if code, b := ok.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json")); code != 201 {
		t.Fatalf("decision of a listed operator: %d %s", code, b)
	}
}
