package envelope

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)

type item struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

type rawList []int

func (rawList) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }

func TestResponseMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"zero value", Response[int]{}, `{"data":0}`},
		{"struct data no meta", Response[item]{Data: item{ID: "1"}}, `{"data":{"id":"1"}}`},
		{"nil slice is an empty array", Response[[]item]{}, `{"data":[]}`},
		{"empty slice", Response[[]item]{Data: []item{}}, `{"data":[]}`},
		{"nil byte slice stays null", Response[[]byte]{}, `{"data":null}`},
		{"slice with its own marshaler", Response[rawList]{}, `{"data":"custom"}`},
		{"nil pointer", Response[*item]{}, `{"data":null}`},
		{"nil interface", Response[any]{}, `{"data":null}`},
		{"empty meta omitted", Response[int]{Data: 1, Meta: &Meta{}}, `{"data":1}`},
		{"pointer to response", &Response[int]{Data: 2}, `{"data":2}`},
		{
			"full meta",
			Response[[]int]{Data: []int{1}, Meta: &Meta{
				Pagination: &Pagination{Page: 2, PageSize: 10, Total: 11, TotalPages: 2},
				Cursor:     &Cursor{Next: ptr("c<2>"), HasMore: true},
				Timestamp:  testTime,
				RequestID:  "r\"1",
			}},
			`{"data":[1],"meta":{"pagination":{"page":2,"pageSize":10,"total":11,"totalPages":2},"cursor":{"next":"c\u003c2\u003e","hasMore":true},"timestamp":"2026-01-02T03:04:05.6Z","requestId":"r\"1"}}`,
		},
		{"cursor last page has next null", Response[int]{Meta: &Meta{Cursor: &Cursor{}}}, `{"data":0,"meta":{"cursor":{"next":null,"hasMore":false}}}`},
		{
			"error replaces data",
			Response[item]{Data: item{ID: "ignored"}, Error: &ErrorBody{Code: "NOT_FOUND", Message: "user not found"}, Meta: &Meta{RequestID: "r"}},
			`{"error":{"code":"NOT_FOUND","message":"user not found"},"meta":{"requestId":"r"}}`,
		},
		{
			"error details",
			Response[int]{Error: &ErrorBody{Code: "VALIDATION_ERROR", Message: "m", Details: map[string]any{"email": "bad"}}},
			`{"error":{"code":"VALIDATION_ERROR","message":"m","details":{"email":"bad"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			require.NoError(t, err, "marshal must succeed")
			assert.Equal(t, tt.want, string(got), "envelope JSON")
			assert.True(t, json.Valid(got), "output must be valid JSON")
		})
	}
}

func TestResponseMarshalJSONErrors(t *testing.T) {
	_, err := json.Marshal(Response[chan int]{Data: make(chan int)})
	var unsupported *json.UnsupportedTypeError
	assert.True(t, errors.As(err, &unsupported), "unencodable data must fail with the encoding/json error, got %v", err)

	_, err = json.Marshal(Response[int]{Error: &ErrorBody{Code: "X", Details: map[string]any{"f": func() {}}}})
	assert.Error(t, err, "unencodable details must fail")
}

func TestResponseRoundTrip(t *testing.T) {
	in := Response[[]item]{Data: []item{{ID: "1", Name: "a"}}, Meta: &Meta{
		Cursor:    &Cursor{Next: ptr("n")},
		Timestamp: testTime,
		RequestID: "rid",
	}}
	b, err := json.Marshal(in)
	require.NoError(t, err, "marshal")
	var out Response[[]item]
	require.NoError(t, json.Unmarshal(b, &out), "a Go client must be able to decode the envelope")
	assert.Equal(t, in.Data, out.Data, "data survives")
	require.NotNil(t, out.Meta, "meta survives")
	assert.True(t, in.Meta.Timestamp.Equal(out.Meta.Timestamp), "timestamp survives")
	assert.Equal(t, "n", *out.Meta.Cursor.Next, "cursor survives")
	assert.Nil(t, out.Error, "no error member")
}
