package strictjson

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// deposit and inner are a request body as envelope decodes one.
type (
	deposit struct {
		Amount int               `json:"amount"`
		Note   string            `json:"note"`
		Inner  *inner            `json:"inner"`
		Items  []inner           `json:"items"`
		Labels map[string]string `json:"labels"`
		Any    any               `json:"any"`
		When   time.Time         `json:"when"`
		embedded
	}
	inner struct {
		Name string `json:"name"`
	}
	embedded struct {
		Tag string `json:"tag"`
	}
)

// The types FuzzStrictLookup asks about: embedding by value and by
// pointer, tags renaming, hiding ("-") and clashing, unexported fields,
// names that differ only by case.
type (
	lookupBase struct {
		ID   string `json:"id"`
		Kind string
		note string // unexported: no member name reaches it
	}
	lookupMore struct {
		Extra int `json:"extra,omitempty"`
		Id    int // differs from lookupBase's "id" only by case
	}
	lookupTagged struct {
		Inner string `json:"inner"`
	}
	lookupOuter struct {
		lookupBase
		*lookupMore
		Tagged lookupTagged `json:"tagged"`
		Hidden string       `json:"-"`
		Name   string       `json:"name"`
		NAME   string       // only by case from "name", after it
		Kind   string       `json:"kind"`
	}
)

// lookupFieldReference is the lookup Check made at every member before
// typeInfo cached the fields: FuzzStrictLookup holds the cache to it.
func lookupFieldReference(t reflect.Type, name []byte) (ft reflect.Type, exact bool, folded string) {
	var foldType reflect.Type
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
				if ft, exact, fn := lookupFieldReference(et, name); exact {
					return ft, true, ""
				} else if fn != "" && folded == "" {
					folded, foldType = fn, ft
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		fieldName := f.Name
		if tagName != "" {
			fieldName = tagName
		}
		if fieldName == string(name) {
			return f.Type, true, ""
		}
		if folded == "" && equalFold(fieldName, name) {
			folded, foldType = fieldName, f.Type
		}
	}
	return foldType, false, folded
}

// FuzzStrictLookup: for every member name, typeInfo.lookup finds what the
// uncached lookup found, in every struct type the tests decode.
func FuzzStrictLookup(f *testing.F) {
	for _, s := range []string{"id", "ID", "Id", "kind", "Kind", "KIND", "extra", "Extra", "note", "name", "NAME", "Name",
		"Hidden", "-", "tagged", "inner", "amount", "AMOUNT", "tag", "ta\u212a", "\u212aind", ""} {
		f.Add(s)
	}
	_ = lookupBase{note: "the field exists"}
	types := []reflect.Type{
		reflect.TypeFor[lookupOuter](), reflect.TypeFor[lookupBase](), reflect.TypeFor[*lookupMore](),
		reflect.TypeFor[deposit](), reflect.TypeFor[inner](),
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, typ := range types {
			info := typeInfoOf(typ)
			if info.kind != reflect.Struct {
				t.Fatalf("%v: kind %v, want struct", typ, info.kind)
			}
			ft, exact, folded := info.lookup([]byte(name))
			wantType, wantExact, wantFolded := lookupFieldReference(elem(typ), []byte(name))
			if ft != wantType || exact != wantExact || folded != (wantFolded != "") {
				t.Fatalf("%v: lookup(%q) = %v, %v, %v; uncached: %v, %v, %q", typ, name, ft, exact, folded, wantType, wantExact, wantFolded)
			}
		}
	})
}
