package repository

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Limits applied to FindOptions.Limit and PageOptions.Limit.
const (
	// DefaultLimit is used when Limit is zero or negative.
	DefaultLimit = 50
	// MaxLimit caps Limit: larger values are lowered to it, silently, so a
	// client cannot ask for the whole table in one page.
	MaxLimit = 1000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Direction is a sort direction. The zero value is Asc.
type Direction int

// The sort directions.
const (
	Asc Direction = iota
	Desc
)

// ParseDirection accepts "", "asc" and "desc" in any case; anything else is
// a *FieldError for "orderDir".
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "", "asc":
		return Asc, nil
	case "desc":
		return Desc, nil
	}
	return Asc, newFieldError("orderDir", s, "unknown direction", nil)
}

// String returns "asc" or "desc".
func (d Direction) String() string {
	if d == Desc {
		return "desc"
	}
	return "asc"
}

// Filter selects rows by equality on mapped columns: the row matches when
// every key's column equals its value. Keys are column names or the json tag
// names of the fields; anything else is a *FieldError. A nil value matches
// NULL; a slice value (other than []byte) matches any of its elements, as
// SQL IN does, and an empty slice matches nothing. Values are converted to
// the field's type (strings are parsed), always bound as parameters.
type Filter map[string]any

// FindOptions selects, orders and pages rows for FindMany. The zero value
// returns the first DefaultLimit rows in primary key order.
type FindOptions struct {
	Filter   Filter
	OrderBy  string    // a mapped column or json name; "" orders by primary key
	OrderDir Direction // ties are broken by the primary key, same direction
	Limit    int       // 0 means DefaultLimit; capped at MaxLimit
	Offset   int       // rows to skip; negative means 0
}

// PageOptions selects one page of a keyset (cursor) pagination for
// FindPage. Pass the NextCursor of the previous page as Cursor, with the same
// OrderBy, OrderDir and Filter; a cursor made for another ordering is
// rejected with ErrInvalidCursor.
type PageOptions struct {
	Filter   Filter
	OrderBy  string // a NOT NULL mapped column; "" orders by primary key
	OrderDir Direction
	Limit    int    // 0 means DefaultLimit; capped at MaxLimit
	Cursor   string // "" for the first page
}

// Page is one page of a keyset pagination.
type Page[T any] struct {
	Items      []T
	NextCursor string // "" when HasMore is false
	HasMore    bool
}

// Changes is a partial update for Update: either a Set or the result of
// PatchOf. It is sealed: only this package implements it.
type Changes interface {
	changes() (Set, error)
}

// Set is a partial update by column (or json) name, the form to use when the
// changed fields come from outside, such as an HTTP PATCH body. Only the keys
// present change, so "not set" differs from "set to zero". Keys must map to
// columns other than the primary key and the created/updated columns (which
// the repository maintains); values are converted to the field types as in
// Filter. Violations are *FieldError values that render as 400.
type Set map[string]any

func (s Set) changes() (Set, error) { return s, nil }

// Optional is a value that may be absent: the field type of a patch struct
// given to PatchOf. The zero value is absent. Decoding JSON into it marks it
// present, so a struct of Optional fields decoded from a request body tells
// an omitted field from an explicit zero.
//
// A JSON null is present too, and means "set to NULL": V is left zero and
// PatchOf passes nil for the field, which only a pointer column accepts.
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

// PatchOf turns a struct whose fields are Optional values tagged
// `db:"column"` into Changes for Update: present fields are set, absent ones
// left alone. Field names and value types are checked by the compiler;
// column names are checked against the repository when Update runs. A
// non-struct P, or a tagged field that is not an Optional, is reported by
// Update as an error.
//
//	type UserPatch struct {
//		Name  repository.Optional[string] `db:"name"`
//		Email repository.Optional[string] `db:"email"`
//	}
//	u, err := users.Update(ctx, id, repository.PatchOf(UserPatch{Name: repository.Some("Ada")}))
func PatchOf[P any](p P) Changes { return patch[P]{p} }

type patch[P any] struct{ p P }

func (p patch[P]) changes() (Set, error) {
	v := reflect.ValueOf(p.p)
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("repository: PatchOf(%T): not a struct", p.p)
	}
	set := Set{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("db"), ",")
		if name == "" || name == "-" {
			continue
		}
		o, ok := v.Field(i).Interface().(optionalValue)
		if !ok {
			return nil, fmt.Errorf("repository: PatchOf(%T): field %s is not an Optional", p.p, f.Name)
		}
		if val, present := o.optional(); present {
			set[name] = val
		}
	}
	return set, nil
}

// clientName returns the json name of the patch field mapped to column, so
// an error about a decoded request names the field as the client sent it
// (and not the column); column itself when that field has no json name.
func (p patch[P]) clientName(column string) string {
	t := reflect.TypeOf(p.p)
	if t == nil || t.Kind() != reflect.Struct {
		return column
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("db"), ","); name != column {
			continue
		}
		if j, _, _ := strings.Cut(f.Tag.Get("json"), ","); j != "" && j != "-" {
			return j
		}
	}
	return column
}

// sortedKeys returns the keys of a filter or set in order, so equal
// filters produce equal SQL text.
func sortedKeys[M ~map[string]any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
