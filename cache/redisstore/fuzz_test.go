package redisstore

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/keyhash"
)

// FuzzInvalidation feeds arbitrary channel messages to the parser: it never
// panics, accepts what publish writes, and what it accepts encodes back to
// the same message.
func FuzzInvalidation(f *testing.F) {
	for _, seed := range []string{
		`{"o":"ab12","k":["user:1","user:2"]}`,
		`{"o":"ab12","k":0,"d":["` + keyhash.Sum("user:1") + `"]}`,
		`{"o":"x","k":[]}`,
		`{"o":"x","p":3}`,
		`{"k":["a"]}`,
		`not json`,
		``,
		`{"o":"a","k":"b"}`,
		`{"o":"a","k":0}`,
		`{"o":"\u0000","k":["\n"]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		inv, ok := parseInvalidation(payload)
		if !ok {
			assert.Empty(t, inv.Digests, "a rejected message names no keys")
			return
		}
		require.NotEmpty(t, inv.Origin, "an accepted message has an origin")
		for _, d := range inv.Digests {
			require.Len(t, d, keyhash.SumLen, "an accepted message names digests only")
		}
		b, err := inv.encode()
		require.NoError(t, err, "an accepted message encodes")
		again, ok := parseInvalidation(string(b))
		require.True(t, ok, "a re-encoded message is accepted")
		assert.Equal(t, inv.Origin, again.Origin, "origin survives a round trip")
		assert.Equal(t, inv.Probe, again.Probe, "probe survives a round trip")
		if inv.Probe == 0 {
			assert.Equal(t, inv.Digests, again.Digests, "digests survive a round trip")
		}
	})
}

func TestParseInvalidation(t *testing.T) {
	a, b := keyhash.Sum("a"), keyhash.Sum("b")
	tests := []struct {
		name    string
		payload string
		ok      bool
		digests []string
		probe   uint64
	}{
		{"digests", `{"o":"ab","k":0,"d":["` + a + `","` + b + `"]}`, true, []string{a, b}, 0},
		{"earlier version's keys", `{"o":"ab","k":["a","b"]}`, true, []string{a, b}, 0},
		{"earlier version, no keys", `{"o":"ab","k":[]}`, true, []string{}, 0},
		{"probe", `{"o":"ab","p":3}`, true, nil, 3},
		{"earlier version's probe", `{"o":"ab","k":null,"p":3}`, true, nil, 3},
		{"no digests", `{"o":"ab","k":0}`, false, nil, 0},
		{"not a digest", `{"o":"ab","k":0,"d":["a"]}`, false, nil, 0},
		{"nothing named", `{"o":"ab"}`, false, nil, 0},
		{"no origin", `{"k":["a"]}`, false, nil, 0},
		{"garbage", `garbage`, false, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, ok := parseInvalidation(tt.payload)
			assert.Equal(t, tt.ok, ok, "accepted")
			assert.Equal(t, tt.digests, inv.Digests, "digests")
			assert.Equal(t, tt.probe, inv.Probe, "probe")
		})
	}
}

// TestInvalidationEarlierReader decodes this version's messages as the
// version before it did (keys in clear under "k"): an invalidation fails to
// decode, which made that version drop all its local copies, and a probe
// decodes with no keys, as its own did.
func TestInvalidationEarlierReader(t *testing.T) {
	type earlier struct {
		Origin string   `json:"o"`
		Keys   []string `json:"k"`
		Probe  uint64   `json:"p,omitempty"`
	}
	tests := []struct {
		name    string
		inv     invalidation
		decodes bool
	}{
		{"invalidation", invalidation{Origin: "ab", Digests: []string{keyhash.Sum("user:alice@example.com")}}, false},
		{"no digests", invalidation{Origin: "ab"}, false},
		{"probe", invalidation{Origin: "ab", Probe: 7}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.inv.encode()
			require.NoError(t, err, "encode")
			var old earlier
			err = json.Unmarshal(msg, &old)
			if tt.decodes {
				require.NoError(t, err, "the earlier version reads %s", msg)
				assert.Empty(t, old.Keys, "and finds no keys")
				assert.Equal(t, tt.inv.Probe, old.Probe, "but its probe")
			} else {
				assert.Error(t, err, "the earlier version cannot read %s", msg)
			}
		})
	}
}
