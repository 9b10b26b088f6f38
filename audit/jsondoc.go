package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on an untrusted JSON document, checked while it is decoded, before
// any schema applies: decoding is linear in the size of the document, and a
// document over a limit is refused as soon as the decoder reaches the
// excess, with a *ValidationError naming the field. They bound what a
// request can make the ledger allocate and compute beyond its body size
// limit. The API publishes them (GET /v1/log, "limits").
//
// Every limit is at least what the published schemas allow (maxItems 256,
// maxProperties 64, maxLength 32768 characters), so a document the schemas
// accept is never refused by a limit, except where a schema leaves a value
// free-form (a constitution's process): there the limits are the contract.
const (
	// MaxJSONDepth is the deepest a value may be nested: the number of
	// object keys and array indices on the path from the document to it.
	MaxJSONDepth = 64
	// MaxJSONObjectKeys is the most keys one object may have.
	MaxJSONObjectKeys = 256
	// MaxJSONArrayItems is the most items one array may have.
	MaxJSONArrayItems = 1024
	// MaxJSONNumberLen is the longest a number literal may be, in bytes.
	MaxJSONNumberLen = 64
	// MaxJSONStringBytes is the longest a string or key may be once
	// decoded, in bytes of UTF-8: 32768 characters of four bytes each,
	// the longest private text the schemas allow.
	MaxJSONStringBytes = 128 << 10
)

// Numbers. The leaf of a record is RFC 8785 (JCS), which writes every
// number as the shortest form of the IEEE-754 double nearest to it, so a
// number is logged as that double. A literal that only rounds (0.1,
// 1.00000000000000000001, 1E2, -0) is accepted and logged in its canonical
// form (0.1, 1, 100, 0), as JCS defines. A literal that the log would carry
// as a different number is refused: a non-zero literal whose nearest double
// is zero (1e-999999, 2e-324: logged as 0 it would say nothing was there)
// and a literal beyond the range of a double (1e999999: no JCS form). Schema
// bounds (minimum, maximum) are compared with the exact value of the
// literal, not with its double.

// jsonKind is the type of a decoded JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonObject
	jsonArray
)

// typeName is the JSON Schema name of the type, as validation errors say
// it.
func (k jsonKind) typeName() string {
	switch k {
	case jsonNull:
		return "null"
	case jsonBool:
		return "boolean"
	case jsonNumber:
		return "number"
	case jsonString:
		return "string"
	case jsonObject:
		return "object"
	}
	return "array"
}

// jsonValue is one decoded JSON value. Objects keep their members in
// document order; their keys are distinct.
type jsonValue struct {
	kind jsonKind
	b    bool         // jsonBool
	str  string       // jsonString: the value; jsonNumber: the literal
	num  float64      // jsonNumber: the nearest double (finite; non-zero unless the literal is zero)
	obj  []jsonMember // jsonObject
	arr  []jsonValue  // jsonArray
}

type jsonMember struct {
	key string
	val jsonValue
}

// member returns the value of key in an object, or nil.
func (v *jsonValue) member(key string) *jsonValue {
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val
		}
	}
	return nil
}

// generic returns the value in the form encoding/json's UseNumber decoding
// gives (map[string]any, []any, json.Number, string, bool, nil), which the
// JSON Schema validator takes.
func (v *jsonValue) generic() any {
	switch v.kind {
	case jsonBool:
		return v.b
	case jsonNumber:
		return json.Number(v.str)
	case jsonString:
		return v.str
	case jsonObject:
		m := make(map[string]any, len(v.obj))
		for i := range v.obj {
			m[v.obj[i].key] = v.obj[i].val.generic()
		}
		return m
	case jsonArray:
		a := make([]any, len(v.arr))
		for i := range v.arr {
			a[i] = v.arr[i].generic()
		}
		return a
	}
	return nil
}

// parseJSON decodes doc, which MUST be exactly one JSON value (RFC 8259)
// with optional white space around it, within the limits above, with
// distinct keys in every object, no unpaired UTF-16 surrogate escapes (they
// are no characters, so JCS cannot log them) and every number as described
// above. Its time is linear in len(doc). Every refusal is a
// *ValidationError; syntax errors name the document as a whole and give
// the byte offset.
func parseJSON(doc []byte) (jsonValue, *ValidationError) {
	p := &jsonParser{}
	p.reset(doc)
	return p.parse()
}

// parsers are parsers whose stacks and slabs are kept between documents.
var parsers = sync.Pool{New: func() any { return new(jsonParser) }}

// parsePooled is parseJSON on a parser from a pool, so that a document
// costs a copy of itself, not a new tree of slabs: the objects and arrays
// of v live in the parser's slabs until release, after which v MUST NOT be
// used. (Strings are not in the slabs: they stay valid.) release must be
// called once, error or not.
func parsePooled(doc []byte) (v jsonValue, release func(), err *ValidationError) {
	p := parsers.Get().(*jsonParser)
	p.reset(doc)
	v, err = p.parse()
	return v, func() { p.recycle(); parsers.Put(p) }, err
}

// maxKeptSlab is the most members or items a pooled parser keeps a slab
// of between documents.
const maxKeptSlab = 4096

// reset readies p for doc, keeping its stacks and its last slabs.
func (p *jsonParser) reset(doc []byte) {
	p.doc, p.sdoc, p.pos = doc, string(doc), 0
	if p.path == nil {
		p.path, p.members, p.items = make([]string, 0, 16), make([]jsonMember, 0, 16), make([]jsonValue, 0, 8)
	}
	p.path, p.members, p.items = p.path[:0], p.members[:0], p.items[:0]
	p.memberSlab, p.itemSlab = p.memberSlab[:0], p.itemSlab[:0]
}

// recycle drops what p's last document left in it (nothing it keeps
// points into a document) and slabs too large to keep.
func (p *jsonParser) recycle() {
	p.doc, p.sdoc = nil, ""
	clear(p.path[:cap(p.path)])
	clear(p.members[:cap(p.members)])
	clear(p.items[:cap(p.items)])
	clear(p.memberSlab)
	clear(p.itemSlab)
	if cap(p.memberSlab) > maxKeptSlab {
		p.memberSlab = nil
	}
	if cap(p.itemSlab) > maxKeptSlab {
		p.itemSlab = nil
	}
	if cap(p.buf) > MaxJSONStringBytes {
		p.buf = nil
	}
}

func (p *jsonParser) parse() (jsonValue, *ValidationError) {
	doc := p.doc
	if !utf8.Valid(doc) {
		return jsonValue{}, &ValidationError{Field: rootField, Message: "invalid JSON: not valid UTF-8"}
	}
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return jsonValue{}, err
	}
	p.skipSpace()
	if p.pos < len(p.doc) {
		return jsonValue{}, &ValidationError{Field: rootField, Message: fmt.Sprintf("invalid JSON: unexpected data after the top-level value (at byte %d)", p.pos)}
	}
	return v, nil
}

type jsonParser struct {
	doc  []byte
	sdoc string // doc, copied once: strings without escapes are slices of it
	pos  int
	path []string // keys and indices from the document to the value being decoded
	buf  []byte   // scratch space for strings with escapes
	// Members and items of the objects and arrays being decoded, stacked:
	// each is copied out once, to a slice of its exact size, when it ends.
	members []jsonMember
	items   []jsonValue
	// Where finished objects and arrays keep their members and items:
	// slabs shared by many, to allocate seldom.
	memberSlab []jsonMember
	itemSlab   []jsonValue
}

// slabSize is the least number of members or items allocated at once
// (then twice the last slab, up to maxKeptSlab).
const slabSize = 16

func (p *jsonParser) keepMembers(ms []jsonMember) []jsonMember {
	if cap(p.memberSlab)-len(p.memberSlab) < len(ms) {
		p.memberSlab = make([]jsonMember, 0, max(len(ms), slabSize, min(2*cap(p.memberSlab), maxKeptSlab)))
	}
	start := len(p.memberSlab)
	p.memberSlab = append(p.memberSlab, ms...)
	return p.memberSlab[start:len(p.memberSlab):len(p.memberSlab)]
}

func (p *jsonParser) keepItems(vs []jsonValue) []jsonValue {
	if cap(p.itemSlab)-len(p.itemSlab) < len(vs) {
		p.itemSlab = make([]jsonValue, 0, max(len(vs), slabSize, min(2*cap(p.itemSlab), maxKeptSlab)))
	}
	start := len(p.itemSlab)
	p.itemSlab = append(p.itemSlab, vs...)
	return p.itemSlab[start:len(p.itemSlab):len(p.itemSlab)]
}

func (p *jsonParser) field() string { return fieldPath(p.path) }

func (p *jsonParser) syntax(what string) *ValidationError {
	if p.pos >= len(p.doc) {
		return &ValidationError{Field: rootField, Message: "invalid JSON: unexpected end of input"}
	}
	return &ValidationError{Field: rootField, Message: fmt.Sprintf("invalid JSON: %s at byte %d, found %q", what, p.pos, p.doc[p.pos])}
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.doc) {
		switch p.doc[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value decodes the value at p.pos, which is not white space.
func (p *jsonParser) value() (jsonValue, *ValidationError) {
	if len(p.path) > MaxJSONDepth {
		return jsonValue{}, &ValidationError{Field: p.field(), Message: fmt.Sprintf("nested deeper than %d levels", MaxJSONDepth)}
	}
	if p.pos >= len(p.doc) {
		return jsonValue{}, p.syntax("")
	}
	switch c := p.doc[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.string()
		return jsonValue{kind: jsonString, str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", jsonValue{kind: jsonBool, b: true})
	case c == 'f':
		return p.literal("false", jsonValue{kind: jsonBool})
	case c == 'n':
		return p.literal("null", jsonValue{kind: jsonNull})
	}
	return jsonValue{}, p.syntax("expected a value")
}

func (p *jsonParser) literal(word string, v jsonValue) (jsonValue, *ValidationError) {
	if len(p.doc)-p.pos < len(word) || string(p.doc[p.pos:p.pos+len(word)]) != word {
		return jsonValue{}, p.syntax("expected " + word)
	}
	p.pos += len(word)
	return v, nil
}

// smallObject is the most members an object has before duplicate keys are
// found through a map rather than by comparing with every earlier key.
const smallObject = 16

func (p *jsonParser) object() (jsonValue, *ValidationError) {
	p.pos++ // '{'
	v := jsonValue{kind: jsonObject}
	var seen map[string]struct{}
	p.skipSpace()
	if p.pos < len(p.doc) && p.doc[p.pos] == '}' {
		p.pos++
		v.obj = []jsonMember{}
		return v, nil
	}
	base := len(p.members) // on an error, the stacks are dropped with p
	for {
		v.obj = p.members[base:]
		if p.pos >= len(p.doc) || p.doc[p.pos] != '"' {
			return jsonValue{}, p.syntax("expected a string key")
		}
		key, err := p.string()
		if err != nil {
			return jsonValue{}, err
		}
		p.path = append(p.path, key)
		if len(v.obj) == MaxJSONObjectKeys {
			return jsonValue{}, &ValidationError{Field: fieldPath(p.path[:len(p.path)-1]),
				Message: fmt.Sprintf("object has more than %d keys (found key %q after %d others), the most the ledger decodes", MaxJSONObjectKeys, key, MaxJSONObjectKeys)}
		}
		dup := false
		if seen != nil {
			_, dup = seen[key]
			seen[key] = struct{}{}
		} else {
			for i := range v.obj {
				if v.obj[i].key == key {
					dup = true
					break
				}
			}
			if len(v.obj) == smallObject {
				seen = make(map[string]struct{}, 2*smallObject)
				for i := range v.obj {
					seen[v.obj[i].key] = struct{}{}
				}
				seen[key] = struct{}{}
			}
		}
		if dup {
			return jsonValue{}, &ValidationError{Field: p.field(), Message: "duplicate key"}
		}
		p.skipSpace()
		if p.pos >= len(p.doc) || p.doc[p.pos] != ':' {
			return jsonValue{}, p.syntax("expected ':' after an object key")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return jsonValue{}, err
		}
		p.path = p.path[:len(p.path)-1]
		p.members = append(p.members, jsonMember{key: key, val: val})
		p.skipSpace()
		if p.pos >= len(p.doc) {
			return jsonValue{}, p.syntax("")
		}
		switch p.doc[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			v.obj = p.keepMembers(p.members[base:])
			p.members = p.members[:base]
			return v, nil
		default:
			return jsonValue{}, p.syntax("expected ',' or '}' after an object member")
		}
	}
}

func (p *jsonParser) array() (jsonValue, *ValidationError) {
	p.pos++ // '['
	v := jsonValue{kind: jsonArray, arr: []jsonValue{}}
	p.skipSpace()
	if p.pos < len(p.doc) && p.doc[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	base := len(p.items)
	for {
		n := len(p.items) - base
		if n == MaxJSONArrayItems {
			return jsonValue{}, &ValidationError{Field: p.field(),
				Message: fmt.Sprintf("array has more than %d items, the most the ledger decodes", MaxJSONArrayItems)}
		}
		p.path = append(p.path, strconv.Itoa(n))
		val, err := p.value()
		if err != nil {
			return jsonValue{}, err
		}
		p.path = p.path[:len(p.path)-1]
		p.items = append(p.items, val)
		p.skipSpace()
		if p.pos >= len(p.doc) {
			return jsonValue{}, p.syntax("")
		}
		switch p.doc[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			v.arr = p.keepItems(p.items[base:])
			p.items = p.items[:base]
			return v, nil
		default:
			return jsonValue{}, p.syntax("expected ',' or ']' after an array item")
		}
	}
}

// number decodes a number literal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (jsonValue, *ValidationError) {
	start := p.pos
	digits := func() bool {
		n := p.pos
		for p.pos < len(p.doc) && p.doc[p.pos] >= '0' && p.doc[p.pos] <= '9' {
			p.pos++
		}
		return p.pos > n
	}
	if p.doc[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.doc) && p.doc[p.pos] == '0' {
		p.pos++
	} else if !digits() {
		return jsonValue{}, p.syntax("expected a digit in a number")
	}
	mantissaEnd := p.pos
	if p.pos < len(p.doc) && p.doc[p.pos] == '.' {
		p.pos++
		if !digits() {
			return jsonValue{}, p.syntax("expected a digit after the decimal point")
		}
		mantissaEnd = p.pos
	}
	if p.pos < len(p.doc) && (p.doc[p.pos] == 'e' || p.doc[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.doc) && (p.doc[p.pos] == '+' || p.doc[p.pos] == '-') {
			p.pos++
		}
		if !digits() {
			return jsonValue{}, p.syntax("expected a digit in an exponent")
		}
	}
	lit := p.doc[start:p.pos]
	if len(lit) > MaxJSONNumberLen {
		return jsonValue{}, &ValidationError{Field: p.field(),
			Message: fmt.Sprintf("number literal is %d characters long, the most the ledger takes is %d", len(lit), MaxJSONNumberLen)}
	}
	s := p.sdoc[start:p.pos]
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// The grammar is checked above: the only error left is ErrRange,
		// a magnitude beyond the largest double.
		return jsonValue{}, &ValidationError{Field: p.field(),
			Message: fmt.Sprintf("number %s is beyond the range of an IEEE-754 double (about ±1.8e308); the log could not carry it exactly (RFC 8785)", s)}
	}
	if f == 0 {
		for _, c := range p.doc[start:mantissaEnd] {
			if c >= '1' && c <= '9' {
				return jsonValue{}, &ValidationError{Field: p.field(),
					Message: fmt.Sprintf("number %s is too small to be told from 0 as an IEEE-754 double (the smallest is about 4.9e-324); the log would carry it as 0 (RFC 8785)", s)}
			}
		}
	}
	return jsonValue{kind: jsonNumber, str: s, num: f}, nil
}

// string decodes the string at p.pos (its opening quote), refusing control
// characters, bad escapes, unpaired surrogates and more than
// MaxJSONStringBytes of content. The document is valid UTF-8.
func (p *jsonParser) string() (string, *ValidationError) {
	p.pos++ // '"'
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.doc) {
		c := p.doc[p.pos]
		if c == '"' {
			if p.pos-start > MaxJSONStringBytes {
				return "", p.tooLong(p.pos - start)
			}
			s := p.sdoc[start:p.pos]
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.syntax("control character in a string")
		}
		p.pos++
	}
	if p.pos >= len(p.doc) {
		return "", p.syntax("")
	}
	buf := append(p.buf[:0], p.doc[start:p.pos]...)
	for {
		if p.pos >= len(p.doc) {
			return "", p.syntax("")
		}
		c := p.doc[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.buf = buf
			if len(buf) > MaxJSONStringBytes {
				return "", p.tooLong(len(buf))
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.syntax("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		// An escape.
		if p.pos+1 >= len(p.doc) {
			p.pos = len(p.doc)
			return "", p.syntax("")
		}
		p.pos++
		switch e := p.doc[p.pos]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.pos + 1)
			if !ok {
				return "", p.syntax("expected four hex digits after \\u")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if r < 0xdc00 && p.pos+6 < len(p.doc) && p.doc[p.pos+1] == '\\' && p.doc[p.pos+2] == 'u' {
					if r2, ok = p.hex4(p.pos + 3); ok {
						r = utf16.DecodeRune(r, r2)
						ok = r != utf8.RuneError
					}
				}
				if !ok {
					return "", &ValidationError{Field: p.field(), Message: fmt.Sprintf(
						"invalid JSON: the escape \\u%04x at byte %d is half of a UTF-16 surrogate pair, not a character", r, p.pos-5)}
				}
				p.pos += 6
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.syntax("invalid escape in a string")
		}
		p.pos++
	}
}

func (p *jsonParser) tooLong(n int) *ValidationError {
	return &ValidationError{Field: p.field(),
		Message: fmt.Sprintf("string is %d bytes long, the most the ledger takes is %d", n, MaxJSONStringBytes)}
}

// hex4 reads four hex digits at i.
func (p *jsonParser) hex4(i int) (rune, bool) {
	if i+4 > len(p.doc) {
		return 0, false
	}
	var r rune
	for _, c := range p.doc[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// ErrTooManyItems is returned by SplitJSONArray for an array longer than
// its limit.
var ErrTooManyItems = errors.New("audit: too many array items")

// SplitJSONArray returns the elements of doc, a JSON array, as slices of
// doc, neither copied nor decoded: for a batch of requests, each decoded
// on its own. It refuses a document that is not valid JSON (RFC 8259
// syntax, as encoding/json's Valid checks it) or not an array, and an
// array of more than maxItems elements (ErrTooManyItems), in one linear
// pass over doc that allocates only the result (at most maxItems+1
// slices) and a stack of one byte per nesting level.
func SplitJSONArray(doc []byte, maxItems int) ([][]byte, error) {
	var items [][]byte
	n := 0
	ok, deep := scanJSON(doc, MaxJSONDepth+1, func(start, end int) {
		if n++; n <= maxItems+1 {
			items = append(items, doc[start:end])
		}
	})
	if deep {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrTooDeep, MaxJSONDepth+1)
	}
	if !ok {
		// Only words the syntax error, as encoding/json does.
		var skip json.RawMessage
		err := json.Unmarshal(doc, &skip)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, err
	}
	i := 0
	for doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r' {
		i++
	}
	if doc[i] != '[' {
		return nil, fmt.Errorf("want a JSON array, found %q at byte %d", doc[i], i)
	}
	if n > maxItems {
		return nil, fmt.Errorf("%w: more than %d", ErrTooManyItems, maxItems)
	}
	if items == nil {
		items = [][]byte{}
	}
	return items, nil
}

// ErrTooDeep is wrapped by SplitJSONArray's refusal of a document nested
// deeper than any request may be.
var ErrTooDeep = errors.New("audit: JSON nested too deep")

// scanJSON reports whether doc is one valid JSON value with optional white
// space around it, calling item with the bounds of each element of the
// top-level value when that is an array. It does not look at UTF-8 (as
// encoding/json's Valid does not). It stops with deep set (and ok false)
// at the first object or array nested deeper than maxDepth levels.
func scanJSON(doc []byte, maxDepth int, item func(start, end int)) (ok, deep bool) {
	const (
		wantValue  = iota // a value (or, just after '[', the ']' of an empty array)
		wantKey           // a key (or, just after '{', the '}' of an empty object)
		afterValue        // ',' or the end of the enclosing object or array
	)
	var stack []byte // '{' or '[' per open object or array
	state, i, start := wantValue, 0, 0
	empty := false // the container just opened may close at once
	for {
		for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
			i++
		}
		if state == afterValue && len(stack) == 0 {
			return i == len(doc), false
		}
		if i == len(doc) {
			return false, false
		}
		c := doc[i]
		switch state {
		case wantKey:
			if c == '}' && empty {
				stack, i, state = stack[:len(stack)-1], i+1, afterValue
				break
			}
			if c != '"' {
				return false, false
			}
			if i = scanJSONString(doc, i); i < 0 {
				return false, false
			}
			for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
				i++
			}
			if i == len(doc) || doc[i] != ':' {
				return false, false
			}
			i, state, empty = i+1, wantValue, false
			continue
		case wantValue:
			if c == ']' && empty {
				stack, i, state = stack[:len(stack)-1], i+1, afterValue
				break
			}
			if len(stack) == 1 && stack[0] == '[' {
				start = i
			}
			switch {
			case c == '{' || c == '[':
				if len(stack) == maxDepth {
					return false, true
				}
				stack = append(stack, c)
				i++
				state, empty = wantKey, true
				if c == '[' {
					state = wantValue
				}
				continue
			case c == '"':
				i = scanJSONString(doc, i)
			case c == '-' || (c >= '0' && c <= '9'):
				i = scanJSONNumber(doc, i)
			case c == 't' && bytes.HasPrefix(doc[i:], []byte("true")):
				i += 4
			case c == 'f' && bytes.HasPrefix(doc[i:], []byte("false")):
				i += 5
			case c == 'n' && bytes.HasPrefix(doc[i:], []byte("null")):
				i += 4
			default:
				return false, false
			}
			if i < 0 {
				return false, false
			}
			state = afterValue
		case afterValue:
			top := stack[len(stack)-1]
			switch {
			case c == ',':
				i, state = i+1, wantValue
				if top == '{' {
					state = wantKey
				}
				empty = false
				continue
			case c == '}' && top == '{', c == ']' && top == '[':
				stack, i = stack[:len(stack)-1], i+1
			default:
				return false, false
			}
		}
		// A value ended at i (state is afterValue): an element of the
		// top-level array if that is what encloses it now.
		empty = false
		if len(stack) == 1 && stack[0] == '[' && state == afterValue && item != nil {
			item(start, i)
		}
	}
}

// scanJSONString returns the index after the string that starts at
// doc[i] ('"'), or -1 if it is not a valid JSON string (unterminated, a
// control character, a bad escape).
func scanJSONString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch c := doc[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i == len(doc) {
				return -1
			}
			switch doc[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(doc) {
					return -1
				}
				for _, h := range doc[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// scanJSONNumber returns the index after the number that starts at doc[i]
// ('-' or a digit), or -1 if it is not a valid JSON number.
func scanJSONNumber(doc []byte, i int) int {
	digits := func() bool {
		s := i
		for i < len(doc) && doc[i] >= '0' && doc[i] <= '9' {
			i++
		}
		return i > s
	}
	if doc[i] == '-' {
		i++
	}
	switch {
	case i < len(doc) && doc[i] == '0':
		i++
	case !digits():
		return -1
	}
	if i < len(doc) && doc[i] == '.' {
		i++
		if !digits() {
			return -1
		}
	}
	if i < len(doc) && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < len(doc) && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		if !digits() {
			return -1
		}
	}
	return i
}
