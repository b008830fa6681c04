package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/readmesync"
)

// openAPIDoc is the part of the OpenAPI document the contract file is held
// to: each operation's responses.
type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
}

// TestAPIContractFile keeps API.md and the document the service serves
// from drifting apart: every operation of the document has its row in
// API.md's table, every row names an operation of the document, and every
// status a row names is a response the document gives that operation. It
// also checks the rules API.md must state, and that the README's links to
// files of the example lead somewhere.
func TestAPIContractFile(t *testing.T) {
	apiMD, err := os.ReadFile("../API.md")
	require.NoError(t, err, "API.md lives beside the example")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key, err := auth.NewEdDSAKey("k1", priv)
	require.NoError(t, err)
	s := startSQLite(t, func(c *app.Config) { c.SigningKey = key }) // so that the JWKS route is served too

	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(s.App.OpenAPI(), &doc), "the document is JSON")
	rows := map[string][]string{} // "GET /v1/users/{id}" → statuses the row names
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^` ]*)`[^|]*\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|")
	status := regexp.MustCompile(`(?:^|[\s,;(])([2-5][0-9][0-9])(?:[\s,;)]|$)`)
	for _, m := range row.FindAllStringSubmatch(string(apiMD), -1) {
		var named []string
		for _, n := range status.FindAllStringSubmatch(m[4]+" "+m[5], -1) {
			named = append(named, n[1])
		}
		rows[m[1]+" "+m[2]] = named
	}
	require.NotEmpty(t, rows, "API.md has a table of routes")

	for path, item := range doc.Paths {
		for method, op := range item {
			route := strings.ToUpper(method) + " " + path
			statuses, ok := rows[route]
			if !assert.True(t, ok, "API.md has a row for %s, an operation of the document", route) {
				continue
			}
			for _, st := range statuses {
				_, ok := op.Responses[st]
				assert.True(t, ok, "API.md says %s answers %s; the document must too", route, st)
			}
		}
	}
	for route := range rows {
		method, path, _ := strings.Cut(route, " ")
		_, ok := doc.Paths[path][strings.ToLower(method)]
		assert.True(t, ok, "API.md's %s is an operation of the document", route)
	}

	for _, rule := range []string{"Idempotent-Replayed", "details.param", "details.field", "error.violations", "REGISTER_QUIET", "{id, name}", "nosniff", "/openapi.json", "CORS_ORIGINS"} {
		assert.True(t, strings.Contains(string(apiMD), rule), "API.md states the rule about %s", rule)
	}

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err, "README.md")
	for _, m := range regexp.MustCompile(`\]\(([A-Za-z0-9_./-]+)(?:#[^)]*)?\)`).FindAllSubmatch(readme, -1) {
		target := string(m[1])
		if strings.Contains(target, "://") {
			continue
		}
		_, err := os.Stat("../" + target)
		assert.NoError(t, err, "README links to %s, which exists", target)
	}
	for _, m := range regexp.MustCompile("\\| `(app/[a-z_]+\\.go)`").FindAllSubmatch(readme, -1) {
		_, err := os.Stat("../" + string(m[1]))
		assert.NoError(t, err, "the layout table lists %s, which exists", m[1])
	}
}

// TestOpenAPIServed: GET /openapi.json serves the document the App built,
// an OpenAPI 3.1.0 document whose operations all have an id.
func TestOpenAPIServed(t *testing.T) {
	s := startSQLite(t, nil)
	r := s.expect(t, req{Method: "GET", Path: "/openapi.json"}, 200, "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]map[string]any  `json:"paths"`
		Info    map[string]any                        `json:"info"`
		Comps   map[string]map[string]json.RawMessage `json:"components"`
	}
	require.NoError(t, json.Unmarshal(r.Raw, &doc), "the body is the document itself, no envelope")
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.Equal(t, app.Version, doc.Info["version"])
	assert.JSONEq(t, string(s.App.OpenAPI()), string(r.Raw), "the served document is the built one")
	var ids []string
	for _, item := range doc.Paths {
		for _, op := range item {
			ids = append(ids, op["operationId"].(string))
		}
	}
	assert.NotContains(t, ids, "", "every operation has an id")
	assert.Len(t, ids, len(slices.Compact(slices.Sorted(slices.Values(ids)))), "ids are unique")
	assert.Contains(t, doc.Comps["securitySchemes"], "bearerAuth")
}

// TestOpenAPISnapshot: the committed snapshot examples/api/openapi.json is
// the document the service builds, so a change of the contract shows in the
// commit that makes it (and CI's oasdiff says whether it breaks clients).
// SVCKIT_UPDATE_OPENAPI=1 writes the snapshot anew.
func TestOpenAPISnapshot(t *testing.T) {
	s := startSQLite(t, nil)
	built := s.App.OpenAPI()
	if os.Getenv("SVCKIT_UPDATE_OPENAPI") == "1" {
		require.NoError(t, os.WriteFile("../openapi.json", built, 0o644))
	}
	committed, err := os.ReadFile("../openapi.json")
	require.NoError(t, err, "the snapshot is committed")
	require.True(t, string(committed) == string(built),
		"examples/api/openapi.json differs from the document the service builds: review the change, then run "+
			"SVCKIT_UPDATE_OPENAPI=1 go test -run TestOpenAPISnapshot ./examples/api/app and commit the snapshot with it")
}

// TestREADMEAddAnOperation keeps the README's "Add an operation" snippet
// in step with routes.go.
func TestREADMEAddAnOperation(t *testing.T) {
	lines := readmesync.Check(t, "../README.md", "### Add an operation", "routes.go", nil)
	require.GreaterOrEqual(t, lines, 3, "the snippet declares and mounts an operation")
}
