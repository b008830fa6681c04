package repository

import (
	"reflect"
	"time"
	"unsafe"
)

// The per-row scan path works on field addresses computed once per
// mapping (the struct's base address plus the field offset) instead of
// walking reflect.Values for every row and column: it is the only place
// where this package uses unsafe, and it never outlives the row it points
// into.

// pointerTo returns a function that turns the address of a field of type t
// into a typed pointer for Scan. Common types get a plain conversion;
// anything else (named types, Scanners) goes through reflect.NewAt, which
// keeps the field's own pointer type so its methods apply.
func pointerTo(t reflect.Type) func(unsafe.Pointer) any {
	switch t {
	case reflect.TypeFor[string]():
		return func(p unsafe.Pointer) any { return (*string)(p) }
	case reflect.TypeFor[int64]():
		return func(p unsafe.Pointer) any { return (*int64)(p) }
	case reflect.TypeFor[int]():
		return func(p unsafe.Pointer) any { return (*int)(p) }
	case reflect.TypeFor[int32]():
		return func(p unsafe.Pointer) any { return (*int32)(p) }
	case reflect.TypeFor[float64]():
		return func(p unsafe.Pointer) any { return (*float64)(p) }
	case reflect.TypeFor[bool]():
		return func(p unsafe.Pointer) any { return (*bool)(p) }
	case reflect.TypeFor[[]byte]():
		return func(p unsafe.Pointer) any { return (*[]byte)(p) }
	case timeType:
		return func(p unsafe.Pointer) any { return (*time.Time)(p) }
	case reflect.TypeFor[*string]():
		return func(p unsafe.Pointer) any { return (**string)(p) }
	case reflect.TypeFor[*int64]():
		return func(p unsafe.Pointer) any { return (**int64)(p) }
	case reflect.TypeFor[*time.Time]():
		return func(p unsafe.Pointer) any { return (**time.Time)(p) }
	}
	return func(p unsafe.Pointer) any { return reflect.NewAt(t, p).Interface() }
}

// offsetOf sums the field offsets along an index path of value-embedded
// structs (the only embedding newMapping follows).
func offsetOf(t reflect.Type, index []int) uintptr {
	var off uintptr
	for _, i := range index {
		f := t.Field(i)
		off += f.Offset
		t = f.Type
	}
	return off
}

// targets points dest at the fields of the struct at base, in column order.
func (m *mapping) targets(base unsafe.Pointer, dest []any) []any {
	for i := range m.cols {
		c := &m.cols[i]
		dest[i] = c.ptr(unsafe.Add(base, c.offset))
	}
	return dest
}

// utc sets the time fields of the struct at base to UTC after a scan, so
// rows read back compare equal whatever location the driver chose.
func (m *mapping) utc(base unsafe.Pointer) {
	for _, i := range m.times {
		c := &m.cols[i]
		p := unsafe.Add(base, c.offset)
		var t *time.Time
		if c.isTime {
			t = (*time.Time)(p)
		} else if t = *(**time.Time)(p); t == nil {
			continue
		}
		if t.Location() != time.UTC {
			*t = t.UTC()
		}
	}
}
