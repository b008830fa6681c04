package repository_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/repository"
)

func TestNewUUIDv7(t *testing.T) {
	u := repository.NewUUIDv7()
	assert.Equal(t, uuid.Version(7), u.Version(), "version nibble")
	assert.Equal(t, uuid.RFC4122, u.Variant(), "RFC 9562 variant bits")
	// Issue 17 item 7: ids made back to back never go out of order.
	prev := repository.NewUUIDv7()
	for i := range 200_000 {
		next := repository.NewUUIDv7()
		if bytes.Compare(prev[:], next[:]) >= 0 {
			t.Fatalf("id %d (%s) does not sort after %s", i, next, prev)
		}
		prev = next
	}
}

func TestUUIDText(t *testing.T) {
	u := repository.NewUUIDv7()
	back, err := uuid.Parse(u.String())
	require.NoError(t, err, "parse own output")
	assert.Equal(t, u, back, "round trip")
	j, err := json.Marshal(u)
	require.NoError(t, err, "json")
	var fromJSON repository.UUID
	require.NoError(t, json.Unmarshal(j, &fromJSON), "json back")
	assert.Equal(t, u, fromJSON, "json round trip")
	v, err := u.Value()
	require.NoError(t, err, "Value")
	assert.Equal(t, u.String(), v, "stored as text")
	for name, src := range map[string]any{"string": u.String(), "text bytes": []byte(u.String()), "raw bytes": u[:]} {
		var got repository.UUID
		require.NoError(t, got.Scan(src), "scan %s", name)
		assert.Equal(t, u, got, "scan %s", name)
	}
	var got repository.UUID
	assert.Error(t, got.Scan(42), "an int is not a uuid")
	assert.Error(t, got.Scan([]byte("short")), "short bytes are not a uuid")
}
