package repository

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Optional is a value that may be absent: the field type of a patch struct
// (see Patch). The zero value is absent. Decoding JSON into it marks it
// present, so a struct of Optional fields decoded from a request body tells
// an omitted field from an explicit zero. Use it so:
//
//	type CustomerPatch struct { // each field tagged with its column
//		Name  repository.Optional[string] `db:"name" json:"name"`
//		Email repository.Optional[string] `db:"email" json:"email"`
//	}
//	var customerPatch = repository.NewPatch[CustomerPatch]() // once, at start-up
//
//	var p CustomerPatch
//	err := json.Unmarshal(body, &p)                         // {"name":"Anne"}: Email stays absent
//	c, err := customers.Update(ctx, id, customerPatch.Of(p)) // changes the name only
//
// In code, Some(v) is a present value; read a decoded one through Valid
// (present) and V.
//
// A JSON null is present too, and means "set to NULL": V is left zero and
// the patch passes nil for the field, which only a pointer column accepts.
// For any other column Update answers a *FieldError whose Field is the
// patch field's json name (the column name when it has none) and whose
// Reason is "null not allowed", never a silent "" or 0.
type Optional[V any] struct {
	V     V
	Valid bool
	null  bool // present as JSON null
}

// Some returns a present Optional holding v.
func Some[V any](v V) Optional[V] { return Optional[V]{V: v, Valid: true} }

// UnmarshalJSON decodes b into V and marks the value present; a JSON null
// leaves V zero and marks it null.
func (o *Optional[V]) UnmarshalJSON(b []byte) error {
	var zero V
	if string(bytes.TrimSpace(b)) == "null" {
		*o = Optional[V]{V: zero, Valid: true, null: true}
		return nil
	}
	if err := json.Unmarshal(b, &o.V); err != nil {
		return err
	}
	o.Valid, o.null = true, false
	return nil
}

// MarshalJSON encodes V, or null when absent or null.
func (o Optional[V]) MarshalJSON() ([]byte, error) {
	if !o.Valid || o.null {
		return []byte("null"), nil
	}
	return json.Marshal(o.V)
}

func (o Optional[V]) optional() (any, bool) {
	if o.null {
		return nil, o.Valid
	}
	return o.V, o.Valid
}

type optionalValue interface{ optional() (any, bool) }

var optionalType = reflect.TypeFor[optionalValue]()

// Patch is the mapping of a patch struct P, a struct of Optional fields
// each tagged with the column it changes, `db:"column"`: Of turns a value
// of P into Changes for Update, present fields set, absent ones left
// alone. Field names and value types are checked by the compiler, the
// shape of P by NewPatch; column names are checked against the repository
// when Update runs. Build it once with NewPatch, next to P; it is safe for
// concurrent use.
//
//	type UserPatch struct {
//		Name  repository.Optional[string] `db:"name" json:"name"`
//		Email repository.Optional[string] `db:"email" json:"email"`
//	}
//	var userPatch = repository.NewPatch[UserPatch]()
//	u, err := users.Update(ctx, id, userPatch.Of(UserPatch{Name: repository.Some("Ada")}))
type Patch[P any] struct {
	fields []patchField
}

// patchField is one Optional field of a patch struct.
type patchField struct {
	index  int
	column string
	client string // the name a decoded request gave it: its json name, else column
}

// NewPatch maps the patch struct P. P is code, not input, so NewPatch
// panics, naming the field, when P is not a struct, when a field tagged
// `db:"column"` is not an Optional, when two fields name one column, or
// when an Optional field has no db tag: a request body would fill it and
// Update would drop it without a word. A field that is not a column is
// tagged `db:"-"`.
func NewPatch[P any]() *Patch[P] {
	t := reflect.TypeFor[P]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("repository: NewPatch[%v]: not a struct", t))
	}
	p := &Patch[P]{}
	seen := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("db")
		column, _, _ := strings.Cut(tag, ",")
		optional := f.Type.Kind() == reflect.Struct && f.Type.Implements(optionalType)
		switch {
		case column == "-":
			continue
		case optional && column == "":
			panic(fmt.Sprintf("repository: NewPatch[%v]: field %s is an Optional without a db tag naming its column (db:\"-\" if it is none)", t, f.Name))
		case !optional && tagged && column != "":
			panic(fmt.Sprintf("repository: NewPatch[%v]: field %s is tagged db:%q but is not an Optional", t, f.Name, column))
		case !optional:
			continue
		}
		if other, dup := seen[column]; dup {
			panic(fmt.Sprintf("repository: NewPatch[%v]: fields %s and %s both name column %q", t, other, f.Name, column))
		}
		seen[column] = f.Name
		client := column
		if j, _, _ := strings.Cut(f.Tag.Get("json"), ","); j != "" && j != "-" {
			client = j
		}
		p.fields = append(p.fields, patchField{index: i, column: column, client: client})
	}
	return p
}

// Of returns the Changes that v makes: its present fields.
func (p *Patch[P]) Of(v P) Changes { return patchChanges[P]{p, v} }

// patchChanges is a value of a patch struct with its mapping.
type patchChanges[P any] struct {
	p *Patch[P]
	v P
}

func (c patchChanges[P]) changes() (Set, error) {
	v := reflect.ValueOf(c.v)
	set := Set{}
	for _, f := range c.p.fields {
		if val, present := v.Field(f.index).Interface().(optionalValue).optional(); present {
			set[f.column] = val
		}
	}
	return set, nil
}

// clientName returns the json name of the patch field mapped to column, so
// an error about a decoded request names the field as the client sent it
// (and not the column); column itself when that field has no json name.
func (c patchChanges[P]) clientName(column string) string {
	for _, f := range c.p.fields {
		if f.column == column {
			return f.client
		}
	}
	return column
}
