package envelope

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendMeta holds the hand-written meta member to what encoding/json
// writes for the same Meta.
func TestAppendMeta(t *testing.T) {
	next := "c<2>&\u2028\"x\"\xff"
	zone := time.FixedZone("", -(3*3600 + 30*60))
	tests := []struct {
		name string
		meta Meta
	}{
		{"empty", Meta{}},
		{"timestamp and id", Meta{Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), RequestID: "req-1"}},
		{"offset zone, whole seconds", Meta{Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, zone)}},
		{"id needing escapes", Meta{RequestID: "a\"b\\c\n\t\x01<script>&\u2029\xfe"}},
		{"pagination", Meta{Pagination: &Pagination{Page: 2, PageSize: 10, Total: -1, TotalPages: 1 << 40}}},
		{"last cursor", Meta{Cursor: &Cursor{}}},
		{"cursor", Meta{Cursor: &Cursor{Next: &next, HasMore: true}, RequestID: "r"}},
		{"everything", Meta{
			Pagination: &Pagination{Page: 1, PageSize: 1, Total: 1, TotalPages: 1},
			Cursor:     &Cursor{Next: &next},
			Timestamp:  time.Unix(0, 1).UTC(),
			RequestID:  "id",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(dataDoc{Data: 1, Meta: metaOrNil(&tt.meta)})
			require.NoError(t, err, "encoding/json encodes the reference")
			b, err := appendMetaMember([]byte(`{"data":1`), &tt.meta)
			require.NoError(t, err, "appendMetaMember")
			assert.Equal(t, string(want), string(append(b, '}')), "same bytes as encoding/json")
		})
	}
}

// TestWriteTimestampOutOfRange: a timestamp encoding/json cannot encode
// fails Write with encoding/json's error, answered with a 500.
func TestWriteTimestampOutOfRange(t *testing.T) {
	meta := &Meta{Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, want := json.Marshal(meta.Timestamp)
	require.Error(t, want, "encoding/json refuses the year 10000")
	rec := httptest.NewRecorder()
	err := Write(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, "x", meta)
	require.Error(t, err, "Write fails")
	assert.Equal(t, "envelope: encode data: "+want.Error(), err.Error(), "encoding/json's error, wrapped")
	assert.Equal(t, http.StatusInternalServerError, rec.Code, "answered with a 500")
}

// FuzzAppendString: appendString escapes every string exactly as
// encoding/json does.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xc3(", "żółw 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
