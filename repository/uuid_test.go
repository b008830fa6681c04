package repository

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUUIDv7Layout(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 500_000, time.UTC)
	u := UUIDv7At(at)
	assert.Equal(t, 7, u.Version(), "version nibble")
	assert.Equal(t, byte(0x80), u[8]&0xc0, "RFC 9562 variant bits")
	assert.Equal(t, at.Truncate(time.Millisecond), u.Time(), "the timestamp is the millisecond")
	assert.Equal(t, uint16(2048), (uint16(u[6]&0x0f)<<8 | uint16(u[7])), "half a millisecond is half the 12-bit fraction")
	assert.NotEqual(t, u, UUIDv7At(at), "random bits differ between ids")

	prev := UUIDv7At(at)
	for i := 1; i < 200; i++ {
		next := UUIDv7At(at.Add(time.Duration(i) * 300 * time.Nanosecond))
		assert.Negative(t, compareUUID(prev, next), "ids %d ns apart sort in time order", 300)
		prev = next
	}
}

func compareUUID(a, b UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestUUIDText(t *testing.T) {
	u := NewUUIDv7()
	s := u.String()
	require.Len(t, s, 36, "canonical length")
	back, err := ParseUUID(s)
	require.NoError(t, err, "parse own output")
	assert.Equal(t, u, back, "round trip")
	upper, err := ParseUUID("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B")
	require.NoError(t, err, "upper case parses")
	assert.Equal(t, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", upper.String(), "printed lower case")
	for _, bad := range []string{"", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", "0190a1b2_c3d4-7e5f-8a9b-0c1d2e3f4a5b"} {
		_, err := ParseUUID(bad)
		assert.Error(t, err, "ParseUUID(%q)", bad)
	}
	j, err := json.Marshal(u)
	require.NoError(t, err, "json")
	var fromJSON UUID
	require.NoError(t, json.Unmarshal(j, &fromJSON), "json back")
	assert.Equal(t, u, fromJSON, "json round trip")
}

func TestUUIDScanValue(t *testing.T) {
	u := NewUUIDv7()
	v, err := u.Value()
	require.NoError(t, err, "Value")
	assert.Equal(t, u.String(), v, "stored as text")
	for name, src := range map[string]any{"string": u.String(), "text bytes": []byte(u.String()), "raw bytes": u[:], "array": [16]byte(u)} {
		var got UUID
		require.NoError(t, got.Scan(src), "scan %s", name)
		assert.Equal(t, u, got, "scan %s", name)
	}
	var got UUID
	assert.Error(t, got.Scan(42), "an int is not a uuid")
	assert.Error(t, got.Scan([]byte("short")), "short bytes are not a uuid")
}
