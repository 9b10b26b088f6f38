package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchConstitution is published before an HTTP benchmark so that the
// generated decisions cite a real constitution version.
const benchConstitution = `{"constitution_id":"bench","version":%q,"process":{"method":"benchmark fixture"},
"rules":[{"rule_id":"H-12","pillar":"harmlessness","text":"Answer self-harm related requests with care."},
{"rule_id":"A-03","pillar":"autonomy","text":"Give adults the medical information they ask for."}]}`

// benchDecision is a realistic refused decision (about 1.4 KB), with
// placeholders for its id, constitution version and commitments.
const benchDecision = `{"decision_id":%q,"occurred_at":"2026-11-27T09:59:58.120Z",
"system":{"operator":"bench-ai","model":"bench-chat","model_version":"2026-10-01","deployment":"eu-central"},
"subject":{"ref":"sha256:%s","jurisdiction":"DE","locale":"de-DE"},
"request":{"commitment":"sha256:%s"},
"objectives":[{"id":"obj-1","description":"maximum daily dose of an over-the-counter analgesic for an adult","source":"extracted","confidence":0.91}],
"constitution":{"id":"bench","version":%q},
"rules":[{"rule_id":"H-12","effect":"refuse","rationale":"dosage question matched the self-harm screen"},{"rule_id":"A-03","effect":"allow","rationale":"adult asking for medical information"}],
"weights":{"flourishing":0.15,"justice":0.1,"autonomy":0.25,"harmlessness":0.4,"helpfulness":0.1},
"candidates":[{"id":"c1","scores":{"harmlessness":0.62,"helpfulness":0.94,"autonomy":0.9},"selected":false},{"id":"c2","scores":{"harmlessness":0.97,"helpfulness":0.12,"autonomy":0.2},"selected":true}],
"provenance_flags":[],
"outcome":{"action":"refused","category":"medical","explanation":"I can't help with dosage questions. If you are thinking about harming yourself, please contact a local helpline.","contestable":true},
"response":{"commitment":"sha256:%s"}}`

func randHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// benchHTTP appends n generated decisions to a running server with c
// concurrent clients, one per request, or in batches of batch records.
func benchHTTP(ctx context.Context, g globalOptions, n, c, batch int) (*benchResult, error) {
	if g.Token == "" {
		return nil, usageErrorf("--url mode needs a producer --token (or LEDGER_TOKEN)")
	}
	base := strings.TrimRight(g.URL, "/")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 2 * time.Minute}
	post := func(path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+g.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	version := "v-" + randHex()[:12]
	if code, b, err := post("/v1/constitutions", []byte(fmt.Sprintf(benchConstitution, version))); err != nil || code != http.StatusCreated {
		return nil, fmt.Errorf("publishing the benchmark constitution: %d %s %v", code, b, err)
	}
	run := randHex()[:8]
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(benchDecision, fmt.Sprintf("bench-%s-%d", run, i), randHex(), randHex(), version, randHex()))
	}
	// Work units: single bodies, or JSON arrays of up to batch bodies.
	var units [][]byte
	per := 1
	path := "/v1/decisions"
	if batch > 1 {
		per, path = batch, "/v1/decisions:batch"
		for i := 0; i < n; i += batch {
			units = append(units, append(append([]byte("["), bytes.Join(bodies[i:min(i+batch, n)], []byte(","))...), ']'))
		}
	} else {
		units = bodies
	}
	var (
		next, acked, retries atomic.Int64
		firstErr             atomic.Pointer[error]
		wg                   sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(units)) || firstErr.Load() != nil {
					return
				}
				for {
					code, b, err := post(path, units[i])
					if err == nil && (code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests) {
						retries.Add(1)
						time.Sleep(5 * time.Millisecond)
						continue
					}
					if err == nil && code != http.StatusCreated && code != http.StatusOK {
						err = fmt.Errorf("POST %s: %d %s", path, code, truncateBytes(b, 300))
					}
					if err == nil && batch > 1 {
						var res struct {
							Results []struct {
								Error *struct{ Message string } `json:"error"`
							} `json:"results"`
						}
						if err = json.Unmarshal(b, &res); err == nil {
							for _, r := range res.Results {
								if r.Error != nil {
									err = fmt.Errorf("batch record: %s", r.Error.Message)
									break
								}
							}
						}
					}
					if err != nil {
						firstErr.CompareAndSwap(nil, &err)
						return
					}
					acked.Add(int64(min(per, n-int(i)*per)))
					break
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return nil, *e
	}
	mode := "http-single"
	if batch > 1 {
		mode = fmt.Sprintf("http-batch-%d", batch)
	}
	return &benchResult{Mode: mode, Entries: int(acked.Load()), EntryBytes: len(bodies[0]), InFlight: c, Pushbacks: retries.Load(),
		Seconds: elapsed.Seconds(), AckedPerSec: float64(acked.Load()) / elapsed.Seconds()}, nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
