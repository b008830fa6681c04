package repository

import (
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

// Asc sorts in ascending order; it is the zero Direction.
const Asc Direction = 0

// Desc sorts in descending order.
const Desc Direction = 1

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

// Changes is a partial update for Update: either a Set or what a Patch
// makes of a patch struct (Patch.Of). It is sealed: only this package
// implements it.
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
