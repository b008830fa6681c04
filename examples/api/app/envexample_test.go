package app_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestEnvExample keeps ../.env.example true: every variable the service
// reads (FromEnv and the trace switch, under an empty environment and under
// a signing key, so that conditional reads are seen) is a row of the
// README's variable table and a line of .env.example, and nothing else is.
// With -update it rewrites .env.example from the table.
func TestEnvExample(t *testing.T) {
	read := map[string]bool{}
	record := func(env map[string]string) func(string) string {
		return func(k string) string { read[k] = true; return env[k] }
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err, "a key")
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err, "PKCS #8")
	for _, env := range []map[string]string{
		nil,
		{"JWT_PRIVATE_KEY": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))},
	} {
		_, _, err := app.FromEnv(record(env))
		require.NoError(t, err, "FromEnv")
		app.TracesWanted(record(env))
	}

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err, "README.md")
	rows := envRows(string(readme))
	var listed []string
	for _, r := range rows {
		listed = append(listed, r.names...)
	}
	for name := range read {
		assert.Contains(t, listed, name, "the service reads %s: add a row for it to README.md's variable table", name)
	}
	for _, name := range listed {
		assert.True(t, read[name], "README.md's table lists %s, which the service does not read", name)
	}

	want := envExample(rows)
	if *update {
		require.NoError(t, os.WriteFile("../.env.example", []byte(want), 0o644), "write .env.example")
	}
	got, err := os.ReadFile("../.env.example")
	require.NoError(t, err, ".env.example (go test -run TestEnvExample -update writes it)")
	if string(got) != want {
		t.Errorf(".env.example differs from README.md's table: run go test -run TestEnvExample -update in this directory")
	}
}

// envRow is one row of the README's variable table.
type envRow struct {
	names        []string
	def, meaning string
}

// envRows reads the README's table of variables: the rows whose first cell
// names upper-case variables in backquotes.
func envRows(readme string) []envRow {
	row := regexp.MustCompile("(?m)^\\| ((?:`[A-Z][A-Z0-9_]*`(?:, )?)+) \\| (.*) \\| (.*) \\|$")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	var out []envRow
	for _, m := range row.FindAllStringSubmatch(readme, -1) {
		r := envRow{def: plain(m[2]), meaning: plain(m[3])}
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			r.names = append(r.names, n[1])
		}
		out = append(out, r)
	}
	return out
}

// plain drops Markdown's backquotes and link targets.
func plain(s string) string {
	s = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(s, "$1")
	return strings.ReplaceAll(s, "`", "")
}

// envExample is .env.example for rows: each variable, empty, under its
// meaning and default.
func envExample(rows []envRow) string {
	var b bytes.Buffer
	b.WriteString("# Every variable the service reads, empty: an empty value means the\n" +
		"# default. Generated from the variable table of README.md by TestEnvExample\n" +
		"# (go test -run TestEnvExample -update in app/ rewrites it).\n")
	for _, r := range rows {
		b.WriteString("\n")
		line := "#"
		for _, w := range strings.Fields(r.meaning) {
			if len(line)+1+len(w) > 76 && line != "#" {
				b.WriteString(line + "\n")
				line = "#"
			}
			line += " " + w
		}
		b.WriteString(line + "\n# default: " + r.def + "\n")
		for _, n := range r.names {
			b.WriteString(n + "=\n")
		}
	}
	return b.String()
}
