package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/fjaledger/fja/schemas"
)

// ValidationError reports why a record or request is invalid: the most
// specific failing field, as a dotted path into the document ("rules.0.effect",
// "outcome.action"; "(root)" for the document as a whole), and a short
// human-readable message. The API returns it as a 400 naming the field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// rootField names the whole document in ValidationError.Field.
const rootField = "(root)"

// Validate checks doc, raw JSON, against the embedded schema of that name
// (a file name in package schemas without ".json": "decision.v1",
// "append-decision.v1", "receipt.v1", ...).
//
// Before the schema applies, doc MUST be exactly one JSON value in valid
// UTF-8, within the limits MaxJSONDepth, MaxJSONObjectKeys,
// MaxJSONArrayItems, MaxJSONNumberLen and MaxJSONStringBytes, with no
// duplicate object keys (a JCS canonical form is ambiguous otherwise), no
// number a double cannot carry (see parseJSON) and no data after it; this
// is decided in one linear pass before any schema work. Schema bounds on
// numbers are compared exactly, never through float64. Every failure of
// the document is a *ValidationError; an unknown schema name is a plain
// error.
//
// The request schemas of the append path (append-decision.v1,
// constitution.v1, append-contest.v1, append-resolution.v1) are checked by
// compiled Go code (validate_compiled.go) that accepts and rejects exactly
// what the JSON Schema validator does, with the same error; the others by
// the JSON Schema validator.
func Validate(schema string, doc []byte) error {
	if check, ok := compiled[schema]; ok {
		v, err := parseJSON(doc)
		if err != nil {
			return err
		}
		c := checker{path: make([]string, 0, 16)}
		check(&c, &v)
		if err := c.err(); err != nil {
			return err
		}
		return nil
	}
	return validateInterpreted(schema, doc)
}

// validateInterpreted is Validate through the JSON Schema validator, for
// every schema.
func validateInterpreted(schema string, doc []byte) error {
	set, err := compiledSchemas()
	if err != nil {
		return err
	}
	sch, ok := set[schema]
	if !ok {
		return fmt.Errorf("audit: unknown schema %q", schema)
	}
	v, verr := decodeJSON(doc)
	if verr != nil {
		return verr
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ValidationError{Field: rootField, Message: err.Error()}
	}
	return convertError(ve)
}

// compiledSchemas compiles every embedded schema once.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// Schemas refer to each other only through their $ids, all of which are
	// added here: nothing is ever fetched.
	c.UseLoader(noLoader{})
	names := schemas.Names()
	for _, name := range names {
		b, err := schemas.Read(name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("audit: schema %s: %w", name, err)
		}
		if err := c.AddResource(schemas.ID(name), doc); err != nil {
			return nil, fmt.Errorf("audit: schema %s: %w", name, err)
		}
	}
	set := make(map[string]*jsonschema.Schema, len(names))
	for _, name := range names {
		sch, err := c.Compile(schemas.ID(name))
		if err != nil {
			return nil, fmt.Errorf("audit: compiling schema %s: %w", name, err)
		}
		set[name] = sch
	}
	return set, nil
})

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("audit: schema %s is not embedded", url)
}

// decodeJSON decodes doc into the generic form the validator takes (maps,
// slices, json.Number, string, bool, nil); see parseJSON for what it
// refuses.
func decodeJSON(doc []byte) (any, *ValidationError) {
	v, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	return v.generic(), nil
}

// fieldPath renders an instance location as a dotted path.
func fieldPath(loc []string) string {
	if len(loc) == 0 {
		return rootField
	}
	return strings.Join(loc, ".")
}

// convertError picks the most specific failure out of the validator's error
// tree (see pickLeaf).
func convertError(root *jsonschema.ValidationError) *ValidationError {
	var leaves []*leafError
	collectLeaves(root, &leaves)
	if len(leaves) == 0 {
		return &ValidationError{Field: rootField, Message: "does not match the schema"}
	}
	return pickLeaf(leaves)
}

// pickLeaf picks the failure to report: the leaf whose field lies deepest
// in the document, ties broken by field name and then by message, so the
// choice is deterministic. leaves is not empty.
func pickLeaf(leaves []*leafError) *ValidationError {
	best := leaves[0]
	for _, l := range leaves[1:] {
		if leafBefore(l, best) {
			best = l
		}
	}
	return &ValidationError{Field: fieldPath(best.loc), Message: best.msg}
}

func leafBefore(a, b *leafError) bool {
	if len(a.loc) != len(b.loc) {
		return len(a.loc) > len(b.loc)
	}
	if fa, fb := fieldPath(a.loc), fieldPath(b.loc); fa != fb {
		return fa < fb
	}
	return a.msg < b.msg
}

type leafError struct {
	loc []string
	msg string
}

// collectLeaves appends the reportable failures under e. Structural kinds
// (references, allOf, anyOf, groups) are not failures in themselves: their
// causes are.
func collectLeaves(e *jsonschema.ValidationError, out *[]*leafError) {
	if ls := hint(e); ls != nil {
		*out = append(*out, ls...)
		return
	}
	if len(e.Causes) > 0 {
		switch e.ErrorKind.(type) {
		case *kind.PropertyNames:
			// The causes describe the key as if it were a value; report the
			// object instead.
		default:
			for _, c := range e.Causes {
				collectLeaves(c, out)
			}
			return
		}
	}
	loc := e.InstanceLocation
	child := func(name string) []string { return append(loc[:len(loc):len(loc)], name) }
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, &leafError{child(m), msgRequired})
		}
	case *kind.DependentRequired:
		for _, m := range k.Missing {
			*out = append(*out, &leafError{child(m), fmt.Sprintf("is required when %s is given", k.Prop)})
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, &leafError{child(p), msgUnknownField})
		}
	default:
		*out = append(*out, &leafError{loc, describe(e)})
	}
}

// hints are messages for failures whose generic wording would not tell the
// caller what to do. Keys are the end of the failing keyword's absolute
// location (schema URL, '#', JSON pointer to the keyword); field, if set,
// is the failing field relative to the failing instance (for
// additionalProperties: each unknown key).
var hints = map[string]struct{ field, msg string }{
	"common.v1.json#/$defs/number_map/additionalProperties": {
		"", msgNumberMapKey},
	"decision.v1.json#/$defs/refusal_cites_refuse_rule/then/properties/rules/contains": {
		"", msgRefusalCitesRefuseRule},
	"append-decision.v1.json#/$defs/request_xor_private_request/then/not": {
		"request", msgEitherCommitmentOrPrivate("request")},
	"append-decision.v1.json#/$defs/request_xor_private_request/else/required": {
		"request", msgRequiredOrPrivate("request")},
	"append-decision.v1.json#/$defs/response_xor_private_response/then/not": {
		"response", msgEitherCommitmentOrPrivate("response")},
	"append-decision.v1.json#/$defs/response_xor_private_response/else/required": {
		"response", msgRequiredOrPrivate("response")},
}

func hint(e *jsonschema.ValidationError) []*leafError {
	if _, ok := e.ErrorKind.(*kind.Reference); ok {
		return nil
	}
	kw := e.SchemaURL
	for _, tok := range e.ErrorKind.KeywordPath() {
		kw += "/" + tok
	}
	if _, ok := e.ErrorKind.(*kind.Not); ok {
		kw += "/not" // kind.Not reports the location of the schema holding "not"
	}
	for suffix, h := range hints {
		if !strings.HasSuffix(kw, "/"+suffix) {
			continue
		}
		loc := e.InstanceLocation
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			var ls []*leafError
			for _, p := range ap.Properties {
				ls = append(ls, &leafError{append(loc[:len(loc):len(loc)], p), h.msg})
			}
			return ls
		}
		if h.field != "" {
			loc = append(loc[:len(loc):len(loc)], strings.Split(h.field, ".")...)
		}
		return []*leafError{{loc, h.msg}}
	}
	return nil
}

// patternMessages describe the patterns used in the schemas.
var patternMessages = map[string]string{
	`^sha256:[0-9a-f]{64}$`:                  "must be a commitment: sha256: followed by 64 lowercase hex digits",
	`^[0-9a-f]{64}$`:                         "must be 64 lowercase hex digits",
	`^[A-Za-z0-9._:-]+$`:                     "may contain only letters, digits and . _ : -",
	`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`:            "must be an ISO 3166 code such as DE or US-CA",
	`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`:    "must be a BCP 47 language tag such as de-DE",
	`^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$`: "must be the standard base64 of a 32-byte hash",
	`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`: "must be standard base64",
	`^[^\s]+$`: "must not contain white space",
	`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`: "must be an RFC 3339 time in UTC (ending in Z)",
}

var printer = message.NewPrinter(language.English)

// describe words one failure briefly.
func describe(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return msgType(k.Want, k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = plain(w)
		}
		return msgEnum(want)
	case *kind.Const:
		return msgConst(plain(k.Want))
	case *kind.Format:
		if k.Want == "date-time" {
			return msgDateTime
		}
		return "must be a valid " + k.Want
	case *kind.Pattern:
		return msgPattern(k.Want)
	case *kind.MinLength:
		return msgMinLength(k.Want)
	case *kind.MaxLength:
		return msgMaxLength(k.Want, k.Got)
	case *kind.MinItems:
		return msgMinItems(k.Want)
	case *kind.MaxItems:
		return msgMaxItems(k.Want, k.Got)
	case *kind.MinProperties:
		return msgMinProperties(k.Want)
	case *kind.MaxProperties:
		return msgMaxProperties(k.Want, k.Got)
	case *kind.Minimum:
		return msgMinimum(k.Want, k.Got)
	case *kind.Maximum:
		return msgMaximum(k.Want, k.Got)
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be greater than %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be less than %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.PropertyNames:
		return fmt.Sprintf("key %q is not allowed: keys are 1 to 64 letters, digits, . _ : or -", k.Property)
	case *kind.UniqueItems:
		return fmt.Sprintf("items %d and %d are the same", k.Duplicates[0], k.Duplicates[1])
	case *kind.FalseSchema, *kind.Not:
		return "is not allowed here"
	case *kind.Contains:
		return "has no matching item"
	}
	return e.ErrorKind.LocalizedString(printer)
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// plain renders an enum or const value: strings bare, the rest as JSON.
func plain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func article(t string) string {
	switch t {
	case "object", "array", "integer":
		return "an " + t
	case "null":
		return "null"
	}
	return "a " + t
}

func articled(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = article(t)
	}
	return out
}

func joinOr(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
