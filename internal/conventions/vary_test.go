package conventions_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"testing"
	"time"
)

// A variant assigns a value to every numeric and boolean field of an
// options struct, nested structs included: all zero, all negative, all at
// the bottom or the top of their type's range, all one, or a mix drawn from
// those and a few ordinary values.
type variant struct {
	name string
	pick func(r *rand.Rand) extreme // the value each field gets
}

// extreme names the value a field is set to; value turns it into one of a
// field's type.
type extreme int

const (
	xZero extreme = iota
	xNegative
	xMin
	xMax
	xOne
	xNaN      // floats; others take zero
	xOrdinary // a small positive value of the field's unit
	xCount
)

func (x extreme) String() string {
	return [...]string{"zero", "negative", "min", "max", "one", "nan", "ordinary"}[x]
}

// variants returns the uniform variants and mixed random ones.
func variants(mixed int) []variant {
	var vs []variant
	for _, x := range []extreme{xZero, xNegative, xMin, xMax, xOne, xNaN} {
		vs = append(vs, variant{name: x.String(), pick: func(*rand.Rand) extreme { return x }})
	}
	for i := range mixed {
		vs = append(vs, variant{name: fmt.Sprintf("mixed%d", i), pick: func(r *rand.Rand) extreme { return extreme(r.IntN(int(xCount))) }})
	}
	return vs
}

var durationType = reflect.TypeFor[time.Duration]()

// vary returns a copy of base whose numeric and boolean fields v sets,
// with seed making a mixed variant repeatable. It descends into exported
// struct fields (not pointers, maps or interfaces).
func vary[T any](base T, v variant, seed uint64) T {
	r := rand.New(rand.NewPCG(seed, uint64(len(v.name))))
	out := base
	setFields(reflect.ValueOf(&out).Elem(), v, r)
	return out
}

func setFields(s reflect.Value, v variant, r *rand.Rand) {
	for i := range s.NumField() {
		f := s.Field(i)
		if !s.Type().Field(i).IsExported() || !f.CanSet() {
			continue
		}
		x := v.pick(r)
		switch f.Kind() {
		case reflect.Struct:
			setFields(f, v, r)
		case reflect.Bool:
			f.SetBool(r.IntN(2) == 1)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(intValue(f.Type(), x, r))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			f.SetUint(uintValue(f.Type(), x, r))
		case reflect.Float32, reflect.Float64:
			f.SetFloat(floatValue(x, r))
		}
	}
}

func intValue(t reflect.Type, x extreme, r *rand.Rand) int64 {
	bits := t.Bits()
	unit := int64(1)
	if t == durationType {
		unit = int64(time.Millisecond)
	}
	switch x {
	case xNegative:
		return -unit * (1 + r.Int64N(1000))
	case xMin:
		return math.MinInt64 >> (64 - bits)
	case xMax:
		return math.MaxInt64 >> (64 - bits)
	case xOne:
		return 1
	case xOrdinary:
		return unit * (1 + r.Int64N(100))
	}
	return 0
}

func uintValue(t reflect.Type, x extreme, r *rand.Rand) uint64 {
	switch x {
	case xMax:
		return math.MaxUint64 >> (64 - t.Bits())
	case xOne:
		return 1
	case xOrdinary:
		return 1 + r.Uint64N(100)
	}
	return 0
}

func floatValue(x extreme, r *rand.Rand) float64 {
	switch x {
	case xNegative:
		return -r.Float64() - 0.01
	case xMin:
		return math.Inf(-1)
	case xMax:
		return math.Inf(1)
	case xOne:
		return 1
	case xNaN:
		return math.NaN()
	case xOrdinary:
		return r.Float64()
	}
	return 0
}

// driveEach runs drive once per variant as a subtest, the options built
// from base, and fails the subtest if drive panics; a panic on a goroutine
// the value started ends the test binary, which fails the run as loudly.
func driveEach[T any](t *testing.T, base T, mixed int, drive func(t *testing.T, opts T)) {
	t.Helper()
	for i, v := range variants(mixed) {
		t.Run(v.name, func(t *testing.T) {
			opts := vary(base, v, uint64(i))
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic with options %+v: %v\n%s", opts, p, debug.Stack())
				}
			}()
			drive(t, opts)
		})
	}
}
