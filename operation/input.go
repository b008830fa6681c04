package operation

import (
	"encoding"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/svckit/svckit/envelope"
)

// input is the compiled reading of an operation's input struct: where each
// parameter comes from, how its text becomes its Go value and which rules
// it must meet, and the body's node. It is built once, at registration.
type input struct {
	t         reflect.Type
	params    []param
	hasQuery  bool
	body      *body
	requestAt int // offset of a *http.Request field; -1 when none
}

type body struct {
	t      reflect.Type
	ptr    reflect.Type // *t
	offset uintptr
	schema *schema
	node   *node
}

// param is one path, query or header parameter.
type param struct {
	in       string // "path", "query" or "header"
	root     string // "/path", "/query" or "/header"
	name     string
	offset   uintptr
	t        reflect.Type
	kind     reflect.Kind // of the value, pointers and slices stripped
	isPtr    bool         // *T: nil when absent
	isSlice  bool         // []T: every value of a repeated query parameter
	text     bool         // the value type decodes itself from text
	required bool
	def      *string // the default's text
	schema   *schema
	node     *node
	doc      string
}

func requestType() reflect.Type { return reflect.TypeFor[*http.Request]() }

// newInput compiles the input struct t of operation op.
func newInput(t reflect.Type, reg *registry, pathNames []string) (*input, error) {
	in := &input{t: t, requestAt: -1}
	if t.Kind() != reflect.Struct {
		return nil, &describeError{"In", t, "the input must be a struct of parameters and a Body"}
	}
	if err := in.fields(t, 0, "In", reg); err != nil {
		return nil, err
	}
	// Every wildcard of the pattern is a path parameter and the other way
	// round, so no path value goes unread and no field waits for one.
	for _, name := range pathNames {
		found := false
		for _, p := range in.params {
			found = found || p.in == "path" && p.name == name
		}
		if !found {
			return nil, &describeError{"In", t, "the pattern has {" + name + "}, and no field is tagged path:\"" + name + "\""}
		}
	}
	for _, p := range in.params {
		if p.in == "path" && !contains(pathNames, p.name) {
			return nil, &describeError{"In", t, "field tagged path:\"" + p.name + "\" has no {" + p.name + "} in the pattern"}
		}
	}
	return in, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newParam compiles one parameter field.
func newParam(where string, f reflect.StructField, at string) (param, error) {
	p := param{in: where, root: "/" + where, name: f.Tag.Get(where), offset: f.Offset, t: f.Type, doc: f.Tag.Get("doc")}
	if p.name == "" {
		p.name = f.Name
	}
	fail := func(why string) (param, error) { return param{}, &describeError{at, f.Type, why} }
	vt := f.Type
	switch {
	case vt.Kind() == reflect.Pointer:
		p.isPtr, vt = true, vt.Elem()
	case vt.Kind() == reflect.Slice && vt.Elem().Kind() != reflect.Uint8:
		if where != "query" {
			return fail("only a query parameter may repeat")
		}
		p.isSlice, vt = true, vt.Elem()
	}
	p.text = reflect.PointerTo(vt).Implements(textUnmarshal())
	p.kind = vt.Kind()
	var s *schema
	switch {
	case p.text:
		s = &schema{Type: typeList{typeString}}
		if vt == timeType() {
			s.Format = "date-time"
		}
	case p.kind == reflect.String:
		s = &schema{Type: typeList{typeString}}
	case p.kind == reflect.Bool:
		s = &schema{Type: typeList{typeBoolean}}
	case p.kind >= reflect.Int && p.kind <= reflect.Uint64 || p.kind == reflect.Float32 || p.kind == reflect.Float64:
		var err error
		if s, err = newRegistry().schemaOf(vt, at); err != nil {
			return param{}, err
		}
	default:
		return fail("a parameter is text, a number, a boolean, a text type (UnmarshalText), a pointer to one or, in a query, a slice of them")
	}
	if vt.Implements(enumType()) || reflect.PointerTo(vt).Implements(enumType()) {
		reg := newRegistry()
		ref, err := reg.schemaOf(vt, at)
		if err != nil {
			return param{}, err
		}
		s = reg.schemas[strings.TrimPrefix(ref.Ref, "#/components/schemas/")]
	}
	if p.isSlice {
		s = &schema{Type: typeList{typeArray}, Items: s}
	}
	s, err := applyTags(s, f.Tag, f.Type, at)
	if err != nil {
		return param{}, err
	}
	if s.Description != "" { // doc describes the parameter, not its schema
		c := *s
		c.Description = ""
		s = &c
	}
	p.schema = s
	switch v := f.Tag.Get("required"); v {
	case "", "false":
	case "true":
		p.required = true
	default:
		return fail(`required must be "true" or "false"`)
	}
	if where == "path" {
		p.required = true
	}
	if d, ok := f.Tag.Lookup("default"); ok {
		if p.required {
			return fail("a required parameter has no default")
		}
		if p.isSlice {
			return fail("a repeated parameter has no default")
		}
		x, err := parseValue(s, d)
		if err != nil {
			return fail(fmt.Sprintf("default %q: %v", d, err))
		}
		ps := *s
		ps.Default = x
		p.schema = &ps
		p.def = &d
	}
	if where == "header" {
		p.name = http.CanonicalHeaderKey(p.name)
	}
	node, err := newCompiler(nil).compile(p.schema)
	if err != nil {
		return fail(err.Error())
	}
	p.node = node
	if p.isSlice {
		p.node = node.items
	}
	if p.def != nil {
		// The default must meet the rules itself.
		var c checker
		c.root = "/" + where
		if _, ok := c.param(&p, *p.def); !ok || len(c.out) > 0 {
			return fail(fmt.Sprintf("default %q breaks the parameter's own rules", *p.def))
		}
	}
	return p, nil
}

// pathNames lists the wildcards of a ServeMux path, {id} and {rest...}.
func pathNames(path string) []string {
	var names []string
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			return names
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			return names
		}
		name := strings.TrimSuffix(path[open+1:open+end], "...")
		if name != "$" {
			names = append(names, name)
		}
		path = path[open+end+1:]
	}
}

// read fills the parameters of *dst (a value of in.t at p) from r and
// collects what they break. A parameter that envelope refuses outright
// (NUL or invalid UTF-8 in a path value, a query string that does not
// parse) returns that error at once.
func (in *input) read(r *http.Request, dst unsafe.Pointer, c *checker) error {
	var q url.Values
	if in.hasQuery {
		var err error
		if q, err = envelope.Query(r); err != nil {
			return err
		}
	}
	if in.requestAt >= 0 {
		*(**http.Request)(unsafe.Add(dst, in.requestAt)) = r
	}
	for i := range in.params {
		p := &in.params[i]
		var values []string
		switch p.in {
		case "path":
			v, err := envelope.PathValue(r, p.name)
			if err != nil {
				return err
			}
			values = []string{v}
		case "query":
			values = q[p.name]
		case "header":
			values = r.Header[p.name]
		}
		c.root = p.root
		c.path.truncate(0)
		c.path.push(segment{name: p.name, named: true})
		if len(values) == 0 {
			if p.required {
				c.fail("required", "is required")
				continue
			}
			if p.def == nil {
				continue
			}
			values = []string{*p.def}
		}
		if len(values) > 1 && !p.isSlice {
			c.fail("type", "must be sent once")
			continue
		}
		at := unsafe.Add(dst, p.offset)
		if p.isSlice {
			c.setSlice(p, at, values)
			continue
		}
		v, ok := c.param(p, values[0])
		if !ok {
			continue
		}
		if p.isPtr {
			nv := reflect.New(p.t.Elem())
			setValue(p, nv.UnsafePointer(), v, values[0])
			*(*unsafe.Pointer)(at) = nv.UnsafePointer()
			continue
		}
		setValue(p, at, v, values[0])
	}
	return nil
}

// paramValue is a parameter's text read as its Go kind.
type paramValue struct {
	i int64
	u uint64
	f float64
	b bool
}

// param reads the text of one value of p and checks its rules; ok is false
// when it does not read as p's type.
func (c *checker) param(p *param, text string) (v paramValue, ok bool) {
	n := p.node
	for n.ref != nil {
		n = n.ref
	}
	switch {
	case p.text:
		target := reflect.New(p.t)
		if p.isPtr || p.isSlice {
			target = reflect.New(elemOf(p.t))
		}
		if err := target.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			c.fail("format", "must be "+cmpOr(formatNoun(n.format), "valid"))
			return v, false
		}
		c.strRules(n, unsafeBytes(text))
	case p.kind == reflect.String:
		c.strRules(n, unsafeBytes(text))
	case p.kind == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			c.fail("type", "must be true or false")
			return v, false
		}
		v.b = b
	case p.kind == reflect.Float32 || p.kind == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || p.kind == reflect.Float32 && err == nil && f != float64(float32(f)) && (f > 3.4e38 || f < -3.4e38) {
			c.fail("type", "must be a number")
			return v, false
		}
		v.f = f
		c.bounds(n, &number{f: f})
	default: // integers
		neg := strings.HasPrefix(text, "-")
		digits := strings.TrimPrefix(text, "-")
		if digits == "" || strings.TrimLeft(digits, "0123456789") != "" || len(digits) > 1 && digits[0] == '0' {
			c.fail("type", "must be an integer")
			return v, false
		}
		before := len(c.out)
		c.integer(n, neg, unsafeBytes(digits))
		if len(c.out) > before && c.out[len(c.out)-1].Reason == "format" {
			return v, false
		}
		if neg {
			v.i, _ = strconv.ParseInt(text, 10, 64)
		} else {
			v.u, _ = strconv.ParseUint(digits, 10, 64)
			v.i = int64(v.u)
		}
		if !fitsKind(p.kind, v) {
			return v, false // the schema's bounds already said so
		}
	}
	return v, true
}

func elemOf(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		return t.Elem()
	}
	return t
}

// fitsKind reports whether v fits an integer kind (the bounds of its
// schema said so to the client already).
func fitsKind(k reflect.Kind, v paramValue) bool {
	switch k {
	case reflect.Int8:
		return v.i >= -1<<7 && v.i < 1<<7
	case reflect.Int16:
		return v.i >= -1<<15 && v.i < 1<<15
	case reflect.Int32:
		return v.i >= -1<<31 && v.i < 1<<31
	case reflect.Uint8:
		return v.u < 1<<8 && v.i >= 0
	case reflect.Uint16:
		return v.u < 1<<16 && v.i >= 0
	case reflect.Uint32:
		return v.u < 1<<32 && v.i >= 0
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return v.i >= 0 || v.u > 1<<63-1
	}
	return true
}

// setValue stores v (read from text) at dst, a value of p's value type.
func setValue(p *param, dst unsafe.Pointer, v paramValue, text string) {
	switch {
	case p.text:
		t := elemOf(p.t)
		if !p.isPtr && !p.isSlice {
			t = p.t
		}
		_ = reflect.NewAt(t, dst).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text))
		return
	}
	switch p.kind {
	case reflect.String:
		*(*string)(dst) = text
	case reflect.Bool:
		*(*bool)(dst) = v.b
	case reflect.Int:
		*(*int)(dst) = int(v.i)
	case reflect.Int8:
		*(*int8)(dst) = int8(v.i)
	case reflect.Int16:
		*(*int16)(dst) = int16(v.i)
	case reflect.Int32:
		*(*int32)(dst) = int32(v.i)
	case reflect.Int64:
		*(*int64)(dst) = v.i
	case reflect.Uint:
		*(*uint)(dst) = uint(v.u)
	case reflect.Uint8:
		*(*uint8)(dst) = uint8(v.u)
	case reflect.Uint16:
		*(*uint16)(dst) = uint16(v.u)
	case reflect.Uint32:
		*(*uint32)(dst) = uint32(v.u)
	case reflect.Uint64, reflect.Uintptr:
		*(*uint64)(dst) = v.u
	case reflect.Float32:
		*(*float32)(dst) = float32(v.f)
	case reflect.Float64:
		*(*float64)(dst) = v.f
	}
}

// setSlice reads every value of a repeated query parameter.
func (c *checker) setSlice(p *param, dst unsafe.Pointer, values []string) {
	s := reflect.MakeSlice(p.t, len(values), len(values))
	all := true
	for i, text := range values {
		c.path.truncate(1)
		c.path.push(segment{index: i})
		v, ok := c.param(p, text)
		if !ok {
			all = false
			continue
		}
		setValue(p, s.Index(i).Addr().UnsafePointer(), v, text)
	}
	c.path.truncate(1)
	n := p.schema
	if n.MinItems != nil && len(values) < *n.MinItems {
		c.fail("minItems", fmt.Sprintf("must be given at least %d times", *n.MinItems))
	}
	if n.MaxItems != nil && len(values) > *n.MaxItems {
		c.fail("maxItems", fmt.Sprintf("must be given at most %d times", *n.MaxItems))
	}
	if all {
		reflect.NewAt(p.t, dst).Elem().Set(s)
	}
}

// strRules checks a string against the string rules of n: lengths,
// pattern, enum and format.
func (c *checker) strRules(n *node, val []byte) {
	if n.minLen >= 0 || n.maxLen >= 0 {
		runes := utf8.RuneCount(val)
		if n.minLen >= 0 && runes < n.minLen {
			if n.minLen == 1 {
				c.fail("minLength", "must not be empty")
			} else {
				c.fail("minLength", fmt.Sprintf("must be at least %d characters", n.minLen))
			}
		}
		if n.maxLen >= 0 && runes > n.maxLen {
			c.fail("maxLength", fmt.Sprintf("must be at most %d characters", n.maxLen))
		}
	}
	if n.pattern != nil && !n.pattern.Match(val) {
		c.fail("pattern", "must match the pattern "+n.patternText)
	}
	if n.strEnum != nil && !inStrings(n.strEnum, val) {
		c.fail("enum", "must be one of "+strings.Join(n.strEnum, ", "))
	}
	if n.format != "" && !formatOK(n.format, val) {
		c.fail("format", "must be "+formatNoun(n.format))
	}
}

// fields adds the fields of struct t, which starts at offset base in the
// input, and of the structs it embeds (a group of parameters reused by
// several inputs).
func (in *input) fields(t reflect.Type, base uintptr, prefix string, reg *registry) error {
	for i := range t.NumField() {
		f := t.Field(i)
		f.Offset += base
		at := prefix + "." + f.Name
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag == "" {
			if err := in.fields(f.Type, f.Offset, at, reg); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if f.Type == requestType() {
			in.requestAt = int(f.Offset)
			continue
		}
		var where string
		for _, w := range []string{"path", "query", "header"} {
			if _, ok := f.Tag.Lookup(w); ok {
				if where != "" {
					return &describeError{at, f.Type, "a field is one parameter: " + where + " or " + w}
				}
				where = w
			}
		}
		if where == "" {
			if f.Name != "Body" {
				return &describeError{at, f.Type, `a field of the input is a parameter (path:"", query:"", header:"" tag), the Body, or an *http.Request`}
			}
			s, err := reg.schemaOf(f.Type, "Body")
			if err != nil {
				return err
			}
			if s, err = applyTags(s, f.Tag, f.Type, at); err != nil {
				return err
			}
			if in.body != nil {
				return &describeError{at, f.Type, "the input has two bodies"}
			}
			in.body = &body{t: f.Type, ptr: reflect.PointerTo(f.Type), offset: f.Offset, schema: s}
			continue
		}
		p, err := newParam(where, f, at)
		if err != nil {
			return err
		}
		for _, q := range in.params {
			if q.in == p.in && q.name == p.name {
				return &describeError{at, f.Type, "the " + p.in + " parameter " + p.name + " is declared twice"}
			}
		}
		in.params = append(in.params, p)
		in.hasQuery = in.hasQuery || where == "query"
	}
	return nil
}
