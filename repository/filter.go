package repository

import (
	"bytes"
	"reflect"
	"time"
)

// cond is one resolved filter term.
type cond struct {
	col    int
	values []reflect.Value // converted to the column type; one unless in
	in     bool            // the filter value was a slice: column IN values
	null   bool            // the filter value was nil: column IS NULL
}

// resolveFind validates the ordering and filter of o against the mapping,
// the same way for every implementation: it returns the order column (the
// primary key when o.OrderBy is empty) and the resolved filter terms.
func (m *mapping) resolveFind(o FindOptions) (col int, conds []cond, err error) {
	col = m.pk
	if o.OrderBy != "" {
		if col, err = m.lookup("orderBy", o.OrderBy); err != nil {
			return 0, nil, err
		}
	}
	if o.OrderDir != Asc && o.OrderDir != Desc {
		return 0, nil, newFieldError("orderDir", o.OrderDir.String(), "unknown direction", nil)
	}
	conds, err = m.resolveFilter(o.Filter)
	return col, conds, err
}

// resolvePage is resolveFind for keyset pages: it returns the verified
// keyset position of o and its resolved filter terms.
func (m *mapping) resolvePage(key []byte, o PageOptions) (keyset, []cond, error) {
	ks, err := m.resolveKeyset(key, o)
	if err != nil {
		return keyset{}, nil, err
	}
	conds, err := m.resolveFilter(o.Filter)
	return ks, conds, err
}

// resolveFilter validates f against the mapping and converts its values.
// Terms come out sorted by key so equal filters give equal SQL.
func (m *mapping) resolveFilter(f Filter) ([]cond, error) {
	if len(f) == 0 {
		return nil, nil
	}
	conds := make([]cond, 0, len(f))
	seen := make(map[int]bool, len(f))
	for _, k := range sortedKeys(f) {
		i, err := m.lookup("filter", k)
		if err != nil {
			return nil, err
		}
		if seen[i] {
			return nil, newFieldError("filter", k, "field given twice", nil)
		}
		seen[i] = true
		c := cond{col: i}
		v := f[k]
		rv := reflect.ValueOf(v)
		switch {
		case v == nil:
			c.null = true
		case rv.Kind() == reflect.Slice && rv.Type() != m.cols[i].typ && rv.Type().Elem().Kind() != reflect.Uint8:
			c.in = true
			c.values = make([]reflect.Value, 0, rv.Len())
			for j := range rv.Len() {
				cv, err := convert("filter", &m.cols[i], rv.Index(j).Interface())
				if err != nil {
					return nil, err
				}
				c.values = append(c.values, cv)
			}
		default:
			cv, err := convert("filter", &m.cols[i], v)
			if err != nil {
				return nil, err
			}
			c.values = []reflect.Value{cv}
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// compareValues orders two values of the same Go type the way the databases
// order them: numbers numerically, strings and byte slices bytewise, false
// before true, times chronologically, NULL (a nil pointer) first.
func compareValues(a, b reflect.Value) int {
	if a.Kind() == reflect.Pointer {
		switch {
		case a.IsNil() && b.IsNil():
			return 0
		case a.IsNil():
			return -1
		case b.IsNil():
			return 1
		}
		return compareValues(a.Elem(), b.Elem())
	}
	switch k := a.Kind(); {
	case isInt(k):
		return cmp3(a.Int() < b.Int(), a.Int() > b.Int())
	case isUint(k):
		return cmp3(a.Uint() < b.Uint(), a.Uint() > b.Uint())
	case isFloat(k):
		return cmp3(a.Float() < b.Float(), a.Float() > b.Float())
	case k == reflect.String:
		return cmp3(a.String() < b.String(), a.String() > b.String())
	case k == reflect.Bool:
		return cmp3(!a.Bool() && b.Bool(), a.Bool() && !b.Bool())
	case k == reflect.Slice && a.Type().Elem().Kind() == reflect.Uint8:
		return bytes.Compare(a.Bytes(), b.Bytes())
	case k == reflect.Array && a.Type().Elem().Kind() == reflect.Uint8:
		for i := range a.Len() {
			if c := cmp3(a.Index(i).Uint() < b.Index(i).Uint(), a.Index(i).Uint() > b.Index(i).Uint()); c != 0 {
				return c
			}
		}
		return 0
	case a.Type() == timeType:
		return a.Interface().(time.Time).Compare(b.Interface().(time.Time))
	}
	return 0
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// matches reports whether row (a struct value) satisfies every cond.
func (m *mapping) matches(row reflect.Value, conds []cond) bool {
	for _, c := range conds {
		f := m.field(row, c.col)
		if c.null {
			if f.Kind() != reflect.Pointer || !f.IsNil() {
				return false
			}
			continue
		}
		if f.Kind() == reflect.Pointer && f.IsNil() {
			return false
		}
		hit := false
		for _, v := range c.values {
			if compareValues(f, v) == 0 {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}
