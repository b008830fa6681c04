//go:build race

package redisguard_test

// raceEnabled: the race detector makes sync.Pool drop values at random, so
// allocation counts are not the real ones.
const raceEnabled = true
