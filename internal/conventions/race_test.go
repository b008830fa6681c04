//go:build race

package conventions_test

// raceEnabled: the race detector slows argon2 tenfold, so the Hasher's
// largest parameters are hashed only without it.
const raceEnabled = true
