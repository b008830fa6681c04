package operation

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/svckit/svckit/errkind"
)

// The checker walks the bytes of one JSON body beside the compiled node
// of its schema and collects every rule the body breaks, each with the
// JSON Pointer of the value that breaks it. It decodes nothing into Go
// values and allocates nothing for a body that passes (a member name or
// string with escapes aside); envelope decodes the body afterwards, with
// its own strict rules (duplicate and case-folded names, NUL, invalid
// UTF-8), which stay the only place those are judged.
//
// Text that is not one well-formed JSON value is not the checker's to
// describe: it stops, reports nothing, and envelope's decoder answers
// with the syntax error and its offset, as for any other body.

// maxDepth is the deepest nesting the checker follows, encoding/json's own
// limit; deeper text is left to the decoder, which refuses it.
const maxDepth = 10000

// maxViolations caps the violations one request reports, so a megabyte of
// bad array items is not answered with a megabyte of errors.
const maxViolations = 100

// segment is one step of the path to the current value: a member name
// (which may view the body's bytes: it is read only while the check runs)
// or an array index.
type segment struct {
	name  string
	index int
	named bool
}

// path is the stack of segments to the current value, kept in the checker
// itself for the first levels so that walking a body allocates nothing.
type path struct {
	fixed [16]segment
	more  []segment
	n     int
}

func (p *path) push(s segment) {
	if p.n < len(p.fixed) {
		p.fixed[p.n] = s
	} else {
		p.more = append(p.more, s)
	}
	p.n++
}

func (p *path) pop() {
	p.n--
	if p.n >= len(p.fixed) {
		p.more = p.more[:p.n-len(p.fixed)]
	}
}

// truncate keeps the first n segments.
func (p *path) truncate(n int) {
	for p.n > n {
		p.pop()
	}
}

func (p *path) at(i int) segment {
	if i < len(p.fixed) {
		return p.fixed[i]
	}
	return p.more[i-len(p.fixed)]
}

type checker struct {
	data    []byte
	i       int
	depth   int
	bad     bool // not one well-formed JSON value
	root    string
	path    path
	out     []errkind.Violation
	scratch []byte
	anyNode node // accepts any well-formed value: types 0, no rules
}

// checkBody checks data against n and returns the violations, or nil when
// there are none or when data is not well-formed JSON (then the decoder
// reports it).
func checkBody(n *node, data []byte) []errkind.Violation {
	c := checker{data: data, root: "/body"}
	c.value(n)
	c.ws()
	if c.bad || c.i != len(c.data) {
		return nil
	}
	return c.out
}

func (c *checker) ws() {
	for c.i < len(c.data) {
		switch c.data[c.i] {
		case ' ', '\t', '\r', '\n':
			c.i++
		default:
			return
		}
	}
}

// fail records a violation at the current location.
func (c *checker) fail(reason, message string) {
	if len(c.out) >= maxViolations {
		return
	}
	c.out = append(c.out, errkind.Violation{Location: c.pointer(), Reason: reason, Message: message})
}

// pointer is the JSON Pointer (RFC 6901) of the current value.
func (c *checker) pointer() string {
	var b strings.Builder
	b.WriteString(c.root)
	for i := range c.path.n {
		s := c.path.at(i)
		b.WriteByte('/')
		if !s.named {
			b.WriteString(strconv.Itoa(s.index))
			continue
		}
		for _, ch := range s.name {
			switch ch {
			case '~':
				b.WriteString("~0")
			case '/':
				b.WriteString("~1")
			default:
				b.WriteRune(ch)
			}
		}
	}
	return b.String()
}

func (c *checker) value(n *node) {
	c.ws()
	if c.i >= len(c.data) || c.depth > maxDepth {
		c.bad = true
		return
	}
	b := c.data[c.i]
	for {
		if b == 'n' && n.types&tNull != 0 {
			c.literal("null")
			return
		}
		if n.ref == nil {
			break
		}
		n = n.ref
	}
	var kind jsonTypes
	switch {
	case b == '{':
		kind = tObject
	case b == '[':
		kind = tArray
	case b == '"':
		kind = tString
	case b == 't' || b == 'f':
		kind = tBoolean
	case b == 'n':
		kind = tNull
	case b == '-' || '0' <= b && b <= '9':
		c.number(n)
		return
	default:
		c.bad = true
		return
	}
	if n.types != 0 && n.types&kind == 0 {
		if kind == tNull {
			c.fail("null", "must not be null")
		} else {
			c.fail("type", "must be "+n.types.noun())
		}
		n = &c.anyNode
	}
	switch kind {
	case tObject:
		c.object(n)
	case tArray:
		c.array(n)
	case tString:
		c.str(n)
	case tBoolean:
		if b == 't' {
			c.literal("true")
		} else {
			c.literal("false")
		}
	case tNull:
		c.literal("null")
	}
}

func (c *checker) literal(lit string) {
	if len(c.data)-c.i < len(lit) || string(c.data[c.i:c.i+len(lit)]) != lit {
		c.bad = true
		return
	}
	c.i += len(lit)
}

func (c *checker) object(n *node) {
	c.i++ // {
	c.depth++
	defer func() { c.depth-- }()
	var seen uint64
	var seenMore []bool
	if len(n.fields) > 64 {
		seenMore = make([]bool, len(n.fields))
	}
	c.ws()
	if c.i < len(c.data) && c.data[c.i] == '}' {
		c.i++
	} else {
		for !c.bad {
			c.ws()
			if c.i >= len(c.data) || c.data[c.i] != '"' {
				c.bad = true
				return
			}
			name, ok := c.name()
			if !ok {
				c.bad = true
				return
			}
			c.ws()
			if c.i >= len(c.data) || c.data[c.i] != ':' {
				c.bad = true
				return
			}
			c.i++
			c.path.push(segment{name: unsafeString(name), named: true})
			member := &c.anyNode
			if idx := n.field(name); idx >= 0 {
				dup := false
				if seenMore != nil {
					dup, seenMore[idx] = seenMore[idx], true
				} else {
					dup = seen&(1<<idx) != 0
					seen |= 1 << idx
				}
				if dup {
					c.fail("duplicate", "is repeated")
				}
				member = n.fields[idx].node
			} else if n.additional != nil {
				member = n.additional
			} else if n.closed {
				if f := n.folded(name); f != "" {
					c.fail("additionalProperties", "is not a member; the member is "+strconv.Quote(f)+" (names are case-sensitive)")
				} else {
					c.fail("additionalProperties", "is not a member of this object")
				}
			}
			c.value(member)
			c.path.pop()
			if !c.more('}') {
				break
			}
		}
	}
	if n.nRequired == 0 || c.bad {
		return
	}
	for idx := range n.fields {
		f := &n.fields[idx]
		if !f.required {
			continue
		}
		present := false
		if seenMore != nil {
			present = seenMore[idx]
		} else {
			present = seen&(1<<idx) != 0
		}
		if !present {
			c.path.push(segment{name: f.name, named: true})
			c.fail("required", "is required")
			c.path.pop()
		}
	}
}

// more moves past the separator after a member or item: true after a
// comma, false after the closing byte (or at malformed text, marked bad).
func (c *checker) more(closing byte) bool {
	c.ws()
	if c.i < len(c.data) {
		switch c.data[c.i] {
		case ',':
			c.i++
			return true
		case closing:
			c.i++
			return false
		}
	}
	c.bad = true
	return false
}

func (c *checker) array(n *node) {
	c.i++ // [
	c.depth++
	defer func() { c.depth-- }()
	items := n.items
	if items == nil {
		items = &c.anyNode
	}
	var unique map[string]struct{}
	duplicate := false
	if n.unique {
		unique = map[string]struct{}{}
	}
	count := 0
	c.ws()
	if c.i < len(c.data) && c.data[c.i] == ']' {
		c.i++
	} else {
		for !c.bad {
			c.path.push(segment{index: count})
			start := c.i
			c.value(items)
			c.path.pop()
			if unique != nil && !c.bad {
				key := c.canonical(c.data[start:c.i])
				if _, dup := unique[key]; dup {
					duplicate = true
				}
				unique[key] = struct{}{}
			}
			count++
			if !c.more(']') {
				break
			}
		}
	}
	if c.bad || n.types == 0 {
		return
	}
	if n.minItems >= 0 && count < n.minItems {
		c.fail("minItems", fmt.Sprintf("must have at least %d items", n.minItems))
	}
	if n.maxItems >= 0 && count > n.maxItems {
		c.fail("maxItems", fmt.Sprintf("must have at most %d items", n.maxItems))
	}
	if duplicate {
		c.fail("uniqueItems", "must not repeat an item")
	}
}

// canonical is a scalar item's identity for uniqueItems: 1 and 1.0 are
// one number, "a" and "\u0061" one string.
func (c *checker) canonical(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return s
	}
	switch s[0] {
	case '"':
		var out []byte
		if v, ok := unescape(out, []byte(s[1:len(s)-1])); ok {
			return "s" + string(v)
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return "n" + strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return s
}

// name reads a member name: a slice of the body, or a copy when it has
// escapes (a name outlives the scratch buffer while its value is walked).
func (c *checker) name() ([]byte, bool) {
	raw, escaped, ok := c.scanString()
	if !ok {
		return nil, false
	}
	if !escaped {
		return raw, true
	}
	return unescape(nil, raw)
}

// scanString moves past the string at c.i and returns its raw contents,
// whether they hold escapes, and whether the string is well-formed JSON.
func (c *checker) scanString() (raw []byte, escaped, ok bool) {
	c.i++ // "
	start := c.i
	for c.i < len(c.data) {
		b := c.data[c.i]
		switch {
		case b == '"':
			raw = c.data[start:c.i]
			c.i++
			return raw, escaped, true
		case b == '\\':
			escaped = true
			if c.i+1 >= len(c.data) {
				return nil, false, false
			}
			switch c.data[c.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				c.i += 2
			case 'u':
				if c.i+6 > len(c.data) || !isHex4(c.data[c.i+2:c.i+6]) {
					return nil, false, false
				}
				c.i += 6
			default:
				return nil, false, false
			}
		case b < 0x20:
			return nil, false, false
		default:
			c.i++
		}
	}
	return nil, false, false
}

func isHex4(b []byte) bool {
	for _, x := range b {
		if !('0' <= x && x <= '9' || 'a' <= x && x <= 'f' || 'A' <= x && x <= 'F') {
			return false
		}
	}
	return true
}

func hexValue(b []byte) rune {
	var r rune
	for _, x := range b {
		switch {
		case '0' <= x && x <= '9':
			x -= '0'
		case 'a' <= x && x <= 'f':
			x = x - 'a' + 10
		default:
			x = x - 'A' + 10
		}
		r = r<<4 | rune(x)
	}
	return r
}

// unescape appends the text of raw, the well-formed contents of a JSON
// string, to out, as encoding/json decodes it (an unpaired surrogate
// escape becomes U+FFFD).
func unescape(out, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		b := raw[i]
		if b != '\\' {
			out = append(out, b)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return nil, false
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(raw) {
				return nil, false
			}
			r := hexValue(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hexValue(raw[i+2:i+6])); d != utf8.RuneError {
						r2 = d
						i += 6
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return out, true
}

func (c *checker) str(n *node) {
	start := c.i
	raw, escaped, ok := c.scanString()
	if !ok {
		c.bad = true
		return
	}
	if n.types == 0 {
		return
	}
	val := raw
	if escaped {
		c.scratch, _ = unescape(c.scratch[:0], raw)
		val = c.scratch
	}
	if n.goTime {
		// time.Time parses the text between the quotes as sent, escapes
		// and all.
		var t time.Time
		if t.UnmarshalJSON(c.data[start:c.i]) != nil {
			c.fail("format", "must be "+formatNoun(n.format))
		}
		return
	}
	c.strRules(n, val)
	if n.base64 {
		dst := make([]byte, base64.StdEncoding.DecodedLen(len(val)))
		if _, err := base64.StdEncoding.Decode(dst, val); err != nil {
			c.fail("contentEncoding", "must be base64 (standard alphabet, padded)")
		}
	}
}

func inStrings(set []string, v []byte) bool {
	for _, s := range set {
		if s == string(v) {
			return true
		}
	}
	return false
}

// number checks the number at c.i. An integer node takes only a literal
// without fraction or exponent, as encoding/json decodes into a Go
// integer; anything else is of the wrong type.
func (c *checker) number(n *node) {
	start := c.i
	neg := false
	if c.data[c.i] == '-' {
		neg = true
		c.i++
	}
	digits := c.i
	if c.i >= len(c.data) {
		c.bad = true
		return
	}
	if c.data[c.i] == '0' {
		c.i++
	} else if '1' <= c.data[c.i] && c.data[c.i] <= '9' {
		for c.i < len(c.data) && '0' <= c.data[c.i] && c.data[c.i] <= '9' {
			c.i++
		}
	} else {
		c.bad = true
		return
	}
	intEnd := c.i
	isInt := true
	if c.i < len(c.data) && c.data[c.i] == '.' {
		isInt = false
		c.i++
		if !c.digits() {
			return
		}
	}
	if c.i < len(c.data) && (c.data[c.i] == 'e' || c.data[c.i] == 'E') {
		isInt = false
		c.i++
		if c.i < len(c.data) && (c.data[c.i] == '+' || c.data[c.i] == '-') {
			c.i++
		}
		if !c.digits() {
			return
		}
	}
	if n.types == 0 {
		return
	}
	if n.types&(tNumber|tInteger) == 0 {
		c.fail("type", "must be "+n.types.noun())
		return
	}
	lit := c.data[start:c.i]
	if n.types&tNumber == 0 { // integers only
		if !isInt {
			c.fail("type", "must be an integer")
			return
		}
		c.integer(n, neg, c.data[digits:intEnd])
		return
	}
	f, err := strconv.ParseFloat(unsafeString(lit), 64)
	if err != nil || n.float32Range && math.Abs(f) > math.MaxFloat32 {
		c.fail("format", "must be a number a "+cmpOr(n.format, "double")+" can hold")
		return
	}
	v := &number{f: f}
	c.bounds(n, v)
}

func (c *checker) digits() bool {
	start := c.i
	for c.i < len(c.data) && '0' <= c.data[c.i] && c.data[c.i] <= '9' {
		c.i++
	}
	if c.i == start {
		c.bad = true
		return false
	}
	return true
}

// integer checks an integer literal of magnitude digits.
func (c *checker) integer(n *node, neg bool, digits []byte) {
	var mag uint64
	overflow := len(digits) > 20
	for _, d := range digits {
		if overflow {
			break
		}
		next := mag*10 + uint64(d-'0')
		if mag > math.MaxUint64/10 || next < mag*10 {
			overflow = true
		}
		mag = next
	}
	var v number
	switch {
	case overflow, neg && mag > 1<<63:
		c.fail("format", "must be an integer a 64-bit number can hold")
		return
	case neg && n.unsigned:
		c.fail("minimum", "must be at least 0")
		return
	case neg:
		v.i, v.isInt = -int64(mag), true // mag ≤ 2^63
		if mag == 1<<63 {
			v.i = math.MinInt64
		}
		v.f = float64(v.i)
	default:
		v.u, v.isUint, v.f = mag, true, float64(mag)
		if mag <= math.MaxInt64 {
			v.i, v.isInt = int64(mag), true
		}
	}
	switch n.format {
	case "int64":
		if !v.isInt {
			c.fail("format", "must be an integer a 64-bit signed number can hold")
			return
		}
	case "int32":
		if !v.isInt || v.i < math.MinInt32 || v.i > math.MaxInt32 {
			c.fail("format", "must be an integer a 32-bit signed number can hold")
			return
		}
	}
	c.bounds(n, &v)
}

// bounds checks a number against the numeric keywords of n.
func (c *checker) bounds(n *node, v *number) {
	if n.minimum != nil && compare(v, n.minimum) < 0 {
		c.fail("minimum", "must be at least "+n.minimum.lit)
	}
	if n.maximum != nil && compare(v, n.maximum) > 0 {
		c.fail("maximum", "must be at most "+n.maximum.lit)
	}
	if n.exclusiveMin != nil && compare(v, n.exclusiveMin) <= 0 {
		c.fail("exclusiveMinimum", "must be above "+n.exclusiveMin.lit)
	}
	if n.exclMax != nil && compare(v, n.exclMax) >= 0 {
		c.fail("exclusiveMaximum", "must be below "+n.exclMax.lit)
	}
	if m := n.multipleOf; m != nil && !multipleOf(v, m) {
		c.fail("multipleOf", "must be a multiple of "+m.lit)
	}
	if n.numEnum != nil {
		for _, e := range n.numEnum {
			if compare(v, e) == 0 {
				return
			}
		}
		lits := make([]string, len(n.numEnum))
		for i, e := range n.numEnum {
			lits[i] = e.lit
		}
		c.fail("enum", "must be one of "+strings.Join(lits, ", "))
	}
}

// compare orders two numbers exactly when both are integers, else as
// float64s.
func compare(a, b *number) int {
	switch {
	case a.isInt && b.isInt:
		return cmpInt(a.i, b.i)
	case a.isUint && b.isUint:
		return cmpInt(a.u, b.u)
	case a.isUint && b.isInt: // a > MaxInt64, b negative
		return 1
	case a.isInt && b.isUint:
		return -1
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

func cmpInt[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func multipleOf(v, m *number) bool {
	if v.isInt && m.isInt && m.i > 0 {
		return v.i%m.i == 0
	}
	q := v.f / m.f
	return !math.IsInf(q, 0) && q == math.Trunc(q)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// unsafeBytes views s as bytes for a call that only reads them.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// unsafeString views b, bytes of the body, as a string that is read only
// while the check runs: a number literal handed to strconv.ParseFloat, a
// member name on the path (pointer copies it into a violation).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
