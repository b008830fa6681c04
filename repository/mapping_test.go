package repository

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
)

type Base struct {
	ID        int64     `db:"id,pk"`
	CreatedAt time.Time `db:"created_at,created"`
}

type withBase struct {
	Base
	Name   string `db:"name" json:"displayName,omitempty"`
	Skip   string `db:"-"`
	hidden string `db:"hidden"` // unexported: ignored
}

func TestMappingEmbedsAndAliases(t *testing.T) {
	m, err := newMapping(reflect.TypeFor[withBase]())
	require.NoError(t, err, "embedded structs map")
	var names []string
	for _, c := range m.cols {
		names = append(names, c.name)
	}
	assert.Equal(t, []string{"id", "created_at", "name"}, names, "embedded fields first, skipped fields absent")
	i, err := m.lookup("orderBy", "displayName")
	require.NoError(t, err, "json names are aliases")
	assert.Equal(t, "name", m.cols[i].name, "alias resolves to the column")
	_, err = m.lookup("orderBy", "Skip")
	assert.ErrorIs(t, err, ErrInvalidField, "a skipped field is unknown")
	v := withBase{Base: Base{ID: 3}, hidden: "x"}
	_, err = m.lookup("filter", "hidden")
	assert.ErrorIs(t, err, ErrInvalidField, "unexported fields are not mapped: %q", v.hidden)
	assert.Equal(t, int64(3), m.field(reflect.ValueOf(v), m.pk).Interface(), "field reads through the embedding")
}

func TestMappingErrors(t *testing.T) {
	for name, typ := range map[string]reflect.Type{
		"not a struct": reflect.TypeFor[int](),
		"no pk": reflect.TypeFor[struct {
			A int `db:"a"`
		}](),
		"two pks": reflect.TypeFor[struct {
			A int `db:"a,pk"`
			B int `db:"b,pk"`
		}](),
		"bad option": reflect.TypeFor[struct {
			A int `db:"a,pk,primary"`
		}](),
		"bad name": reflect.TypeFor[struct {
			A int `db:"a;drop,pk"`
		}](),
		"duplicate": reflect.TypeFor[struct {
			A int `db:"a,pk"`
			B int `db:"a"`
		}](),
		"created not time": reflect.TypeFor[struct {
			A int `db:"a,pk"`
			B int `db:"b,created"`
		}](),
		"natural not on the pk": reflect.TypeFor[struct {
			A int `db:"a,pk"`
			B int `db:"b,natural"`
		}](),
		"private and public": reflect.TypeFor[struct {
			A int `db:"a,pk"`
			B int `db:"b,private,public"`
		}](),
		"private pk": reflect.TypeFor[struct {
			A int `db:"a,pk,private"`
		}](),
	} {
		_, err := newMapping(typ)
		assert.Error(t, err, "%s must not map", name)
	}
}

func TestConstructorsPanicOnProgrammerErrors(t *testing.T) {
	type good struct {
		ID int64 `db:"id,pk"`
	}
	type strID struct {
		ID string `db:"id,pk"`
	}
	assert.Panics(t, func() { NewSQL[good, int64](nil, dialect.Dialect(9), "t", Options[int64]{}) }, "invalid dialect")
	assert.Panics(t, func() { NewSQL[good, int64](nil, dialect.SQLite, "t; drop", Options[int64]{}) }, "invalid table")
	assert.Panics(t, func() { NewSQL[good, int32](nil, dialect.SQLite, "t", Options[int32]{}) }, "ID type mismatch")
	assert.Panics(t, func() { NewSQL[strID, string](nil, dialect.MySQL, "t", Options[string]{}) }, "MySQL cannot generate string ids")
	assert.Panics(t, func() { NewMemory[strID, string](MemoryOptions[string]{Name: "t"}) }, "memory needs NewID for string ids")
	assert.Panics(t, func() { NewMemory[struct{ A int }, int](MemoryOptions[int]{Name: "t"}) }, "no pk")
	assert.NotPanics(t, func() { NewSQL[good, int64](nil, dialect.Postgres, "app.t", Options[int64]{}) }, "schema-qualified table")
	type natural struct {
		Code string `db:"code,pk,natural"`
	}
	newID := func() string { return "x" }
	assert.Panics(t, func() { NewSQL[natural, string](nil, dialect.Postgres, "t", Options[string]{NewID: newID}) }, "a natural key is not generated")
	assert.Panics(t, func() {
		NewMemory[natural, string](MemoryOptions[string]{Name: "t", Options: Options[string]{NewID: newID}})
	}, "a natural key is not generated")
	assert.NotPanics(t, func() { NewSQL[natural, string](nil, dialect.MySQL, "t", Options[string]{}) }, "MySQL takes natural string keys")
	assert.NotPanics(t, func() { NewMemory[natural, string](MemoryOptions[string]{Name: "t"}) }, "memory takes natural string keys")
	assert.Panics(t, func() {
		NewMemory[good, int64](MemoryOptions[int64]{Name: "t", Options: Options[int64]{CursorKey: []byte("short")}})
	}, "a short cursor key")
	assert.Panics(t, func() { NewSQL[good, int64](nil, dialect.SQLite, "t", Options[int64]{CursorKey: []byte("short")}) }, "a short cursor key")
}

type status string

func TestConvert(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("X", 7200))
	for _, tc := range []struct {
		typ  reflect.Type
		in   any
		want any
	}{
		{reflect.TypeFor[int64](), 5, int64(5)},
		{reflect.TypeFor[int8](), uint(7), int8(7)},
		{reflect.TypeFor[uint16](), 9, uint16(9)},
		{reflect.TypeFor[uint32](), uint64(9), uint32(9)},
		{reflect.TypeFor[float64](), 2, float64(2)},
		{reflect.TypeFor[int](), "42", 42},
		{reflect.TypeFor[uint](), "42", uint(42)},
		{reflect.TypeFor[float32](), "1.5", float32(1.5)},
		{reflect.TypeFor[bool](), "true", true},
		{reflect.TypeFor[string](), "s", "s"},
		{reflect.TypeFor[status](), "active", status("active")},
		{reflect.TypeFor[status](), status("x"), status("x")},
		{reflect.TypeFor[time.Time](), at, at.UTC().Truncate(time.Microsecond)},
		{reflect.TypeFor[time.Time](), "2026-01-02T03:04:05.0000067+02:00", at.UTC().Truncate(time.Microsecond)},
		{reflect.TypeFor[UUID](), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", mustUUID(t, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")},
	} {
		c := &column{name: "c", typ: tc.typ, isTime: tc.typ == timeType}
		got, err := convert("filter", c, tc.in)
		require.NoError(t, err, "convert %v to %s", tc.in, tc.typ)
		assert.Equal(t, tc.want, got.Interface(), "convert %v to %s", tc.in, tc.typ)
	}
	p, err := convert("set", &column{name: "p", typ: reflect.TypeFor[*int]()}, 3)
	require.NoError(t, err, "a value converts to a pointer column")
	assert.Equal(t, 3, *(p.Interface().(*int)), "pointer column holds the value")
	for _, tc := range []struct {
		typ reflect.Type
		in  any
	}{
		{reflect.TypeFor[int8](), 300}, {reflect.TypeFor[uint](), -1}, {reflect.TypeFor[int](), "x"},
		{reflect.TypeFor[int](), 1.5}, {reflect.TypeFor[string](), 5}, {reflect.TypeFor[int](), nil},
		{reflect.TypeFor[bool](), "maybe"}, {reflect.TypeFor[time.Time](), "yesterday"},
		{reflect.TypeFor[UUID](), "nope"}, {reflect.TypeFor[[]int](), "x"}, {reflect.TypeFor[uint8](), uint(300)},
		{reflect.TypeFor[int64](), uint64(1 << 63)}, {reflect.TypeFor[float64](), "pi"}, {reflect.TypeFor[uint](), "-1"},
	} {
		_, err := convert("filter", &column{name: "c", typ: tc.typ, isTime: tc.typ == timeType}, tc.in)
		assert.ErrorIs(t, err, ErrInvalidField, "%v must not convert to %s", tc.in, tc.typ)
	}
}

func mustUUID(t *testing.T, s string) UUID {
	u, err := uuid.Parse(s)
	require.NoError(t, err, "parse %s", s)
	return u
}

func TestOptionalJSON(t *testing.T) {
	var p struct {
		Name Optional[string] `json:"name"`
		Age  Optional[int]    `json:"age"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"age":0}`), &p), "decode a partial body")
	assert.False(t, p.Name.Valid, "an omitted field is absent")
	assert.True(t, p.Age.Valid, "an explicit zero is present")
	out, err := json.Marshal(p)
	require.NoError(t, err, "encode")
	assert.JSONEq(t, `{"name":null,"age":0}`, string(out), "absent encodes as null")
	assert.Error(t, json.Unmarshal([]byte(`{"age":"x"}`), &p), "a wrong type is an error")

	for _, tc := range []struct {
		body    string
		present bool
		value   any // what the patch passes on
	}{
		{`{}`, false, nil},
		{`{"name":null}`, true, nil},
		{`{"name": null }`, true, nil},
		{`{"name":""}`, true, ""},
		{`{"name":"a"}`, true, "a"},
		{`{"name":"a","name":null}`, true, nil},
		{`{"name":null,"name":"b"}`, true, "b"},
	} {
		var q patchOfName
		require.NoError(t, json.Unmarshal([]byte(tc.body), &q), "decode %s", tc.body)
		assert.Equal(t, tc.present, q.Name.Valid, "%s: present", tc.body)
		set, err := NewPatch[patchOfName]().Of(q).changes()
		require.NoError(t, err, "changes of %s", tc.body)
		v, ok := set["name"]
		assert.Equal(t, tc.present, ok, "%s: in the set", tc.body)
		assert.Equal(t, tc.value, v, "%s: a null stays nil, never \"\"", tc.body)
		out, err := json.Marshal(q.Name)
		require.NoError(t, err, "encode")
		if tc.present && tc.value == nil {
			assert.Equal(t, "null", string(out), "%s: a null encodes as null", tc.body)
		}
	}
}

// patchOfName is a patch of one field, for TestOptionalJSON.
type patchOfName struct {
	Name Optional[string] `db:"name" json:"name"`
}

// TestNewPatch: the shape of a patch struct is checked when its Patch is
// built, so a mistake fails as the program starts (a package variable),
// never at a request: an Optional without a db tag would otherwise be
// filled from a request body and dropped without a word.
func TestNewPatch(t *testing.T) {
	type good struct {
		Name    Optional[string]  `db:"name" json:"displayName"`
		Nick    Optional[*string] `db:"nick,omitempty"`
		Derived Optional[int]     `db:"-" json:"derived"` // not a column: the handler's own
		Note    string            // not tagged, not an Optional: not part of the patch
	}
	tests := []struct {
		name  string
		build func()
		panic string // "" for none
	}{
		{"a good patch", func() { NewPatch[good]() }, ""},
		{"not a struct", func() { NewPatch[int]() }, "not a struct"},
		{"an Optional without a db tag", func() {
			NewPatch[struct {
				Title Optional[string] `json:"title"`
			}]()
		}, "field Title is an Optional without a db tag"},
		{"an Optional with an empty db tag", func() {
			NewPatch[struct {
				Title Optional[string] `db:",omitempty"`
			}]()
		}, "field Title is an Optional without a db tag"},
		{"a db tag on a plain field", func() {
			NewPatch[struct {
				Title string `db:"title"`
			}]()
		}, `field Title is tagged db:"title" but is not an Optional`},
		{"a db tag on a pointer to an Optional", func() {
			NewPatch[struct {
				Title *Optional[string] `db:"title"`
			}]()
		}, "field Title is tagged"},
		{"two fields, one column", func() {
			NewPatch[struct {
				A Optional[string] `db:"title"`
				B Optional[string] `db:"title"`
			}]()
		}, `fields A and B both name column "title"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.panic == "" {
				assert.NotPanics(t, tt.build, "NewPatch accepts it")
				return
			}
			var got any
			func() {
				defer func() { got = recover() }()
				tt.build()
			}()
			require.NotNil(t, got, "NewPatch panics")
			assert.Contains(t, fmt.Sprint(got), tt.panic, "the panic names the field and the mistake")
			assert.True(t, strings.HasPrefix(fmt.Sprint(got), "repository: NewPatch["), "the panic names the function: %v", got)
		})
	}

	nick := "n"
	set, err := NewPatch[good]().Of(good{Name: Some("Ada"), Nick: Some(&nick), Derived: Some(3), Note: "x"}).changes()
	require.NoError(t, err, "changes")
	assert.Equal(t, Set{"name": "Ada", "nick": &nick}, set, "the columns of the present Optionals, nothing else")
	c := NewPatch[good]().Of(good{}).(patchChanges[good])
	assert.Equal(t, "displayName", c.clientName("name"), "an error names the field as the client sent it")
	assert.Equal(t, "nick", c.clientName("nick"), "or the column when the field has no json name")
}

func TestParseDirection(t *testing.T) {
	for in, want := range map[string]Direction{"": Asc, "asc": Asc, "ASC": Asc, "desc": Desc, "Desc": Desc} {
		got, err := ParseDirection(in)
		require.NoError(t, err, "ParseDirection(%q)", in)
		assert.Equal(t, want, got, "ParseDirection(%q)", in)
	}
	_, err := ParseDirection("desc; drop")
	assert.ErrorIs(t, err, ErrInvalidField, "unknown directions are field errors")
	assert.Equal(t, "desc", Desc.String(), "String")
}

func TestCompareValues(t *testing.T) {
	one, two := 1, 2
	for _, tc := range []struct {
		a, b any
		want int
	}{
		{1, 2, -1}, {uint(3), uint(3), 0}, {2.5, 1.0, 1}, {"a", "b", -1}, {false, true, -1}, {true, false, 1},
		{[]byte("b"), []byte("a"), 1}, {UUID{1}, UUID{2}, -1}, {UUID{2}, UUID{2}, 0},
		{time.Unix(1, 0), time.Unix(2, 0), -1}, {(*int)(nil), &one, -1}, {&two, &one, 1}, {(*int)(nil), (*int)(nil), 0},
	} {
		got := compareValues(reflect.ValueOf(tc.a), reflect.ValueOf(tc.b))
		assert.Equal(t, tc.want, got, "compare %v and %v", tc.a, tc.b)
	}
}

// FuzzFilter feeds client-shaped input (a field name and a string value,
// as from a query string) to filter, order and set resolution: every
// outcome is a valid term or a *FieldError, never a panic, and an accepted
// field is always a mapped column.
func FuzzFilter(f *testing.F) {
	type target struct {
		ID    int64      `db:"id,pk"`
		Name  string     `db:"name" json:"displayName"`
		Age   uint8      `db:"age"`
		Score float32    `db:"score"`
		On    bool       `db:"on"`
		At    time.Time  `db:"at"`
		Maybe *time.Time `db:"maybe"`
		Key   UUID       `db:"key"`
	}
	m, err := newMapping(reflect.TypeFor[target]())
	require.NoError(f, err, "target maps")
	for _, seed := range [][2]string{
		{"age", "255"}, {"age", "256"}, {"score", "NaN"}, {"at", "2026-01-01T00:00:00Z"}, {"maybe", "x"},
		{"key", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, {"displayName", "' OR 1=1 --"}, {"name; DROP", "x"}, {"on", "TRUE"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, field, value string) {
		conds, err := m.resolveFilter(Filter{field: value})
		if err != nil {
			if !errors.Is(err, ErrInvalidField) {
				t.Fatalf("filter %q=%q: error %v is not a field error", field, value, err)
			}
		} else if len(conds) != 1 || conds[0].col < 0 || conds[0].col >= len(m.cols) {
			t.Fatalf("filter %q=%q resolved to %+v", field, value, conds)
		}
		if _, err := m.resolveSet(Set{field: value}, time.Unix(0, 0)); err != nil && !errors.Is(err, ErrInvalidField) {
			t.Fatalf("set %q=%q: error %v is not a field error", field, value, err)
		}
		if _, err := m.resolveKeyset(nil, PageOptions{OrderBy: field, Cursor: value}); err != nil &&
			!errors.Is(err, ErrInvalidField) && !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("page %q/%q: unexpected error %v", field, value, err)
		}
	})
}

// FuzzPatchFromJSON decodes arbitrary request bodies into a patch of
// Optional fields and resolves them against a mapping: it must never panic,
// and a field whose JSON value is null must either be refused (NOT NULL
// columns) or set to a nil pointer (nullable ones), never to a zero value.
func FuzzPatchFromJSON(f *testing.F) {
	type patchRow struct {
		ID   int64   `db:"id,pk"`
		Name string  `db:"name"`
		Age  int     `db:"age"`
		Nick *string `db:"nick"`
	}
	type patchBody struct {
		Name Optional[string]  `db:"name" json:"name"`
		Age  Optional[int]     `db:"age" json:"age"`
		Nick Optional[*string] `db:"nick" json:"nick"`
	}
	m, err := newMapping(reflect.TypeFor[patchRow]())
	require.NoError(f, err, "patchRow must map")
	patches := NewPatch[patchBody]()
	for _, s := range []string{`{}`, `{"name":null}`, `{"age":null}`, `{"nick":null}`, `{"name":"a","age":3,"nick":"n"}`, `{"name":""}`, `null`, `{"age":1e99}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var p patchBody
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		set, err := m.resolveSet(patches.Of(p), time.Time{})
		if (p.Name.null || p.Age.null) && err == nil {
			t.Fatalf("resolveSet(%s): a null for a NOT NULL column was accepted", body)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidField) {
				t.Fatalf("resolveSet(%s): error %v does not match ErrInvalidField", body, err)
			}
			return
		}
		for _, a := range set {
			if m.cols[a.col].name == "nick" && p.Nick.null && !a.value.IsNil() {
				t.Fatalf("resolveSet(%s): null for nick set to %v", body, a.value)
			}
		}
	})
}
