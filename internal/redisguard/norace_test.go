//go:build !race

package redisguard_test

const raceEnabled = false
