package txn

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestJitter(t *testing.T) {
	lowest := func(n int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration
	}{
		{0, 5 * time.Millisecond, 10 * time.Millisecond},
		{1, 5 * time.Millisecond, 10 * time.Millisecond},
		{2, 10 * time.Millisecond, 20 * time.Millisecond},
		{3, 20 * time.Millisecond, 40 * time.Millisecond},
		{7, 320 * time.Millisecond, 640 * time.Millisecond},
		{8, 500 * time.Millisecond, time.Second},
		{70, 500 * time.Millisecond, time.Second},
		{1 << 30, 500 * time.Millisecond, time.Second},
	} {
		t.Run(strconv.Itoa(tc.failures), func(t *testing.T) {
			assert.Equal(t, tc.lo, jitter(10*time.Millisecond, time.Second, tc.failures, lowest), "lowest delay")
			assert.Equal(t, tc.hi-1, jitter(10*time.Millisecond, time.Second, tc.failures, highest), "highest delay")
		})
	}
	d := Options{}.delay(1)
	assert.True(t, d >= 5*time.Millisecond && d < 10*time.Millisecond, "default backoff after one failure: %v", d)
	assert.Equal(t, time.Minute, Options{Backoff: func(int) time.Duration { return time.Minute }}.delay(1), "Backoff overrides")
}

func TestMySQLNumber(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		ok   bool
	}{
		{"Error 1213 (40001): Deadlock found when trying to get lock", 1213, true},
		{"Error 1205: Lock wait timeout exceeded", 1205, true},
		{"Error 1213", 0, false},
		{"Error 1213 x", 0, false},
		{"Error : x", 0, false},
		{"Error -1213: x", 0, false},
		{"Error +1213: x", 0, false},
		{"Error 123456: x", 0, false},
		{"error 1213: x", 0, false},
		{"Error 12a3: x", 0, false},
		{"Error 01213: x", 0, false},
		{"Error 0: x", 0, true},
		{"", 0, false},
	} {
		n, ok := mysqlNumber(tc.text)
		assert.Equal(t, tc.ok, ok, "mysqlNumber(%q) ok", tc.text)
		assert.Equal(t, tc.n, n, "mysqlNumber(%q) number", tc.text)
	}
}

func FuzzMySQLNumber(f *testing.F) {
	for _, s := range []string{"Error 1213 (40001): x", "Error 1205: y", "Error 0: z", "Error 99999 (", "Error  1:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n, ok := mysqlNumber(text)
		if !ok {
			return
		}
		if n < 0 || n > 99999 {
			t.Fatalf("mysqlNumber(%q) = %d out of range", text, n)
		}
		if p := "Error " + strconv.Itoa(n); !strings.HasPrefix(text, p+": ") && !strings.HasPrefix(text, p+" (") {
			t.Fatalf("mysqlNumber(%q) = %d, not the number after \"Error \"", text, n)
		}
	})
}
