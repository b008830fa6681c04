package redisstore

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzInvalidation feeds arbitrary channel messages to the parser: it never
// panics, accepts what publish writes, and what it accepts encodes back to
// the same message.
func FuzzInvalidation(f *testing.F) {
	for _, seed := range []string{
		`{"o":"ab12","k":["user:1","user:2"]}`,
		`{"o":"x","k":[]}`,
		`{"k":["a"]}`,
		`not json`,
		``,
		`{"o":"a","k":"b"}`,
		`{"o":"\u0000","k":["\n"]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		inv, ok := parseInvalidation(payload)
		if !ok {
			assert.Empty(t, inv.Keys, "a rejected message names no keys")
			return
		}
		require.NotEmpty(t, inv.Origin, "an accepted message has an origin")
		b, err := json.Marshal(inv)
		require.NoError(t, err, "an accepted message encodes")
		again, ok := parseInvalidation(string(b))
		require.True(t, ok, "a re-encoded message is accepted")
		assert.Equal(t, inv.Origin, again.Origin, "origin survives a round trip")
		assert.Equal(t, len(inv.Keys), len(again.Keys), "keys survive a round trip")
	})
}

func TestParseInvalidation(t *testing.T) {
	tests := []struct {
		payload string
		ok      bool
		keys    []string
	}{
		{`{"o":"ab","k":["a","b"]}`, true, []string{"a", "b"}},
		{`{"k":["a"]}`, false, nil},
		{`garbage`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			inv, ok := parseInvalidation(tt.payload)
			assert.Equal(t, tt.ok, ok, "accepted")
			assert.Equal(t, tt.keys, inv.Keys, "keys")
		})
	}
}
