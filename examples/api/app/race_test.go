//go:build race

package app_test

// raceEnabled is true when the tests run under the race detector, which
// slows the code several times over: tests that measure latency or drive
// a load skip then (.ci/run runs them in a step of their own, without it).
const raceEnabled = true
