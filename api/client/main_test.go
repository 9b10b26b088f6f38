package client_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/verify/record"
)

// server is one real ledger (Badger, signer, HTTP on loopback) shared by
// the examples, with the example constitution published.
var server *apitest.Server

// mainTB lets apitest start the examples' server outside a test: the
// examples have no *testing.T.
type mainTB struct {
	testing.TB
	cleanups []func()
}

func (m *mainTB) Helper()                   {}
func (m *mainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Fatal(a ...any)            { panic(fmt.Sprint(a...)) }
func (m *mainTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }
func (m *mainTB) Errorf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "client-examples-")
	if err != nil {
		panic(err)
	}
	tb := &mainTB{}
	server = apitest.New(tb, apitest.WithDir(dir))
	server.MustPost("/v1/constitutions", auth.Producer, apitest.Example(tb, "constitution.json"))
	code := m.Run()
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// decision is the shared example decision that answers, under id.
func decision(id string) *record.DecisionRequest {
	var d record.DecisionRequest
	if err := json.Unmarshal(apitest.Example(&mainTB{}, "decision-answered.json"), &d); err != nil {
		panic(err)
	}
	d.DecisionID = id
	return &d
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
