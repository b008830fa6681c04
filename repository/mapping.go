package repository

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// column is one struct field mapped to a table column.
type column struct {
	name    string       // column name, from the db tag
	alias   string       // json tag name, accepted in filters, orders and sets
	index   []int        // reflect field index path
	typ     reflect.Type // field type
	pk      bool         // primary key (exactly one)
	created bool         // set on insert by the repository
	updated bool         // set on insert and update by the repository
	unique  bool         // declared unique: in-memory conflicts, SQL hints
	natural bool         // primary key chosen by the caller, not generated
	private bool         // never named by a filter, an order or a cursor
	isTime  bool         // time.Time: stored in UTC, truncated to microseconds

	offset uintptr                  // from the struct's start, for scanning
	ptr    func(unsafe.Pointer) any // typed pointer to the field at an address
}

// mapping is the reflection of a struct type, computed once per repository.
type mapping struct {
	typ     reflect.Type
	cols    []column
	byName  map[string]int // column name and json alias -> index in cols
	pk      int
	created int   // -1 when absent
	updated int   // -1 when absent
	times   []int // time.Time and *time.Time columns, returned in UTC
}

var timeType = reflect.TypeFor[time.Time]()

// newMapping reflects over T's fields tagged
// `db:"name[,pk|natural|created|updated|unique|private|public]"`. Untagged
// fields and fields tagged "-" are ignored; anonymous struct fields without
// a tag are flattened. A field tagged `json:"-"` is private unless its db
// tag says public.
func newMapping(t reflect.Type) (*mapping, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("repository: %s is not a struct", t)
	}
	m := &mapping{typ: t, byName: map[string]int{}, pk: -1, created: -1, updated: -1}
	if err := m.walk(t, nil); err != nil {
		return nil, err
	}
	if m.pk < 0 {
		return nil, fmt.Errorf("repository: %s has no field tagged `db:\"...,pk\"`", t)
	}
	for i, c := range m.cols {
		if c.alias == "" || c.alias == c.name {
			continue
		}
		if _, taken := m.byName[c.alias]; !taken {
			m.byName[c.alias] = i
		}
	}
	return m, nil
}

func (m *mapping) walk(t reflect.Type, parent []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		index := append(append([]int(nil), parent...), i)
		tag, tagged := f.Tag.Lookup("db")
		if !tagged && f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := m.walk(f.Type, index); err != nil {
				return err
			}
			continue
		}
		if !tagged || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validIdent(name) {
			return fmt.Errorf("repository: %s.%s: invalid column name %q", t, f.Name, name)
		}
		if _, dup := m.byName[name]; dup {
			return fmt.Errorf("repository: %s: column %q mapped twice", t, name)
		}
		c := column{name: name, index: index, typ: f.Type, isTime: f.Type == timeType,
			offset: offsetOf(m.typ, index), ptr: pointerTo(f.Type)}
		c.alias, _, _ = strings.Cut(f.Tag.Get("json"), ",")
		if f.Tag.Get("json") == "-" {
			// Hidden from clients: no alias, and private unless the db tag
			// says public.
			c.alias, c.private = "", true
		}
		public := false
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "pk":
				c.pk = true
			case "natural":
				c.natural = true
			case "private":
				c.private = true
			case "public":
				public = true
			case "created":
				c.created = true
			case "updated":
				c.updated = true
			case "unique":
				c.unique = true
			default:
				return fmt.Errorf("repository: %s.%s: unknown db tag option %q", t, f.Name, opt)
			}
		}
		if public {
			if strings.Contains(","+opts+",", ",private,") {
				return fmt.Errorf("repository: %s.%s: db tag options private and public conflict", t, f.Name)
			}
			c.private = false
		}
		if c.natural && !c.pk {
			return fmt.Errorf("repository: %s.%s: natural applies to the pk column only", t, f.Name)
		}
		if c.private && (c.pk || c.created || c.updated) {
			return fmt.Errorf("repository: %s.%s: pk, created and updated columns cannot be private", t, f.Name)
		}
		n := len(m.cols)
		for _, slot := range []struct {
			on   bool
			dst  *int
			what string
		}{{c.pk, &m.pk, "pk"}, {c.created, &m.created, "created"}, {c.updated, &m.updated, "updated"}} {
			if !slot.on {
				continue
			}
			if *slot.dst >= 0 {
				return fmt.Errorf("repository: %s: more than one %s column", t, slot.what)
			}
			*slot.dst = n
		}
		if (c.created || c.updated) && !c.isTime {
			return fmt.Errorf("repository: %s.%s: created/updated column must be time.Time", t, f.Name)
		}
		m.byName[name] = n
		m.cols = append(m.cols, c)
		if c.isTime || c.typ.Kind() == reflect.Pointer && c.typ.Elem() == timeType {
			m.times = append(m.times, n)
		}
	}
	return nil
}

// validIdent accepts names made of ASCII letters, digits and underscores,
// not starting with a digit: the only identifiers this package writes into
// SQL text (quoted as well).
func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// lookup returns the column named (or json-aliased) name for a filter, an
// order or a cursor, or a *FieldError for param. A private column is
// reported exactly as a column that does not exist, so the answer does not
// even confirm it exists.
func (m *mapping) lookup(param, name string) (int, error) {
	if i, ok := m.byName[name]; ok && !m.cols[i].private {
		return i, nil
	}
	return -1, newFieldError(param, name, "unknown field", nil)
}

// lookupSet returns the column named (or json-aliased) name for an update:
// private columns included, since writing one is no oracle.
func (m *mapping) lookupSet(name string) (int, error) {
	if i, ok := m.byName[name]; ok {
		return i, nil
	}
	return -1, newFieldError("set", name, "unknown field", nil)
}

// field returns the field of column i in the struct value v (addressable).
func (m *mapping) field(v reflect.Value, i int) reflect.Value {
	idx := m.cols[i].index
	if len(idx) == 1 {
		return v.Field(idx[0])
	}
	return v.FieldByIndex(idx)
}

// normalizeTime returns t in UTC truncated to microseconds: the precision
// every supported database keeps.
func normalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// bindValue returns the argument bound for field value f of column c.
func bindValue(c *column, f reflect.Value) any {
	if c.isTime {
		return normalizeTime(f.Interface().(time.Time))
	}
	return f.Interface()
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// convert turns a caller-supplied value (a filter, a set or a cursor value)
// into a value of column c's Go type. It accepts the type itself, its
// element type for pointer columns, numeric conversions without overflow,
// and strings parsed as numbers, booleans, RFC 3339 times or by the type's
// UnmarshalText. nil is accepted only for pointer columns.
func convert(param string, c *column, v any) (reflect.Value, error) {
	bad := func(err error) (reflect.Value, error) {
		return reflect.Value{}, newFieldError(param, c.name, "bad value", err)
	}
	t := c.typ
	if v == nil {
		if t.Kind() == reflect.Pointer {
			return reflect.Zero(t), nil
		}
		return reflect.Value{}, newFieldError(param, c.name, "null not allowed", nil)
	}
	if t.Kind() == reflect.Pointer && reflect.TypeOf(v) == t {
		rv := reflect.ValueOf(v)
		if rv.IsNil() || t.Elem() != timeType {
			return rv, nil
		}
		n := normalizeTime(rv.Elem().Interface().(time.Time))
		return reflect.ValueOf(&n), nil
	}
	if t.Kind() == reflect.Pointer {
		e, err := convert(param, &column{name: c.name, typ: t.Elem(), isTime: t.Elem() == timeType}, v)
		if err != nil {
			return e, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(e)
		return p, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Type() == t {
		if c.isTime {
			return reflect.ValueOf(normalizeTime(v.(time.Time))), nil
		}
		return rv, nil
	}
	if s, ok := v.(string); ok {
		return parseString(c, s, bad)
	}
	switch {
	case isInt(rv.Kind()) && isInt(t.Kind()):
		out := reflect.New(t).Elem()
		if out.OverflowInt(rv.Int()) {
			return bad(fmt.Errorf("out of range"))
		}
		out.SetInt(rv.Int())
		return out, nil
	case isUint(rv.Kind()) && isInt(t.Kind()):
		out := reflect.New(t).Elem()
		if rv.Uint() > 1<<63-1 || out.OverflowInt(int64(rv.Uint())) {
			return bad(fmt.Errorf("out of range"))
		}
		out.SetInt(int64(rv.Uint()))
		return out, nil
	case isInt(rv.Kind()) && isUint(t.Kind()):
		out := reflect.New(t).Elem()
		if rv.Int() < 0 || out.OverflowUint(uint64(rv.Int())) {
			return bad(fmt.Errorf("out of range"))
		}
		out.SetUint(uint64(rv.Int()))
		return out, nil
	case isUint(rv.Kind()) && isUint(t.Kind()):
		out := reflect.New(t).Elem()
		if out.OverflowUint(rv.Uint()) {
			return bad(fmt.Errorf("out of range"))
		}
		out.SetUint(rv.Uint())
		return out, nil
	case isFloat(t.Kind()) && (isFloat(rv.Kind()) || isInt(rv.Kind())):
		return rv.Convert(t), nil
	case rv.Kind() == t.Kind() && rv.Type().ConvertibleTo(t) && t.Kind() != reflect.Struct:
		// Named types over the same basic kind (type Status string).
		return rv.Convert(t), nil
	}
	return bad(fmt.Errorf("%T does not fit %s", v, t))
}

func parseString(c *column, s string, bad func(error) (reflect.Value, error)) (reflect.Value, error) {
	t := c.typ
	out := reflect.New(t).Elem()
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Kind() != reflect.String {
		if err := out.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return bad(err)
		}
		if c.isTime {
			out.Set(reflect.ValueOf(normalizeTime(out.Interface().(time.Time))))
		}
		return out, nil
	}
	switch k := t.Kind(); {
	case k == reflect.String:
		out.SetString(s)
	case isInt(k):
		n, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return bad(err)
		}
		out.SetInt(n)
	case isUint(k):
		n, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return bad(err)
		}
		out.SetUint(n)
	case isFloat(k):
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return bad(err)
		}
		out.SetFloat(f)
	case k == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad(err)
		}
		out.SetBool(b)
	default:
		return bad(fmt.Errorf("a string does not fit %s", t))
	}
	return out, nil
}

func isInt(k reflect.Kind) bool   { return k >= reflect.Int && k <= reflect.Int64 }
func isUint(k reflect.Kind) bool  { return k >= reflect.Uint && k <= reflect.Uint64 }
func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }
