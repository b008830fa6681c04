// Package conventions holds the tests that check CONVENTIONS.md across
// every public package at once: options_test.go drives each exported
// constructor with zero, negative, huge and mixed option values and checks
// that nothing panics after construction returns; deps_test.go pins with
// go list -deps what importing a package compiles. It has no API.
package conventions
