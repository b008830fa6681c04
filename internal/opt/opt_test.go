package opt_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/internal/opt"
)

func TestPositiveOr(t *testing.T) {
	t.Run("int", func(t *testing.T) {
		for _, tc := range []struct{ v, want int }{{-1, 7}, {0, 7}, {1, 1}, {9, 9}} {
			assert.Equal(t, tc.want, opt.PositiveOr(tc.v, 7), "PositiveOr(%d, 7)", tc.v)
		}
	})
	t.Run("duration", func(t *testing.T) {
		for _, tc := range []struct{ v, want time.Duration }{
			{-time.Second, time.Minute}, {0, time.Minute}, {time.Nanosecond, time.Nanosecond}, {time.Hour, time.Hour},
		} {
			assert.Equal(t, tc.want, opt.PositiveOr(tc.v, time.Minute), "PositiveOr(%v, 1m)", tc.v)
		}
	})
	t.Run("float", func(t *testing.T) {
		for _, tc := range []struct{ v, want float64 }{
			{-0.5, 0.25}, {math.Copysign(0, -1), 0.25}, {0, 0.25}, {0.75, 0.75},
		} {
			assert.Equal(t, tc.want, opt.PositiveOr(tc.v, 0.25), "PositiveOr(%v, 0.25)", tc.v)
		}
		assert.True(t, math.IsNaN(opt.PositiveOr(math.NaN(), 0.25)), "PositiveOr keeps NaN, as v <= 0 is false for it")
	})
}
