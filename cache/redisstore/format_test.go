package redisstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

type framed struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func TestEntryFormatRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		entry cache.Entry[framed]
	}{
		{"value", cache.Entry[framed]{Value: framed{ID: 1, Name: "alice"}}},
		{"zero value", cache.Entry[framed]{}},
		{"refresh time", cache.Entry[framed]{Value: framed{ID: 2}, RefreshAt: 1_790_000_000_000_000_000}},
		{"negative refresh time", cache.Entry[framed]{RefreshAt: -1}},
		{"not found", cache.Entry[framed]{NotFound: true, RefreshAt: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendEntry(nil, tt.entry, 42, JSON{})
			require.NoError(t, err, "encode")
			got, lease, err := decodeEntry[framed](b, JSON{})
			require.NoError(t, err, "decode")
			assert.Zero(t, lease, "an entry is not a lease")
			want := tt.entry
			want.Version = 42
			assert.Equal(t, want, got, "round trip")
		})
	}
	got, lease, err := decodeEntry[framed](appendLease(nil, 7), JSON{})
	require.NoError(t, err, "decode a lease")
	assert.Equal(t, uint64(7), lease, "lease token")
	assert.Zero(t, got, "no entry in a lease")
}

// TestEntryFormatStable decodes bytes written by format 1 as it was first
// released: a later version of this package must still read them (or move
// to a new first byte).
func TestEntryFormatStable(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want cache.Entry[framed]
	}{
		{"value", "\xe2\x00\x00\x00\x00\x00\x00\x00\x00\x2a\x00" + `{"id":7,"name":"ada"}`,
			cache.Entry[framed]{Value: framed{ID: 7, Name: "ada"}, Version: 42}},
		{"value with refresh time", "\xe2\x00\x00\x00\x00\x00\x00\x00\x01\x00\x14" + `{"id":1,"name":""}`,
			cache.Entry[framed]{Value: framed{ID: 1}, Version: 256, RefreshAt: 10}},
		{"not found", "\xe2\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00",
			cache.Entry[framed]{NotFound: true, Version: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lease, err := decodeEntry[framed]([]byte(tt.raw), JSON{})
			require.NoError(t, err, "format 1 decodes")
			assert.Zero(t, lease, "not a lease")
			assert.Equal(t, tt.want, got, "decoded entry")
			b, err := appendEntry(nil, got, got.Version, JSON{})
			require.NoError(t, err, "encode")
			assert.Equal(t, tt.raw, string(b), "encodes to the same bytes")
		})
	}
	_, lease, err := decodeEntry[framed]([]byte("\xe3\x00\x00\x00\x00\x00\x00\x00\x09"), JSON{})
	require.NoError(t, err, "a format 1 lease decodes")
	assert.Equal(t, uint64(9), lease, "lease token")
}

// FuzzDecodeEntry decodes arbitrary bytes read from Redis: never a panic;
// what decodes encodes back to bytes that decode the same.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range []cache.Entry[framed]{{Value: framed{ID: 1, Name: "a"}}, {NotFound: true, RefreshAt: 99}} {
		b, err := appendEntry(nil, e, 5, JSON{})
		require.NoError(f, err, "seed")
		f.Add(b)
	}
	f.Add(appendLease(nil, 9))
	f.Add([]byte{})
	f.Add([]byte{entryMagic})
	f.Add([]byte{0xE1, 0, 0, '1'})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, lease, err := decodeEntry[framed](data, JSON{})
		if err != nil || lease != 0 {
			return
		}
		require.NotZero(t, e.Version, "a decoded entry has a version")
		b, err := appendEntry(nil, e, e.Version, JSON{})
		require.NoError(t, err, "re-encode")
		again, _, err := decodeEntry[framed](b, JSON{})
		require.NoError(t, err, "decode again")
		assert.Equal(t, e, again, "stable round trip")
	})
}
