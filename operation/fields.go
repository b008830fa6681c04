package operation

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// jsonField is one member of a struct's JSON object, found by the rules
// encoding/json decodes and encodes with.
type jsonField struct {
	name      string
	index     []int // reflect index path through embedded structs
	field     reflect.StructField
	omit      bool // omitempty or omitzero: absent from output when zero
	viaPtr    bool // reached through an embedded pointer: absent when it is nil
	depth     int
	tagged    bool
	goPath    string // Go path, for messages: Address.City
	quoted    bool   // the ",string" option
	embedded  bool
	parameter string // "path", "query" or "header" when the field is one
}

// jsonFields lists the members of struct t as encoding/json sees them: a
// tag's name or the Go name, exported fields only, "-" left out, the
// fields of untagged embedded structs in their place, a shallower field
// hiding a deeper one of the same name and a tagged one an untagged one at
// the same depth. Where encoding/json would silently drop two fields that
// tie, jsonFields reports an error, so such a type fails at registration.
func jsonFields(t reflect.Type) ([]jsonField, error) {
	type level struct {
		t      reflect.Type
		index  []int
		viaPtr bool
		goPath string
	}
	var all []jsonField
	current := []level{{t: t}}
	seen := map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []level
		for _, l := range current {
			if seen[l.t] {
				continue
			}
			seen[l.t] = true
			for i := range l.t.NumField() {
				f := l.t.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(append([]int(nil), l.index...), i)
				goPath := f.Name
				if l.goPath != "" {
					goPath = l.goPath + "." + f.Name
				}
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if f.Anonymous && name == "" && ft.Kind() == reflect.Struct && !describesItself(ft) {
					if !f.IsExported() && f.Type.Kind() == reflect.Pointer {
						continue // encoding/json cannot set it
					}
					next = append(next, level{t: ft, index: index, viaPtr: l.viaPtr || f.Type.Kind() == reflect.Pointer, goPath: goPath})
					continue
				}
				if !f.IsExported() {
					continue
				}
				jf := jsonField{
					name: name, index: index, field: f, viaPtr: l.viaPtr, depth: depth,
					tagged: name != "", goPath: goPath, embedded: f.Anonymous,
				}
				if jf.name == "" {
					jf.name = f.Name
				}
				for opts != "" {
					var o string
					o, opts, _ = strings.Cut(opts, ",")
					switch o {
					case "omitempty", "omitzero":
						jf.omit = true
					case "string":
						jf.quoted = true
					}
				}
				for _, p := range []string{"path", "query", "header"} {
					if _, ok := f.Tag.Lookup(p); ok {
						jf.parameter = p
					}
				}
				all = append(all, jf)
			}
		}
		current = next
	}
	return dominant(t, all)
}

// dominant keeps, for each name, the field encoding/json uses, in the
// order of the fields.
func dominant(t reflect.Type, all []jsonField) ([]jsonField, error) {
	byName := map[string][]int{}
	for i, f := range all {
		if f.parameter == "" {
			byName[f.name] = append(byName[f.name], i)
		}
	}
	keep := make([]bool, len(all))
	for i, f := range all {
		cands := byName[f.name]
		if f.parameter != "" || cands[0] != i {
			continue // a parameter, or a name already judged
		}
		w, err := winner(t, all, cands)
		if err != nil {
			return nil, err
		}
		keep[w] = true
	}
	var out []jsonField
	for i, f := range all {
		if keep[i] || f.parameter != "" {
			out = append(out, f)
		}
	}
	// In the order of the Go fields, embedded ones in their place, as
	// encoding/json writes them.
	slices.SortStableFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out, nil
}

// winner picks among the fields of one name: the shallowest, then the
// tagged one; a tie is an error.
func winner(t reflect.Type, all []jsonField, cands []int) (int, error) {
	minDepth := all[cands[0]].depth
	for _, c := range cands {
		minDepth = min(minDepth, all[c].depth)
	}
	var shallow []int
	for _, c := range cands {
		if all[c].depth == minDepth {
			shallow = append(shallow, c)
		}
	}
	if len(shallow) == 1 {
		return shallow[0], nil
	}
	var tagged []int
	for _, c := range shallow {
		if all[c].tagged {
			tagged = append(tagged, c)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], nil
	}
	a, b := all[shallow[0]], all[shallow[1]]
	return 0, fmt.Errorf("%s: fields %s and %s both encode as %q, and encoding/json would drop both", typeName(t), a.goPath, b.goPath, a.name)
}
