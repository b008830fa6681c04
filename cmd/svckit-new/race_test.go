//go:build race

package main

// raceEnabled is true when the tests run under the race detector: the
// copy's tests then do too, so that they reuse the packages this run
// compiled.
const raceEnabled = true
