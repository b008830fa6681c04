package operation

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/repository"
)

type genBase struct {
	ID        string    `json:"id" format:"uuid"`
	CreatedAt time.Time `json:"createdAt"`
}

type genUser struct {
	genBase
	Email    string            `json:"email" format:"email" maxLength:"254"`
	Name     *string           `json:"name"`
	Nick     string            `json:"nick,omitempty" minLength:"1"`
	Roles    []string          `json:"roles" enum:"user,admin" uniqueItems:"true"`
	Labels   map[string]int    `json:"labels,omitzero"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Anything any               `json:"anything,omitempty"`
	Avatar   []byte            `json:"avatar,omitempty"`
	Score    float32           `json:"score" exclusiveMinimum:"0"`
	Small    int8              `json:"small"`
	Count    uint16            `json:"count" maximum:"100"`
	Ignored  string            `json:"-"`
	hidden   string            // unexported: not a member
	Extra    map[string]string `json:"extra,omitempty" doc:"free-form labels"`
}

type genNode struct {
	Value    int        `json:"value"`
	Children []*genNode `json:"children"`
}

type genPage[T any] struct {
	Items []T `json:"items"`
	Next  *T  `json:"next"`
}

type genDirection string

func (genDirection) Enum() []any { return []any{genDirection("asc"), genDirection("desc")} }

type genSort struct {
	Dir genDirection `json:"dir"`
}

type genPatch struct {
	Name  repository.Optional[string]  `json:"name" minLength:"1"`
	Phone repository.Optional[*string] `json:"phone"`
}

type genShadow struct {
	genBase
	ID int `json:"id"` // shallower: hides genBase.ID
}

type genTagged struct {
	A string `json:"x"`
	genInner
}

type genInner struct {
	X string // untagged x at depth 1, hidden by the tagged A
}

type genTieA struct{ Name string }
type genTieB struct{ Name string }
type genTie struct {
	genTieA
	genTieB
}

type genSelfMarshal struct{}

func (genSelfMarshal) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }

type genText struct{ v string }

func (t genText) MarshalText() ([]byte, error)  { return []byte(t.v), nil }
func (t *genText) UnmarshalText(b []byte) error { t.v = string(b); return nil }

// describe returns the JSON of t's schema and of every component it made.
func describe(t *testing.T, typ reflect.Type) (string, map[string]string) {
	t.Helper()
	g := newRegistry()
	s, err := g.schemaOf(typ, "T")
	require.NoError(t, err, "%s is described", typ)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	comps := map[string]string{}
	for _, name := range g.names {
		c, err := json.Marshal(g.schemas[name])
		require.NoError(t, err)
		comps[name] = string(c)
	}
	return string(b), comps
}

func TestSchemaOf(t *testing.T) {
	_ = genUser{}.hidden
	tests := []struct {
		name       string
		typ        reflect.Type
		schema     string
		components map[string]string
	}{
		{"string", reflect.TypeFor[string](), `{"type":"string"}`, nil},
		{"pointer is nullable", reflect.TypeFor[*int](), `{"type":["integer","null"],"format":"int64"}`, nil},
		{"int8 has its range", reflect.TypeFor[int8](), `{"type":"integer","minimum":-128,"maximum":127}`, nil},
		{"uint64 has its range", reflect.TypeFor[uint64](), `{"type":"integer","minimum":0,"maximum":18446744073709551615}`, nil},
		{"float32", reflect.TypeFor[float32](), `{"type":"number","format":"float"}`, nil},
		{"time", reflect.TypeFor[time.Time](), `{"type":"string","format":"date-time"}`, nil},
		{"raw message is any value", reflect.TypeFor[json.RawMessage](), `{}`, nil},
		{"bytes are base64", reflect.TypeFor[[]byte](), `{"type":"string","contentEncoding":"base64"}`, nil},
		{"array has its length", reflect.TypeFor[[2]bool](), `{"type":"array","items":{"type":"boolean"},"minItems":2,"maxItems":2}`, nil},
		{"map of strings", reflect.TypeFor[map[string]float64](), `{"type":"object","additionalProperties":{"type":"number","format":"double"}}`, nil},
		{"text type is a string", reflect.TypeFor[genText](), `{"type":"string"}`, nil},
		{"anonymous struct in place", reflect.TypeFor[struct {
			A int `json:"a"`
		}](), `{"type":"object","properties":{"a":{"type":"integer","format":"int64"}},"required":["a"],"additionalProperties":false}`, nil},
		{"struct with embedding, tags, optional members", reflect.TypeFor[genUser](), `{"$ref":"#/components/schemas/GenUser"}`, map[string]string{
			"GenUser": `{"type":"object","properties":{` +
				`"id":{"type":"string","format":"uuid"},` +
				`"createdAt":{"type":"string","format":"date-time"},` +
				`"email":{"type":"string","format":"email","maxLength":254},` +
				`"name":{"type":["string","null"]},` +
				`"nick":{"type":"string","minLength":1},` +
				`"roles":{"type":"array","items":{"type":"string","enum":["user","admin"]},"uniqueItems":true},` +
				`"labels":{"type":"object","additionalProperties":{"type":"integer","format":"int64"}},` +
				`"raw":{},"anything":{},` +
				`"avatar":{"type":"string","contentEncoding":"base64"},` +
				`"score":{"type":"number","format":"float","exclusiveMinimum":0},` +
				`"small":{"type":"integer","minimum":-128,"maximum":127},` +
				`"count":{"type":"integer","minimum":0,"maximum":100},` +
				`"extra":{"type":"object","description":"free-form labels","additionalProperties":{"type":"string"}}},` +
				`"required":["id","createdAt","email","name","roles","score","small","count"],"additionalProperties":false}`,
		}},
		{"recursion by $ref", reflect.TypeFor[genNode](), `{"$ref":"#/components/schemas/GenNode"}`, map[string]string{
			"GenNode": `{"type":"object","properties":{"value":{"type":"integer","format":"int64"},` +
				`"children":{"type":"array","items":{"anyOf":[{"$ref":"#/components/schemas/GenNode"},{"type":"null"}]}}},` +
				`"required":["value","children"],"additionalProperties":false}`,
		}},
		{"generic names", reflect.TypeFor[genPage[genSort]](), `{"$ref":"#/components/schemas/GenPageGenSort"}`, map[string]string{
			"GenPageGenSort": `{"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/components/schemas/GenSort"}},` +
				`"next":{"anyOf":[{"$ref":"#/components/schemas/GenSort"},{"type":"null"}]}},"required":["items","next"],"additionalProperties":false}`,
			"GenSort":      `{"type":"object","properties":{"dir":{"$ref":"#/components/schemas/GenDirection"}},"required":["dir"],"additionalProperties":false}`,
			"GenDirection": `{"type":"string","enum":["asc","desc"]}`,
		}},
		{"Optional members are not required and not null", reflect.TypeFor[genPatch](), `{"$ref":"#/components/schemas/GenPatch"}`, map[string]string{
			"GenPatch": `{"type":"object","properties":{"name":{"type":"string","minLength":1},"phone":{"type":["string","null"]}},"additionalProperties":false}`,
		}},
		{"a shallower field hides a deeper one", reflect.TypeFor[genShadow](), `{"$ref":"#/components/schemas/GenShadow"}`, map[string]string{
			"GenShadow": `{"type":"object","properties":{"createdAt":{"type":"string","format":"date-time"},"id":{"type":"integer","format":"int64"}},"required":["createdAt","id"],"additionalProperties":false}`,
		}},
		{"a tagged field hides an untagged one", reflect.TypeFor[genTagged](), `{"$ref":"#/components/schemas/GenTagged"}`, map[string]string{
			"GenTagged": `{"type":"object","properties":{"x":{"type":"string"},"X":{"type":"string"}},"required":["x","X"],"additionalProperties":false}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, comps := describe(t, tt.typ)
			assert.JSONEq(t, tt.schema, got, "schema of %s", tt.typ)
			for name, want := range tt.components {
				require.Contains(t, comps, name, "component %s is made", name)
				assert.JSONEq(t, want, comps[name], "component %s", name)
			}
			assert.Len(t, comps, len(tt.components), "no other components")
		})
	}
}

func TestSchemaOfRefuses(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	type deep struct {
		Inner struct {
			F func() `json:"f"`
		} `json:"inner"`
	}
	type intKeys struct {
		M map[int]string `json:"m"`
	}
	type quoted struct {
		N int `json:"n,string"`
	}
	type badTag struct {
		N int `json:"n" minLength:"1"`
	}
	type badFormat struct {
		S string `json:"s" format:"color"`
	}
	type badPattern struct {
		S string `json:"s" pattern:"("`
	}
	type defaulted struct {
		S string `json:"s" default:"x"`
	}
	type param struct {
		S string `json:"s" query:"s"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
		want string // in the error message
	}{
		{"chan", reflect.TypeFor[withChan](), "operation.withChan.C (chan int): a chan has no JSON form"},
		{"func in a nested field", reflect.TypeFor[deep](), "operation.deep.Inner.F (func()): a func has no JSON form"},
		{"complex", reflect.TypeFor[complex128](), "T (complex128): a complex128 has no JSON form"},
		{"map with int keys", reflect.TypeFor[intKeys](), "operation.intKeys.M (map[int]string): a map whose keys are not strings"},
		{"MarshalJSON", reflect.TypeFor[genSelfMarshal](), "encodes itself"},
		{"interface with methods", reflect.TypeFor[error](), "an interface with methods"},
		{"tie between embedded fields", reflect.TypeFor[genTie](), `fields genTieA.Name and genTieB.Name both encode as "Name"`},
		{",string", reflect.TypeFor[quoted](), `the ",string" option`},
		{"keyword of another type", reflect.TypeFor[badTag](), "minLength does not apply to a JSON integer"},
		{"unknown format", reflect.TypeFor[badFormat](), `format "color" is not one the validator checks`},
		{"bad pattern", reflect.TypeFor[badPattern](), "pattern: error parsing regexp"},
		{"default on a member", reflect.TypeFor[defaulted](), "a default applies to parameters only"},
		{"parameter tag in a body", reflect.TypeFor[param](), "a query parameter tag belongs on a field of the input struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRegistry()
			_, err := g.schemaOf(tt.typ, "T")
			require.Error(t, err, "%s cannot be described", tt.typ)
			assert.Contains(t, err.Error(), tt.want, "the error names the type and the field")
			assert.Empty(t, g.schemas, "a failed type leaves no component behind")
		})
	}
}

func TestReadableName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"User", "User"},
		{"Page[github.com/x/app.User]", "PageUser"},
		{"Page[[]github.com/x/app.User]", "PageUserList"},
		{"Pair[string,int]", "PairStringInt"},
		{"Box[map[string]*app.Item]", "BoxMapStringItem"},
		{"Wrap[app.Page[app.User]]", "WrapPageUser"},
		{"snake_case", "Snakecase"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, readableName(tt.in), "readable name of %s", tt.in)
	}
}

type collide struct {
	A int `json:"a"`
}

func TestComponentNamesDoNotCollide(t *testing.T) {
	g := newRegistry()
	g.byName["GenUser"] = nil // taken, as the standard components are
	s, err := g.schemaOf(reflect.TypeFor[genUser](), "T")
	require.NoError(t, err)
	assert.Equal(t, "#/components/schemas/OperationGenUser", s.Ref, "a taken name gets the package's name before it")
	s2, err := g.schemaOf(reflect.TypeFor[collide](), "T")
	require.NoError(t, err)
	assert.Equal(t, "#/components/schemas/Collide", s2.Ref)
}
