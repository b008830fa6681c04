package cache_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

// jsonCodec is encoding/json as a cache.Codec.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// failingCodec fails to encode.
type failingCodec struct{ err error }

func (c failingCodec) Marshal(any) ([]byte, error) { return nil, c.err }
func (c failingCodec) Unmarshal([]byte, any) error { return c.err }

type framed struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func TestEntryFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		entry cache.Entry[framed]
	}{
		{"value", cache.Entry[framed]{Value: framed{ID: 1, Name: "alice"}}},
		{"zero value", cache.Entry[framed]{}},
		{"value with refresh time", cache.Entry[framed]{Value: framed{ID: 2}, RefreshAt: 1_790_000_000_000_000_000}},
		{"negative refresh time", cache.Entry[framed]{Value: framed{ID: 3}, RefreshAt: -1}},
		{"largest refresh time", cache.Entry[framed]{RefreshAt: math.MaxInt64}},
		{"not found placeholder", cache.Entry[framed]{Missing: 1}},
		{"declared not-found placeholder", cache.Entry[framed]{Missing: 255, RefreshAt: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.entry.AppendFrame([]byte("prefix"), jsonCodec{})
			require.NoError(t, err, "encode")
			require.Equal(t, "prefix", string(b[:6]), "appended to b")
			var got cache.Entry[framed]
			got.Value.Name = "stale" // every field is overwritten
			require.NoError(t, got.UnmarshalFrame(b[6:], jsonCodec{}), "decode")
			assert.Equal(t, tt.entry, got, "round trip")
		})
	}
}

func TestEntryFrameMalformed(t *testing.T) {
	valid, err := cache.Entry[framed]{Value: framed{ID: 1}}.AppendFrame(nil, jsonCodec{})
	require.NoError(t, err, "encode")
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header only", valid[:2]},
		{"json from before frames", []byte(`{"v":{"id":1}}`)},
		{"other version", append([]byte{0xE2}, valid[1:]...)},
		{"truncated varint", []byte{0xE1, 0, 0x80}},
		{"placeholder with a value", []byte{0xE1, 1, 0, '{', '}'}},
		{"value that does not decode", []byte{0xE1, 0, 0, '{'}},
		{"no value", []byte{0xE1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e cache.Entry[framed]
			assert.Error(t, e.UnmarshalFrame(tt.data, jsonCodec{}), "rejected")
		})
	}
}

func TestEntryFrameMarshalError(t *testing.T) {
	boom := errors.New("boom")
	_, err := cache.Entry[framed]{}.AppendFrame(nil, failingCodec{boom})
	assert.ErrorIs(t, err, boom, "the codec's error is returned")
}

// A remote store keeps an Entry as a three-byte header (version, Missing,
// RefreshAt as a varint) followed by the value as its codec encodes it.
func ExampleEntry_AppendFrame() {
	e := cache.Entry[framed]{Value: framed{ID: 7, Name: "ada"}}
	b, _ := e.AppendFrame(nil, jsonCodec{})
	fmt.Printf("% x | %s\n", b[:3], b[3:])

	var got cache.Entry[framed]
	_ = got.UnmarshalFrame(b, jsonCodec{})
	fmt.Println(got.Value.Name)

	placeholder, _ := cache.Entry[framed]{Missing: 1}.AppendFrame(nil, jsonCodec{})
	fmt.Printf("% x\n", placeholder)
	// Output:
	// e1 00 00 | {"id":7,"name":"ada"}
	// ada
	// e1 01 00
}

// FuzzEntryFrame decodes arbitrary bytes as a stored entry: it never panics,
// and what decodes encodes back to bytes that decode to the same entry.
func FuzzEntryFrame(f *testing.F) {
	for _, e := range []cache.Entry[framed]{{Value: framed{ID: 1, Name: "a"}}, {Missing: 2, RefreshAt: 99}} {
		b, err := e.AppendFrame(nil, jsonCodec{})
		require.NoError(f, err, "seed")
		f.Add(b)
	}
	f.Add([]byte{0xE1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e cache.Entry[framed]
		if err := e.UnmarshalFrame(data, jsonCodec{}); err != nil {
			return
		}
		b, err := e.AppendFrame(nil, jsonCodec{})
		require.NoError(t, err, "re-encode")
		var again cache.Entry[framed]
		require.NoError(t, again.UnmarshalFrame(b, jsonCodec{}), "decode the re-encoding")
		assert.Equal(t, e, again, "stable")
	})
}
