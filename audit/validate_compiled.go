package audit

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Compiled validation: the request schemas on the append path, written as
// Go code over the decoded document, so that a request is not interpreted
// against the schema graph each time. The schemas in package schemas stay
// the contract; every rule below names the schema definition it
// implements, and FuzzCompiledMatchesSchema holds each compiled validator
// to the JSON Schema validator on mutated example requests: the same
// accept or reject, and the same error (field and message).
//
// Errors are collected as the JSON Schema validator reports them (every
// failing keyword a leaf; a failing "type", "enum", "const" or "format"
// stops the checks of its value) and one is picked by pickLeaf, the rule
// convertError applies to the validator's errors.

// compiled maps a schema name to its compiled validator.
var compiled = map[string]func(*checker, *jsonValue){
	"append-decision.v1":   checkAppendDecision,
	"constitution.v1":      checkConstitution,
	"append-contest.v1":    checkAppendContest,
	"append-resolution.v1": checkAppendResolution,
}

// checker collects the failures of one document.
type checker struct {
	path   []string // the location of the value being checked
	leaves []*leafError
}

func (c *checker) fail(msg string) {
	c.leaves = append(c.leaves, &leafError{loc: slices.Clone(c.path), msg: msg})
}

func (c *checker) failAt(child, msg string) {
	loc := make([]string, len(c.path)+1)
	copy(loc, c.path)
	loc[len(c.path)] = child
	c.leaves = append(c.leaves, &leafError{loc: loc, msg: msg})
}

// err is the failure to report, or nil.
func (c *checker) err() *ValidationError {
	if len(c.leaves) == 0 {
		return nil
	}
	return pickLeaf(c.leaves)
}

// is checks the type keyword of a single type.
func (c *checker) is(v *jsonValue, k jsonKind) bool {
	if v.kind == k {
		return true
	}
	c.fail(msgType([]string{k.typeName()}, v.kind.typeName()))
	return false
}

// str is a string schema: "type": "string" and the keywords below.
type str struct {
	min, max   int // minLength, maxLength; 0: none
	dateTime   bool
	pattern    func(string) bool
	patternSrc string // the pattern as written in the schema
}

func (c *checker) str(v *jsonValue, r *str) {
	if !c.is(v, jsonString) {
		return
	}
	c.strKeywords(v.str, r)
}

func (c *checker) strKeywords(s string, r *str) {
	if r.dateTime && !validDateTime(s) {
		c.fail(msgDateTime)
		return
	}
	if r.min > 0 || r.max > 0 {
		n := utf8.RuneCountInString(s) // the schemas count characters
		if r.min > 0 && n < r.min {
			c.fail(msgMinLength(r.min))
		}
		if r.max > 0 && n > r.max {
			c.fail(msgMaxLength(r.max, n))
		}
	}
	if r.pattern != nil && !r.pattern(s) {
		c.fail(msgPattern(r.patternSrc))
	}
}

// enum is {"enum": [strings]}.
func (c *checker) enum(v *jsonValue, values []string) {
	if v.kind == jsonString && slices.Contains(values, v.str) {
		return
	}
	c.fail(msgEnum(values))
}

// bound is a minimum or maximum of a number schema.
type bound struct {
	f        float64  // the nearest double
	r        *big.Rat // the exact value
	integral bool     // an integer of magnitude below 2^53, exact as a double
}

func newBound(lit string) *bound {
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		panic("audit: bad bound " + lit)
	}
	f, _ := r.Float64()
	return &bound{f: f, r: r, integral: r.IsInt() && math.Abs(f) < 1<<53}
}

// cmp compares the number v with b exactly: -1 if v < b, 0 if equal, +1
// if v > b. Rounding to a double is
// monotonic, so where v's double differs from b's, it orders them; only
// where they are equal does the literal decide.
func (b *bound) cmp(v *jsonValue) int {
	switch {
	case v.num < b.f:
		return -1
	case v.num > b.f:
		return 1
	}
	if b.integral && integralLiteral(v.str) {
		// An integer N whose double is an integer below 2^53 is that
		// integer: such integers are exact doubles, so N == b.
		return 0
	}
	return exactNumber(v.str).Cmp(b.r)
}

// integralLiteral reports whether a number literal writes an integer
// without an exponent: digits, then optionally a point and zeros (1, 1.0,
// -0.00).
func integralLiteral(lit string) bool {
	i := strings.IndexByte(lit, '.')
	if i < 0 {
		return !strings.ContainsAny(lit, "eE")
	}
	for _, c := range []byte(lit[i+1:]) {
		if c != '0' {
			return false
		}
	}
	return true
}

func exactNumber(lit string) *big.Rat {
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		panic("audit: number literal " + lit + " passed the decoder but not big.Rat")
	}
	return r
}

// number is {"type": "number", "minimum": min, "maximum": max}.
func (c *checker) number(v *jsonValue, min, max *bound) {
	if !c.is(v, jsonNumber) {
		return
	}
	if min.cmp(v) < 0 {
		c.fail(msgMinimum(min.r, exactNumber(v.str)))
	}
	if max.cmp(v) > 0 {
		c.fail(msgMaximum(max.r, exactNumber(v.str)))
	}
}

// prop is one entry of "properties".
type prop struct {
	name  string
	check func(*checker, *jsonValue)
}

// obj is {"type": "object", "additionalProperties": false, "properties",
// "required"}.
type obj struct {
	props    []prop
	required []string
}

// object checks v against r and reports whether v is an object.
func (c *checker) object(v *jsonValue, r *obj) bool {
	if !c.is(v, jsonObject) {
		return false
	}
	for _, name := range r.required {
		if v.member(name) == nil {
			c.failAt(name, msgRequired)
		}
	}
	for i := range v.obj {
		m := &v.obj[i]
		j := 0
		for j < len(r.props) && r.props[j].name != m.key {
			j++
		}
		if j == len(r.props) {
			c.failAt(m.key, msgUnknownField)
			continue
		}
		c.path = append(c.path, m.key)
		r.props[j].check(c, &m.val)
		c.path = c.path[:len(c.path)-1]
	}
	return true
}

// array is {"type": "array", "minItems", "maxItems", "items"}; 0: no
// bound.
func (c *checker) array(v *jsonValue, min, max int, item func(*checker, *jsonValue)) {
	if !c.is(v, jsonArray) {
		return
	}
	if len(v.arr) < min {
		c.fail(msgMinItems(min))
	}
	if max > 0 && len(v.arr) > max {
		c.fail(msgMaxItems(max, len(v.arr)))
	}
	for i := range v.arr {
		c.path = append(c.path, strconv.Itoa(i))
		item(c, &v.arr[i])
		c.path = c.path[:len(c.path)-1]
	}
}

// Patterns of common.v1 and decision.v1, as code. Go's regexp anchors $ at
// the end of the text only, and every character class is ASCII, so a
// byte-wise test is the same test.

func isIDChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == ':' || b == '-'
}

func isLowerHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }
func isAlpha(b byte) bool    { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isAlnum(b byte) bool    { return isAlpha(b) || b >= '0' && b <= '9' }

// matchID is ^[A-Za-z0-9._:-]+$.
func matchID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return false
		}
	}
	return true
}

// matchNumberKey is ^[A-Za-z0-9._:-]{1,64}$.
func matchNumberKey(s string) bool { return len(s) <= 64 && matchID(s) }

// matchSHA256Hex is ^[0-9a-f]{64}$.
func matchSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// matchCommitment is ^sha256:[0-9a-f]{64}$.
func matchCommitment(s string) bool {
	rest, ok := strings.CutPrefix(s, "sha256:")
	return ok && matchSHA256Hex(rest)
}

// matchJurisdiction is ^[A-Z]{2}(-[A-Z0-9]{1,3})?$.
func matchJurisdiction(s string) bool {
	upper := func(b byte) bool { return b >= 'A' && b <= 'Z' }
	if len(s) < 2 || !upper(s[0]) || !upper(s[1]) {
		return false
	}
	if len(s) == 2 {
		return true
	}
	if s[2] != '-' || len(s) < 4 || len(s) > 6 {
		return false
	}
	for i := 3; i < len(s); i++ {
		if !upper(s[i]) && !(s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// matchLocale is ^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$.
func matchLocale(s string) bool {
	first := true
	for part := range strings.SplitSeq(s, "-") {
		n := len(part)
		if first {
			if n < 2 || n > 8 {
				return false
			}
			for i := 0; i < n; i++ {
				if !isAlpha(part[i]) {
					return false
				}
			}
			first = false
			continue
		}
		if n < 1 || n > 8 {
			return false
		}
		for i := 0; i < n; i++ {
			if !isAlnum(part[i]) {
				return false
			}
		}
	}
	return true
}

// The definitions of common.v1.
var (
	defID           = &str{min: 1, max: 128, pattern: matchID, patternSrc: `^[A-Za-z0-9._:-]+$`}
	defVersion      = &str{min: 1, max: 64, pattern: matchID, patternSrc: `^[A-Za-z0-9._:-]+$`}
	defName         = &str{min: 1, max: 256}
	defText         = &str{max: 4096}
	defNonemptyText = &str{min: 1, max: 4096}
	defPrivateText  = &str{max: 32768}
	defCommitment   = &str{pattern: matchCommitment, patternSrc: `^sha256:[0-9a-f]{64}$`}
	defSHA256Hex    = &str{pattern: matchSHA256Hex, patternSrc: `^[0-9a-f]{64}$`}
	defDateTime     = &str{dateTime: true, max: 64}

	numberMapMin = newBound("-1e300")
	numberMapMax = newBound("1e300")
	zero         = newBound("0")
	one          = newBound("1")
)

func strCheck(r *str) func(*checker, *jsonValue) {
	return func(c *checker, v *jsonValue) { c.str(v, r) }
}

func enumCheck(values ...string) func(*checker, *jsonValue) {
	return func(c *checker, v *jsonValue) { c.enum(v, values) }
}

func objCheck(r *obj) func(*checker, *jsonValue) {
	return func(c *checker, v *jsonValue) { c.object(v, r) }
}

func boolCheck(c *checker, v *jsonValue) { c.is(v, jsonBool) }

// checkNumberMap is common.v1 number_map.
func checkNumberMap(c *checker, v *jsonValue) {
	if !c.is(v, jsonObject) {
		return
	}
	if len(v.obj) > 64 {
		c.fail(msgMaxProperties(64, len(v.obj)))
	}
	for i := range v.obj {
		m := &v.obj[i]
		if !matchNumberKey(m.key) {
			c.failAt(m.key, msgNumberMapKey)
			continue
		}
		c.path = append(c.path, m.key)
		c.number(&m.val, numberMapMin, numberMapMax)
		c.path = c.path[:len(c.path)-1]
	}
}

// The definitions of decision.v1.
var (
	defCommitmentRef = &obj{
		props:    []prop{{"commitment", strCheck(defCommitment)}},
		required: []string{"commitment"},
	}
	defSystem = &obj{
		props: []prop{
			{"operator", strCheck(defName)}, {"model", strCheck(defName)},
			{"model_version", strCheck(defName)}, {"deployment", strCheck(defName)},
		},
		required: []string{"operator", "model", "model_version", "deployment"},
	}
	defSubject = &obj{
		props: []prop{
			{"ref", strCheck(defCommitment)},
			{"jurisdiction", strCheck(&str{pattern: matchJurisdiction, patternSrc: `^[A-Z]{2}(-[A-Z0-9]{1,3})?$`})},
			{"locale", strCheck(&str{max: 64, pattern: matchLocale, patternSrc: `^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`})},
		},
		required: []string{"ref", "jurisdiction", "locale"},
	}
	defObjective = &obj{
		props: []prop{
			{"id", strCheck(defID)},
			{"description", strCheck(defNonemptyText)},
			{"source", enumCheck("extracted", "user", "operator", "policy")},
			{"confidence", func(c *checker, v *jsonValue) { c.number(v, zero, one) }},
		},
		required: []string{"id", "description", "source", "confidence"},
	}
	defConstitutionRef = &obj{
		props:    []prop{{"id", strCheck(defID)}, {"version", strCheck(defVersion)}},
		required: []string{"id", "version"},
	}
	defRule = &obj{
		props: []prop{
			{"rule_id", strCheck(defID)},
			{"effect", enumCheck("allow", "refuse", "modify", "warn", "escalate")},
			{"rationale", strCheck(defText)},
		},
		required: []string{"rule_id", "effect", "rationale"},
	}
	defCandidate = &obj{
		props: []prop{
			{"id", strCheck(defID)},
			{"scores", checkNumberMap},
			{"selected", boolCheck},
		},
		required: []string{"id", "scores", "selected"},
	}
	defProvenanceFlag = &obj{
		props: []prop{
			{"code", strCheck(defID)},
			{"message", strCheck(defText)},
			{"severity", enumCheck("info", "warning", "critical")},
		},
		required: []string{"code", "message", "severity"},
	}
	defOutcome = &obj{
		props: []prop{
			{"action", enumCheck("answered", "refused", "modified", "escalated")},
			{"category", strCheck(defID)},
			{"explanation", strCheck(defText)},
			{"contestable", boolCheck},
		},
		required: []string{"action", "category", "explanation", "contestable"},
	}
	defContest = &obj{
		props:    []prop{{"token_sha256", strCheck(defSHA256Hex)}},
		required: []string{"token_sha256"},
	}
)

// append-decision.v1.
var (
	defPrivate = &obj{
		props: []prop{{"request", strCheck(defPrivateText)}, {"response", strCheck(defPrivateText)}},
	}
	appendDecision = &obj{
		props: []prop{
			{"decision_id", strCheck(defID)},
			{"occurred_at", strCheck(defDateTime)},
			{"system", objCheck(defSystem)},
			{"subject", objCheck(defSubject)},
			{"request", objCheck(defCommitmentRef)},
			{"objectives", func(c *checker, v *jsonValue) { c.array(v, 0, 256, objCheck(defObjective)) }},
			{"constitution", objCheck(defConstitutionRef)},
			{"rules", func(c *checker, v *jsonValue) { c.array(v, 1, 256, objCheck(defRule)) }},
			{"weights", checkNumberMap},
			{"candidates", func(c *checker, v *jsonValue) { c.array(v, 0, 256, objCheck(defCandidate)) }},
			{"provenance_flags", func(c *checker, v *jsonValue) { c.array(v, 0, 256, objCheck(defProvenanceFlag)) }},
			{"outcome", objCheck(defOutcome)},
			{"response", objCheck(defCommitmentRef)},
			{"contest", objCheck(defContest)},
			{"private", objCheck(defPrivate)},
		},
		required: []string{"decision_id", "occurred_at", "system", "subject", "objectives",
			"constitution", "rules", "weights", "candidates", "provenance_flags", "outcome"},
	}
)

func checkAppendDecision(c *checker, v *jsonValue) {
	if !c.object(v, appendDecision) {
		return
	}
	// allOf: decision.v1 refusal_cites_refuse_rule.
	if out := v.member("outcome"); out != nil && out.kind == jsonObject {
		if a := out.member("action"); a != nil && a.kind == jsonString && a.str == "refused" {
			if rules := v.member("rules"); rules != nil && rules.kind == jsonArray && !citesRefuseRule(rules) {
				c.failAt("rules", msgRefusalCitesRefuseRule)
			}
		}
	}
	// allOf: request_xor_private_request, response_xor_private_response.
	for _, part := range []string{"request", "response"} {
		p := v.member("private")
		if p != nil && p.kind == jsonObject && p.member(part) != nil {
			if v.member(part) != nil {
				c.failAt(part, msgEitherCommitmentOrPrivate(part))
			}
		} else if v.member(part) == nil {
			c.failAt(part, msgRequiredOrPrivate(part))
		}
	}
}

func citesRefuseRule(rules *jsonValue) bool {
	for i := range rules.arr {
		r := &rules.arr[i]
		if r.kind != jsonObject {
			continue
		}
		if e := r.member("effect"); e != nil && e.kind == jsonString && e.str == "refuse" {
			return true
		}
	}
	return false
}

// constitution.v1.
var (
	defConstitutionRule = &obj{
		props: []prop{
			{"rule_id", strCheck(defID)},
			{"text", strCheck(defNonemptyText)},
			{"pillar", enumCheck("flourishing", "justice", "autonomy", "harmlessness", "helpfulness", "honesty")},
		},
		required: []string{"rule_id", "text", "pillar"},
	}
	defSupersedes = &str{min: 1, max: 64, pattern: matchID, patternSrc: `^[A-Za-z0-9._:-]+$`}
	constitution  = &obj{
		props: []prop{
			{"constitution_id", strCheck(defID)},
			{"version", strCheck(defVersion)},
			{"rules", func(c *checker, v *jsonValue) { c.array(v, 1, 256, objCheck(defConstitutionRule)) }},
			{"process", checkProcess},
			{"supersedes", checkSupersedes},
			{"adopts", func(c *checker, v *jsonValue) { c.array(v, 1, 64, strCheck(defID)) }},
		},
		required: []string{"constitution_id", "version", "rules", "process"},
	}
)

func checkConstitution(c *checker, v *jsonValue) { c.object(v, constitution) }

// checkProcess: {"type": "object", "minProperties": 1, "maxProperties": 64}.
func checkProcess(c *checker, v *jsonValue) {
	if !c.is(v, jsonObject) {
		return
	}
	if len(v.obj) < 1 {
		c.fail(msgMinProperties(1))
	}
	if len(v.obj) > 64 {
		c.fail(msgMaxProperties(64, len(v.obj)))
	}
}

// checkSupersedes: {"type": ["string", "null"], ...string keywords}.
func checkSupersedes(c *checker, v *jsonValue) {
	switch v.kind {
	case jsonNull:
	case jsonString:
		c.strKeywords(v.str, defSupersedes)
	default:
		c.fail(msgType([]string{"null", "string"}, v.kind.typeName()))
	}
}

// append-contest.v1.
var appendContest = &obj{
	props: []prop{
		{"contest_id", strCheck(defID)},
		{"decision_id", strCheck(defID)},
		{"contest_token", strCheck(&str{min: 1, max: 256})},
		{"grounds", objCheck(&obj{
			props:    []prop{{"category", strCheck(defID)}, {"text", strCheck(&str{min: 1, max: 32768})}},
			required: []string{"category", "text"},
		})},
		{"remedy", enumCheck("reconsider", "explain", "correct")},
	},
	required: []string{"contest_id", "decision_id", "contest_token", "grounds", "remedy"},
}

func checkAppendContest(c *checker, v *jsonValue) { c.object(v, appendContest) }

// append-resolution.v1 (resolution.v1 definitions).
var appendResolution = &obj{
	props: []prop{
		{"outcome", enumCheck("upheld", "overturned", "partially_overturned", "withdrawn")},
		{"rationale", strCheck(defNonemptyText)},
		{"human_reviewed", func(c *checker, v *jsonValue) {
			// {"type": "boolean", "const": true}
			if c.is(v, jsonBool) && !v.b {
				c.fail(msgConst("true"))
			}
		}},
		{"rule_changes", func(c *checker, v *jsonValue) {
			c.array(v, 0, 256, objCheck(&obj{
				props: []prop{
					{"rule_id", strCheck(defID)},
					{"change", enumCheck("add", "amend", "remove")},
					{"constitution_version", strCheck(defVersion)},
				},
				required: []string{"rule_id", "change", "constitution_version"},
			}))
		}},
	},
	required: []string{"outcome", "rationale", "human_reviewed", "rule_changes"},
}

func checkAppendResolution(c *checker, v *jsonValue) { c.object(v, appendResolution) }

// Messages, shared with describe and the hints so that both validators
// word a failure the same way.
const (
	msgRequired               = "is required"
	msgUnknownField           = "is not a known field"
	msgDateTime               = "must be an RFC 3339 date-time such as 2026-11-27T10:00:00Z"
	msgNumberMapKey           = "is not an allowed key: keys are 1 to 64 letters, digits, . _ : or -"
	msgRefusalCitesRefuseRule = "a refusal must cite at least one rule whose effect is refuse"
)

func msgEitherCommitmentOrPrivate(part string) string {
	return "give either " + part + ".commitment or private." + part + ", not both"
}

func msgRequiredOrPrivate(part string) string { return "is required (or private." + part + ")" }

func msgType(want []string, got string) string {
	return fmt.Sprintf("must be %s, got %s", joinOr(articled(want)), article(got))
}

func msgEnum(want []string) string { return "must be one of " + strings.Join(want, ", ") }
func msgConst(want string) string  { return "must be " + want }

func msgPattern(src string) string {
	if m, ok := patternMessages[src]; ok {
		return m
	}
	return "must match " + src
}

func msgMinLength(n int) string {
	if n == 1 {
		return "must not be empty"
	}
	return fmt.Sprintf("must be at least %d characters long", n)
}

func msgMaxLength(want, got int) string {
	return fmt.Sprintf("must be at most %d characters long, got %d", want, got)
}

func msgMinItems(n int) string {
	if n == 1 {
		return "must not be empty"
	}
	return fmt.Sprintf("must have at least %d items", n)
}

func msgMaxItems(want, got int) string {
	return fmt.Sprintf("must have at most %d items, got %d", want, got)
}

func msgMinProperties(n int) string {
	if n == 1 {
		return "must not be empty"
	}
	return fmt.Sprintf("must have at least %d fields", n)
}

func msgMaxProperties(want, got int) string {
	return fmt.Sprintf("must have at most %d fields, got %d", want, got)
}

func msgMinimum(want, got *big.Rat) string {
	return fmt.Sprintf("must be at least %s, got %s", rat(want), rat(got))
}

func msgMaximum(want, got *big.Rat) string {
	return fmt.Sprintf("must be at most %s, got %s", rat(want), rat(got))
}
