package operation

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// registry turns Go types into schemas. Named structs and enumerations
// become components, referred to by $ref, which is also how a recursive
// type refers to itself; everything else is written in place. A registry
// belongs to one API and is used only while operations are registered.
type registry struct {
	byType  map[reflect.Type]string
	byName  map[string]reflect.Type
	schemas map[string]*schema
	names   []string // component names in the order they were made
}

func newRegistry() *registry {
	return &registry{byType: map[reflect.Type]string{}, byName: map[string]reflect.Type{}, schemas: map[string]*schema{}}
}

// describeError is a type that cannot be described, with the path of
// fields that led to it.
type describeError struct {
	at  string
	t   reflect.Type
	why string
}

func (e *describeError) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.at, e.t, e.why)
}

// The types with a schema of their own, and the interfaces that change
// how a type travels.
func timeType() reflect.Type       { return reflect.TypeFor[time.Time]() }
func rawMessageType() reflect.Type { return reflect.TypeFor[json.RawMessage]() }
func jsonMarshaler() reflect.Type  { return reflect.TypeFor[json.Marshaler]() }
func jsonUnmarshal() reflect.Type  { return reflect.TypeFor[json.Unmarshaler]() }
func textMarshaler() reflect.Type  { return reflect.TypeFor[encoding.TextMarshaler]() }
func textUnmarshal() reflect.Type  { return reflect.TypeFor[encoding.TextUnmarshaler]() }
func enumType() reflect.Type       { return reflect.TypeFor[Enum]() }

// Enum is implemented by a type whose values are a fixed set, such as a
// named string type of sort directions. Its schema lists them in "enum",
// and a request holding any other value is refused. The values must have
// the JSON type of the Go type (strings for a string type).
type Enum interface {
	Enum() []any
}

// optionalElem reports whether t is repository.Optional[V], the field type
// of a PATCH body (absent, or present with a value), and returns V. It is
// recognised by its package and name, so this package does not import the
// data layer.
func optionalElem(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != "github.com/svckit/svckit/repository" || !strings.HasPrefix(t.Name(), "Optional[") {
		return nil, false
	}
	f, ok := t.FieldByName("V")
	return f.Type, ok
}

// describesItself reports whether values of t (or *t) encode or decode
// themselves, so their fields are not what travels.
func describesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler()) || pt.Implements(jsonUnmarshal()) ||
		t.Implements(textMarshaler()) || pt.Implements(textUnmarshal())
}

// schemaOf returns the schema of the JSON values of t. at names the place
// the type was met, for the error of a type that cannot be described.
func (g *registry) schemaOf(t reflect.Type, at string) (*schema, error) {
	switch t {
	case timeType():
		return &schema{Type: typeList{typeString}, Format: "date-time", goTime: true}, nil
	case rawMessageType():
		return &schema{}, nil
	}
	if t.Kind() == reflect.Pointer {
		s, err := g.schemaOf(t.Elem(), at)
		if err != nil {
			return nil, err
		}
		return nullable(s), nil
	}
	if v, ok := optionalElem(t); ok {
		return g.schemaOf(v, at)
	}
	if t.PkgPath() == "github.com/google/uuid" && t.Name() == "UUID" {
		return &schema{Type: typeList{typeString}, Format: "uuid"}, nil
	}
	if t.Implements(enumType()) || reflect.PointerTo(t).Implements(enumType()) {
		return g.enum(t, at)
	}
	pt := reflect.PointerTo(t)
	if t.Implements(jsonMarshaler()) || pt.Implements(jsonUnmarshal()) {
		return nil, &describeError{at, t, "it encodes itself (MarshalJSON or UnmarshalJSON), so its JSON cannot be known; use a plain type, or a text type (MarshalText and UnmarshalText)"}
	}
	if t.Implements(textMarshaler()) || pt.Implements(textUnmarshal()) {
		return &schema{Type: typeList{typeString}}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: typeList{typeBoolean}}, nil
	case reflect.Int, reflect.Int64:
		return &schema{Type: typeList{typeInteger}, Format: "int64"}, nil
	case reflect.Int32:
		return &schema{Type: typeList{typeInteger}, Format: "int32"}, nil
	case reflect.Int8, reflect.Int16:
		bits := t.Bits()
		return &schema{Type: typeList{typeInteger}, Minimum: intNumber(-1 << (bits - 1)), Maximum: intNumber(1<<(bits-1) - 1)}, nil
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return &schema{Type: typeList{typeInteger}, Minimum: intNumber(0), Maximum: uintNumber(math.MaxUint64), goUnsigned: true}, nil
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return &schema{Type: typeList{typeInteger}, Minimum: intNumber(0), Maximum: uintNumber(1<<t.Bits() - 1), goUnsigned: true}, nil
	case reflect.Float32:
		return &schema{Type: typeList{typeNumber}, Format: "float"}, nil
	case reflect.Float64:
		return &schema{Type: typeList{typeNumber}, Format: "double"}, nil
	case reflect.String:
		return &schema{Type: typeList{typeString}}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !describesItself(t.Elem()) {
			return &schema{Type: typeList{typeString}, ContentEncoding: "base64"}, nil
		}
		items, err := g.schemaOf(t.Elem(), at+"[]")
		if err != nil {
			return nil, err
		}
		return &schema{Type: typeList{typeArray}, Items: items}, nil
	case reflect.Array:
		items, err := g.schemaOf(t.Elem(), at+"[]")
		if err != nil {
			return nil, err
		}
		return &schema{Type: typeList{typeArray}, Items: items, MinItems: ptr(t.Len()), MaxItems: ptr(t.Len())}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, &describeError{at, t, "a map whose keys are not strings has no JSON Schema object form"}
		}
		values, err := g.schemaOf(t.Elem(), at+"[key]")
		if err != nil {
			return nil, err
		}
		return &schema{Type: typeList{typeObject}, AdditionalProperties: &additional{values}}, nil
	case reflect.Struct:
		return g.structRef(t, at)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return &schema{}, nil
		}
		return nil, &describeError{at, t, "an interface with methods says nothing of the JSON of its values"}
	}
	return nil, &describeError{at, t, "a " + t.Kind().String() + " has no JSON form"}
}

// enum returns the component of an Enum type.
func (g *registry) enum(t reflect.Type, at string) (*schema, error) {
	if name, ok := g.byType[t]; ok {
		return &schema{Ref: componentRef(name)}, nil
	}
	var base *schema
	switch t.Kind() {
	case reflect.String:
		base = &schema{Type: typeList{typeString}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		base = &schema{Type: typeList{typeInteger}}
	default:
		return nil, &describeError{at, t, "an Enum must be a string or an integer type"}
	}
	v := reflect.New(t).Elem()
	e, ok := v.Interface().(Enum)
	if !ok {
		e = v.Addr().Interface().(Enum)
	}
	values := e.Enum()
	if len(values) == 0 {
		return nil, &describeError{at, t, "Enum returns no values"}
	}
	for _, x := range values {
		if !enumValueFits(x, base.Type[0]) {
			return nil, &describeError{at, t, fmt.Sprintf("Enum value %v (%T) is not a JSON %s", x, x, base.Type[0])}
		}
	}
	base.Enum = normalizeEnum(values)
	name := g.name(t)
	g.schemas[name] = base
	return &schema{Ref: componentRef(name)}, nil
}

func enumValueFits(x any, jsonType string) bool {
	rv := reflect.ValueOf(x)
	if !rv.IsValid() {
		return false
	}
	switch rv.Kind() {
	case reflect.String:
		return jsonType == typeString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return jsonType == typeInteger
	}
	return false
}

// normalizeEnum turns named string and integer values into plain ones, so
// the document and the validator see "asc", not a Direction.
func normalizeEnum(values []any) []any {
	out := make([]any, len(values))
	for i, x := range values {
		rv := reflect.ValueOf(x)
		switch rv.Kind() {
		case reflect.String:
			out[i] = rv.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			out[i] = rv.Int()
		default:
			out[i] = int64(rv.Uint())
		}
	}
	return out
}

// structRef returns the schema of a struct: a $ref to its component when
// it is named, else the object written in place.
func (g *registry) structRef(t reflect.Type, at string) (*schema, error) {
	if t.Name() == "" {
		return g.object(t, at)
	}
	if name, ok := g.byType[t]; ok {
		return &schema{Ref: componentRef(name)}, nil
	}
	name := g.name(t)
	g.schemas[name] = &schema{} // reserved: a recursive field refers to it
	s, err := g.object(t, typeName(t))
	if err != nil {
		delete(g.schemas, name)
		delete(g.byType, t)
		delete(g.byName, name)
		g.names = g.names[:len(g.names)-1]
		return nil, err
	}
	*g.schemas[name] = *s
	return &schema{Ref: componentRef(name)}, nil
}

// object builds the object schema of struct t: one property per member,
// the members without omitempty or omitzero required (they are always
// written, and a request must send them), and no others allowed.
func (g *registry) object(t reflect.Type, at string) (*schema, error) {
	fields, err := jsonFields(t)
	if err != nil {
		return nil, err
	}
	s := &schema{Type: typeList{typeObject}, AdditionalProperties: &additional{}}
	for _, f := range fields {
		if f.parameter != "" {
			return nil, &describeError{at + "." + f.goPath, f.field.Type, "a " + f.parameter + " parameter tag belongs on a field of the input struct, not in a body"}
		}
		fs, err := g.fieldSchema(f, at+"."+f.goPath)
		if err != nil {
			return nil, err
		}
		s.Properties = append(s.Properties, property{name: f.name, schema: fs})
		if required(f) {
			s.Required = append(s.Required, f.name)
		}
	}
	s.Properties = append(properties{}, s.Properties...)
	return s, nil
}

// required reports whether a member is always present: written whatever
// its value, and so sent by a client following the document.
func required(f jsonField) bool {
	if f.omit || f.viaPtr {
		return false
	}
	_, optional := optionalElem(f.field.Type)
	return !optional
}

// fieldSchema is the schema of a struct field: its type's, with the rules
// of its tags.
func (g *registry) fieldSchema(f jsonField, at string) (*schema, error) {
	if f.quoted {
		return nil, &describeError{at, f.field.Type, `the ",string" option is not described; use a string field`}
	}
	s, err := g.schemaOf(f.field.Type, at)
	if err != nil {
		return nil, err
	}
	if _, ok := f.field.Tag.Lookup("default"); ok {
		return nil, &describeError{at, f.field.Type, "a default applies to parameters only: encoding/json cannot fill an absent member"}
	}
	return applyTags(s, f.field.Tag, f.field.Type, at)
}

// componentRef is the $ref of a component.
func componentRef(name string) string { return "#/components/schemas/" + name }

// name gives t its component name: its Go name made readable (Page[User]
// becomes PageUser), with its package name before it when another type
// already has that name, and a number after when even that is taken.
func (g *registry) name(t reflect.Type) string {
	base := readableName(t.Name())
	candidates := []string{base}
	if pkg := t.PkgPath(); pkg != "" {
		pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
		candidates = append(candidates, readableName(pkg)+base)
	}
	name := ""
	for _, c := range candidates {
		if _, taken := g.byName[c]; !taken {
			name = c
			break
		}
	}
	for n := 2; name == ""; n++ {
		c := fmt.Sprintf("%s%d", base, n)
		if _, taken := g.byName[c]; !taken {
			name = c
		}
	}
	g.byType[t] = name
	g.byName[name] = t
	g.names = append(g.names, name)
	return name
}

// readableName turns a Go type name into a component name: package paths
// dropped, type arguments appended in CamelCase, slices as "List" and maps
// as "Map", anything outside [A-Za-z0-9] left out. So Page[app.User] is
// PageUser and Pair[string,[]int] is PairStringIntList.
func readableName(goName string) string {
	var b strings.Builder
	var word strings.Builder
	flush := func() {
		w := word.String()
		word.Reset()
		if w == "" {
			return
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	var suffixes []string
	for i := 0; i < len(goName); i++ {
		c := goName[i]
		switch {
		case c == '/' || c == '.':
			word.Reset() // a package path: keep only what follows
		case strings.HasPrefix(goName[i:], "[]"):
			flush()
			suffixes = append(suffixes, "List")
			i++
		case strings.HasPrefix(goName[i:], "map["):
			flush()
			b.WriteString("Map")
			i += 3
		case c == '[' || c == ',' || c == ']' || c == '*' || c == ' ':
			flush()
			if (c == ',' || c == ']') && len(suffixes) > 0 {
				for j := len(suffixes) - 1; j >= 0; j-- {
					b.WriteString(suffixes[j])
				}
				suffixes = suffixes[:0]
			}
		case c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || c == '_'):
			if c != '_' {
				word.WriteByte(c)
			}
		}
	}
	flush()
	for j := len(suffixes) - 1; j >= 0; j-- {
		b.WriteString(suffixes[j])
	}
	if b.Len() == 0 {
		return "Type"
	}
	return b.String()
}

// typeName is t as a Go programmer writes it, for messages.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		pkg := t.PkgPath()
		if pkg == "" {
			return t.Name()
		}
		return pkg[strings.LastIndexByte(pkg, '/')+1:] + "." + t.Name()
	}
	return t.String()
}
