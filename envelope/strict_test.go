package envelope

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
)

type deposit struct {
	Amount int               `json:"amount"`
	Note   string            `json:"note"`
	Inner  *inner            `json:"inner"`
	Items  []inner           `json:"items"`
	Labels map[string]string `json:"labels"`
	Any    any               `json:"any"`
	When   time.Time         `json:"when"`
	embedded
}

type inner struct {
	Name string `json:"name"`
}

type embedded struct {
	Tag string `json:"tag"`
}

// TestDecodeStrict covers issue 19 items 1 and 5: what encoding/json
// accepts silently and Decode must refuse.
func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		details map[string]any // nil: accepted
	}{
		{"plain", `{"amount":1,"note":"hi","inner":{"name":"x"},"tag":"t"}`, nil},
		{"escaped name is the same name", `{"amount":1,"not\u0065":"x"}`, nil},
		{"escaped surrogate pair", `{"note":"\ud83d\ude00"}`, nil},
		{"raw multibyte", `{"note":"żółw 😀"}`, nil},
		{"escaped backslash before u0000 text", `{"note":"\\u0000"}`, nil},
		{"same name in different objects", `{"inner":{"name":"a"},"items":[{"name":"b"},{"name":"c"}]}`, nil},
		{"map keys differing by case", `{"labels":{"a":"1","A":"2"}}`, nil},
		{"time value", `{"when":"2026-01-02T03:04:05Z"}`, nil},
		{"duplicate", `{"amount":1,"amount":2}`, map[string]any{"field": "amount", "offset": 12.0}},
		{"duplicate through an escape", `{"amount":1,"\u0061mount":2}`, map[string]any{"field": "amount", "offset": 12.0}},
		{"differs by case", `{"AMOUNT":2}`, map[string]any{"field": "AMOUNT", "offset": 1.0}},
		{"differs by case after the field", `{"amount":1,"Amount":2}`, map[string]any{"field": "Amount", "offset": 12.0}},
		{"Kelvin sign is an unknown field", `{"tag":"x","ta\u212A":"y"}`, map[string]any{"field": "ta\u212A"}},
		{"differs by case in embedded field", `{"TAG":"x"}`, map[string]any{"field": "TAG", "offset": 1.0}},
		{"differs by case in nested object", `{"inner":{"NAME":"x"}}`, map[string]any{"field": "NAME", "offset": 10.0}},
		{"differs by case in array element", `{"items":[{"name":"a"},{"Name":"b"}]}`, map[string]any{"field": "Name", "offset": 24.0}},
		{"duplicate map key", `{"labels":{"a":"1","a":"2"}}`, map[string]any{"field": "a", "offset": 19.0}},
		{"duplicate inside any", `{"any":{"x":1,"x":2}}`, map[string]any{"field": "x", "offset": 14.0}},
		{"NUL escape", `{"note":"a\u0000b"}`, map[string]any{"field": "note", "offset": 8.0}},
		{"NUL escape upper case", `{"note":"\U0000"}`, nil /* not an escape: malformed, see below */},
		{"NUL in a name", `{"labels":{"a\u0000":"1"}}`, map[string]any{"field": "labels", "offset": 11.0}},
		{"raw invalid UTF-8", "{\"note\":\"a\xffb\"}", map[string]any{"field": "note", "offset": 8.0}},
		{"truncated UTF-8", "{\"note\":\"\xc3(\"}", map[string]any{"field": "note", "offset": 8.0}},
		{"lone high surrogate", `{"note":"\ud800"}`, map[string]any{"field": "note", "offset": 8.0}},
		{"lone low surrogate", `{"note":"\udc00x"}`, map[string]any{"field": "note", "offset": 8.0}},
		{"high surrogate then non-surrogate", `{"note":"\ud800\u0041"}`, map[string]any{"field": "note", "offset": 8.0}},
		{"invalid UTF-8 in an array", "{\"items\":[{\"name\":\"\xff\"}]}", map[string]any{"field": "name", "offset": 18.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode[deposit](jsonRequest(tt.body, "application/json"))
			if tt.details == nil {
				if tt.name == "NUL escape upper case" {
					require.Error(t, err, "\\U is no JSON escape")
					return
				}
				require.NoError(t, err, "accepted")
				return
			}
			var e *errkind.Error
			require.ErrorAs(t, err, &e, "refused with an *errkind.Error")
			assert.Equal(t, 400, e.HTTPStatus(), "status")
			assert.Equal(t, CodeBadRequest, e.ErrorCode(), "code")
			rec := httptest.NewRecorder()
			require.NoError(t, WriteError(rec, httptest.NewRequest("POST", "/", nil), err), "render")
			assert.Equal(t, tt.details, decodeBody(t, rec)["error"].(map[string]any)["details"], "details name the member")
		})
	}
}

func TestDecodeStrictManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 5000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i) + `":1`)
	}
	body := b.String()
	_, err := Decode[map[string]int](jsonRequest(body+"}", "application/json"))
	require.NoError(t, err, "5000 distinct keys")
	_, err = Decode[map[string]int](jsonRequest(body+`,"ka0":2}`, "application/json"))
	var e *errkind.Error
	require.ErrorAs(t, err, &e, "a duplicate after many members is found")
	assert.Equal(t, "ka0", e.Details["field"], "the duplicate is named")
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for ; i > 0; i /= 10 {
		s = append([]byte{byte('0' + i%10)}, s...)
	}
	return string(s)
}

func TestQuery(t *testing.T) {
	tests := []struct {
		raw   string
		want  url.Values
		param string // named in details when refused
	}{
		{"", url.Values{}, ""},
		{"page=2&pageSize=10", url.Values{"page": {"2"}, "pageSize": {"10"}}, ""},
		{"a=1&a=2&b", url.Values{"a": {"1", "2"}, "b": {""}}, ""},
		{"q=a+b%20c&&x=%C5%BC", url.Values{"q": {"a b c"}, "x": {"ż"}}, ""},
		{"page=1;pageSize=2", nil, "page"},
		{"page=2&orderBy=name;drop", nil, "orderBy"},
		{"a%3Bb=1", url.Values{"a;b": {"1"}}, ""},
		{"q=%zz", nil, "q"},
		{"%zz=1", nil, "%zz"},
		{"q=%00", nil, "q"},
		{"q=%ff", nil, "q"},
		{"q=%c3%28", nil, "q"},
		{"%00=1", nil, "%00"},
		{"%ff", nil, "%ff"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.RawQuery = tt.raw
			got, err := Query(r)
			if tt.param == "" {
				require.NoError(t, err, "parses")
				assert.Equal(t, tt.want, got, "values")
				return
			}
			var e *errkind.Error
			require.ErrorAs(t, err, &e, "refused")
			assert.Equal(t, 400, e.HTTPStatus(), "status")
			assert.Equal(t, CodeBadRequest, e.ErrorCode(), "code")
			assert.Equal(t, tt.param, e.Details["param"], "the parameter is named")
			if _, stdErr := url.ParseQuery(tt.raw); stdErr == nil {
				assert.Regexp(t, `%00|%ff|%c3`, tt.raw, "url.ParseQuery accepts only NUL and invalid UTF-8 of the refused cases")
			}
		})
	}
}

func TestPathValue(t *testing.T) {
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"/items/abc", "abc", true},
		{"/items/%C5%BC", "ż", true},
		{"/items/a%00b", "", false},
		{"/items/%ff", "", false},
		{"/items/%c3%28", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			mux := http.NewServeMux()
			var got string
			var err error
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { got, err = PathValue(r, "id") })
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.path, nil))
			if tt.ok {
				require.NoError(t, err, "accepted")
				assert.Equal(t, tt.want, got, "value")
				return
			}
			var e *errkind.Error
			require.ErrorAs(t, err, &e, "refused")
			assert.Equal(t, 400, e.HTTPStatus(), "status")
			assert.Equal(t, "id", e.Details["param"], "the parameter is named")
		})
	}
}

// FuzzQuery: Query never panics; it accepts exactly what url.ParseQuery
// accepts, minus NUL and invalid UTF-8, with the same values; a refusal is
// a 400 naming a parameter that is valid UTF-8.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"", "a=1", "a=1;b=2", "q=%zz", "%ff=1", "a=%00", "a&&b=&=c", "x=%C5%BC+y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := parseQuery(raw)
		want, stdErr := url.ParseQuery(raw)
		if err != nil {
			var e *errkind.Error
			if !errors.As(err, &e) || e.HTTPStatus() != 400 {
				t.Fatalf("refusal %v is not a 400 *errkind.Error", err)
			}
			p, _ := e.Details["param"].(string)
			if !cleanText(p) {
				t.Fatalf("parameter %q is not clean text", p)
			}
			return
		}
		if stdErr != nil {
			t.Fatalf("accepted %q which url.ParseQuery refuses: %v", raw, stdErr)
		}
		for k, vs := range got {
			if !cleanText(k) {
				t.Fatalf("name %q accepted", k)
			}
			for _, v := range vs {
				if !cleanText(v) {
					t.Fatalf("value %q accepted", v)
				}
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, url.ParseQuery %v", got, want)
		}
		for k := range want {
			if strings.Join(got[k], "\x00") != strings.Join(want[k], "\x00") {
				t.Fatalf("got %v, url.ParseQuery %v", got, want)
			}
		}
	})
}

// FuzzDecodeStrict: every string Decode accepts is valid UTF-8 without
// NUL, whatever the body.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"note":"a"}`, `{"note":"\ud800"}`, `{"labels":{"a":"1","a":"2"}}`, "{\"note\":\"\xff\"}", `{"any":["\u0000"]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := DecodeWithOptions[deposit](jsonRequest(body, "application/json"), DecodeOptions{MaxBytes: 4096})
		if err != nil {
			return
		}
		check := func(s string) {
			if !cleanText(s) {
				t.Fatalf("accepted string %q from %q", s, body)
			}
		}
		check(v.Note)
		check(v.Tag)
		for k, x := range v.Labels {
			check(k)
			check(x)
		}
		for _, it := range v.Items {
			check(it.Name)
		}
		if v.Inner != nil {
			check(v.Inner.Name)
		}
	})
}
