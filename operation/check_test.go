package operation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/repository"
)

// checkAll is a body of every kind the checker knows: each JSON type, the
// rules of every tag, nullable and optional members, nested objects,
// arrays, maps, recursion, an Enum type and the special types.
type checkAll struct {
	Email   string                      `json:"email" format:"email"`
	Name    string                      `json:"name" minLength:"1" maxLength:"5" pattern:"^[A-Za-z ]+$"`
	Age     int32                       `json:"age" minimum:"0" maximum:"150"`
	Ratio   float64                     `json:"ratio,omitempty" exclusiveMinimum:"0" exclusiveMaximum:"1"`
	Step    int                         `json:"step,omitempty" multipleOf:"5"`
	Count   uint8                       `json:"count,omitempty"`
	Active  bool                        `json:"active,omitempty"`
	Nick    *string                     `json:"nick,omitempty" maxLength:"3"`
	Tags    []string                    `json:"tags,omitempty" maxItems:"2" uniqueItems:"true" enum:"a,b,c"`
	Scores  map[string]int              `json:"scores,omitempty" maximum:"10"`
	When    time.Time                   `json:"when,omitzero"`
	Day     string                      `json:"day,omitempty" format:"date"`
	ID      string                      `json:"id,omitempty" format:"uuid"`
	Site    string                      `json:"site,omitempty" format:"uri"`
	IP      string                      `json:"ip,omitempty" format:"ipv4"`
	Blob    []byte                      `json:"blob,omitempty"`
	Raw     json.RawMessage             `json:"raw,omitempty"`
	Dir     genDirection                `json:"dir,omitempty"`
	Tree    *genNode                    `json:"tree,omitempty"`
	Patch   repository.Optional[string] `json:"patch" minLength:"2"`
	Address *struct {
		City string `json:"city" minLength:"1"`
	} `json:"address,omitempty"`
}

// compileFor compiles the schema of t as Handle does.
func compileFor(t testing.TB, typ reflect.Type) *node {
	t.Helper()
	g := newRegistry()
	s, err := g.schemaOf(typ, "T")
	require.NoError(t, err)
	n, err := newCompiler(g.schemas).compile(s)
	require.NoError(t, err)
	return n
}

type loc struct{ location, reason string }

func locs(vs []errkind.Violation) []loc {
	out := []loc{}
	for _, v := range vs {
		out = append(out, loc{v.Location, v.Reason})
	}
	return out
}

const validAll = `{"email":"ada@example.com","name":"Ada","age":36,"patch":"ok"}`

func TestCheckBody(t *testing.T) {
	n := compileFor(t, reflect.TypeFor[checkAll]())
	tests := []struct {
		name string
		body string
		want []loc
	}{
		{"valid", validAll, []loc{}},
		{"valid with every optional member", `{"email":"a@b.co","name":"Ada","age":0,"ratio":0.5,"step":10,"count":255,"active":true,"nick":null,` +
			`"tags":["a","b"],"scores":{"x":10},"when":"2026-01-02T03:04:05Z","day":"2026-01-02","id":"0190d4a4-3c7e-7b2a-9c1d-000000000000",` +
			`"site":"https://example.com/x","ip":"127.0.0.1","blob":"aGk=","raw":{"any":[1,{"x":null}]},"dir":"asc",` +
			`"tree":{"value":1,"children":[{"value":2,"children":[]},null]},"patch":"ok","address":{"city":"Oslo"}}`, []loc{}},
		{"every required member missing", `{}`, []loc{
			{"/body/email", "required"}, {"/body/name", "required"}, {"/body/age", "required"}}},
		{"every rule at once", `{"email":"nope","name":"Ada Lovelace!","age":151,"ratio":1,"step":7,"count":256,"nick":"long",` +
			`"tags":["a","a","d"],"scores":{"x":11},"when":"yesterday","day":"2026-13-01","id":"x","site":"relative/path",` +
			`"ip":"::1","blob":"!!","dir":"up","patch":"x","address":{}}`, []loc{
			{"/body/email", "format"},
			{"/body/name", "maxLength"}, {"/body/name", "pattern"},
			{"/body/age", "maximum"},
			{"/body/ratio", "exclusiveMaximum"},
			{"/body/step", "multipleOf"},
			{"/body/count", "maximum"},
			{"/body/nick", "maxLength"},
			{"/body/tags/2", "enum"}, {"/body/tags", "maxItems"}, {"/body/tags", "uniqueItems"},
			{"/body/scores/x", "maximum"},
			{"/body/when", "format"},
			{"/body/day", "format"},
			{"/body/id", "format"},
			{"/body/site", "format"},
			{"/body/ip", "format"},
			{"/body/blob", "contentEncoding"},
			{"/body/dir", "enum"},
			{"/body/patch", "minLength"},
			{"/body/address/city", "required"},
		}},
		{"wrong types", `{"email":1,"name":["x"],"age":"36","active":"yes","tags":"a","scores":[],"tree":{"value":1.5,"children":{}},"patch":2}`, []loc{
			{"/body/email", "type"}, {"/body/name", "type"}, {"/body/age", "type"}, {"/body/active", "type"},
			{"/body/tags", "type"}, {"/body/scores", "type"},
			{"/body/tree/value", "type"}, {"/body/tree/children", "type"},
			{"/body/patch", "type"},
		}},
		{"null where refused", `{"email":null,"name":"Ada","age":null,"patch":null,"tags":null}`, []loc{
			{"/body/email", "null"}, {"/body/age", "null"}, {"/body/patch", "null"}, {"/body/tags", "null"}}},
		{"integer overflow", `{"email":"a@b.co","name":"Ada","age":2147483648,"patch":"ok","step":99999999999999999999}`, []loc{
			{"/body/age", "format"}, {"/body/step", "format"}}},
		{"unknown and case-folded members", `{"email":"a@b.co","NAME":"Ada","age":1,"patch":"ok","extra":{"deep":[1]},"address":{"city":"x","zip":1}}`, []loc{
			{"/body/NAME", "additionalProperties"}, {"/body/extra", "additionalProperties"}, {"/body/address/zip", "additionalProperties"},
			{"/body/name", "required"}}},
		{"repeated member", `{"email":"a@b.co","name":"Ada","age":1,"age":2,"patch":"ok"}`, []loc{{"/body/age", "duplicate"}}},
		{"escaped names and values", `{"em\u0061il":"a@b.co","name":"\u0041da","age":1,"patch":"\u00e9\u00e9"}`, []loc{}},
		{"pointer escapes", `{"email":"a@b.co","name":"Ada","age":1,"patch":"ok","scores":{"a/b~c":11}}`, []loc{{"/body/scores/a~1b~0c", "maximum"}}},
		{"lengths count characters, not bytes", `{"email":"a@b.co","name":"Ada","age":1,"patch":"é"}`, []loc{{"/body/patch", "minLength"}}},
		{"top-level type", `[1,2]`, []loc{{"/body", "type"}}},
		{"top-level null", `null`, []loc{{"/body", "null"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := locs(checkBody(n, []byte(tt.body)))
			assert.Equal(t, tt.want, got, "violations of %s", tt.body)
		})
	}
}

// TestCheckBodyLeavesMalformedToTheDecoder: text that is not one JSON
// value gets no violations, whatever it breaks before the fault, so that
// envelope's decoder answers with the syntax error.
func TestCheckBodyLeavesMalformedToTheDecoder(t *testing.T) {
	n := compileFor(t, reflect.TypeFor[checkAll]())
	for _, body := range []string{
		``, ` `, `{`, `{"email":1,`, `{"email":1}}`, `{"email":1} {}`, `{"age":01}`, `{"age":1.}`, `{"age":-}`, `{"age":1e}`,
		`{"name":"a` + "\x01" + `"}`, `{"name":"\x"}`, `{"name":"\u12"}`, `{"age":tru}`, `{'a':1}`, `{"a" 1}`, `[1 2]`, `{"a":1,}`,
		strings.Repeat("[", maxDepth+10) + strings.Repeat("]", maxDepth+10),
	} {
		assert.Nil(t, checkBody(n, []byte(body)), "no violations for malformed %.40q", body)
	}
}

func TestCheckBodyCapsViolations(t *testing.T) {
	n := compileFor(t, reflect.TypeFor[[]string]())
	body := "[" + strings.Repeat("1,", 500) + "1]"
	assert.Len(t, checkBody(n, []byte(body)), maxViolations, "at most maxViolations are reported")
}

// TestCheckAgreesWithDecoder holds the checker to encoding/json: a body it
// passes decodes into the type without a type error or an unknown member.
func TestCheckAgreesWithDecoder(t *testing.T) {
	n := compileFor(t, reflect.TypeFor[checkAll]())
	for _, body := range []string{
		validAll,
		`{"email":"a@b.co","name":"Ada","age":1,"patch":"ok","count":255,"step":-5,"when":"2026-01-02T03:04:05.123+02:00"}`,
	} {
		require.Empty(t, checkBody(n, []byte(body)), "the checker passes %s", body)
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		var v checkAll
		assert.NoError(t, dec.Decode(&v), "encoding/json decodes what the checker passes: %s", body)
	}
}

// benchSignup is the body of ten members with rules of benchmarks/'s
// BenchmarkValidate, where huma checks it too.
type benchSignup struct {
	Email      string   `json:"email" format:"email" maxLength:"254"`
	Name       string   `json:"name" minLength:"1" maxLength:"100"`
	Password   string   `json:"password" minLength:"12" maxLength:"128"`
	Age        int      `json:"age" minimum:"13" maximum:"150"`
	Country    string   `json:"country" pattern:"^[A-Z]{2}$"`
	Plan       string   `json:"plan" enum:"free,pro,team"`
	Seats      int      `json:"seats" minimum:"1" maximum:"1000"`
	Tags       []string `json:"tags" maxItems:"10"`
	Website    string   `json:"website" format:"uri"`
	Newsletter bool     `json:"newsletter"`
}

// BenchmarkCheckBody is the check of a body against its schema alone,
// from its bytes, as Handle runs it before decoding: a valid body and one
// that breaks a rule of each of its ten members.
func BenchmarkCheckBody(b *testing.B) {
	n := compileFor(b, reflect.TypeFor[benchSignup]())
	for _, body := range []struct {
		name, text string
		violations int
	}{
		{"valid", `{"email":"ada@example.com","name":"Ada Lovelace","password":"correct horse battery",` +
			`"age":36,"country":"GB","plan":"pro","seats":5,"tags":["math","engines"],` +
			`"website":"https://example.com/ada","newsletter":true}`, 0},
		{"invalid", `{"email":"ada","name":"","password":"short",` +
			`"age":7,"country":"gb","plan":"gold","seats":0,"tags":["1","2","3","4","5","6","7","8","9","10","11"],` +
			`"website":"://nope","newsletter":"yes"}`, 10},
	} {
		b.Run("body="+body.name, func(b *testing.B) {
			data := []byte(body.text)
			b.ReportAllocs()
			for b.Loop() {
				if vs := checkBody(n, data); len(vs) != body.violations {
					b.Fatalf("%d violations: %v", len(vs), vs)
				}
			}
		})
	}
}
