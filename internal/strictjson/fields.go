package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// typeInfo is what Check needs of one target type, worked out once
// per type, as encoding/json caches its own field lists: asking reflect
// for the fields and tags of a struct at every member took about a sixth
// of BenchmarkDecode/svckit in benchmarks/.
type typeInfo struct {
	// kind is the kind of the type once pointers are stripped: Struct,
	// Map, Slice or Array, whose contents are checked against it, or
	// Invalid when the names inside are not checked (a type that decodes
	// itself, an interface, a nil type, any other kind).
	kind reflect.Kind
	// elem is the element type of a map, slice or array.
	elem reflect.Type
	// fields are a struct's fields as encoding/json names them, depth
	// first through embedded structs, in the order encoding/json looks
	// for a member name.
	fields []structField
}

type structField struct {
	name  string
	ascii bool // name is all ASCII
	typ   reflect.Type
}

// typeInfos caches typeInfo by reflect.Type. Like encoding/json's own
// field cache it is invisible to callers and bounded by the program's
// types.
var typeInfos sync.Map // reflect.Type → *typeInfo

var unchecked = &typeInfo{}

func typeInfoOf(t reflect.Type) *typeInfo {
	if t == nil {
		return unchecked
	}
	if info, ok := typeInfos.Load(t); ok {
		return info.(*typeInfo)
	}
	info := unchecked
	if e := elem(t); e != nil {
		switch e.Kind() {
		case reflect.Struct:
			info = &typeInfo{kind: reflect.Struct, fields: appendFields(nil, e, []reflect.Type{e})}
		case reflect.Map, reflect.Slice, reflect.Array:
			info = &typeInfo{kind: e.Kind(), elem: e.Elem()}
		}
	}
	actual, _ := typeInfos.LoadOrStore(t, info)
	return actual.(*typeInfo)
}

// elem strips pointers from t and returns nil for types that decode
// themselves, whose member names are theirs to judge.
func elem(t reflect.Type) reflect.Type {
	jsonUnmarshalerType := reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType := reflect.TypeFor[encoding.TextUnmarshaler]()
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	return t
}

// appendFields appends the fields of struct t as encoding/json names them:
// a tag's name or the Go name, exported fields only, "-" left out, and the
// fields of an untagged embedded struct (or pointer to one) in its place.
// path holds the embedded structs being walked, so a struct that embeds
// itself is walked once.
func appendFields(fields []structField, t reflect.Type, path []reflect.Type) []structField {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		tagName, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && tagName == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if !slices.Contains(path, et) {
					fields = appendFields(fields, et, append(path, et))
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tagName != "" {
			name = tagName
		}
		fields = append(fields, structField{name: name, ascii: isASCII(name), typ: f.Type})
	}
	return fields
}

// lookup finds the field encoding/json decodes the member name into. exact
// reports a field of exactly that name, and ft is its type; folded reports
// a field whose name matches only when case is folded, as encoding/json
// also accepts (ft is then the first such field's type).
func (info *typeInfo) lookup(name []byte) (ft reflect.Type, exact, folded bool) {
	nameASCII := isASCII(name)
	for i := range info.fields {
		f := &info.fields[i]
		if f.name == string(name) {
			return f.typ, true, false
		}
		if folded || len(f.name) != len(name) && f.ascii && nameASCII {
			continue // lengths differ under folding only outside ASCII
		}
		if equalFold(f.name, name) {
			ft, folded = f.typ, true
		}
	}
	return ft, false, folded
}
