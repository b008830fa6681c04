package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
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
	for _, gap := range contractGaps(apiMD, doc) {
		t.Error(gap)
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

// contractGaps returns what keeps API.md and the document apart, one line
// each, naming the route or the rule (never the file, tens of KB), sorted.
func contractGaps(apiMD []byte, doc openAPIDoc) []string {
	var gaps []string
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
	if len(rows) == 0 {
		return []string{"API.md has no table of routes"}
	}

	for path, item := range doc.Paths {
		for method, op := range item {
			route := strings.ToUpper(method) + " " + path
			statuses, ok := rows[route]
			if !ok {
				gaps = append(gaps, fmt.Sprintf("API.md has no row for %s, an operation of the document: add one to its table of routes", route))
				continue
			}
			for _, st := range statuses {
				if _, ok := op.Responses[st]; !ok {
					gaps = append(gaps, fmt.Sprintf("API.md says %s answers %s; the document does not", route, st))
				}
			}
		}
	}
	for route := range rows {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			gaps = append(gaps, fmt.Sprintf("API.md has a row for %s, which is no operation of the document", route))
		}
	}

	for _, rule := range []string{"Idempotent-Replayed", "details.param", "details.field", "error.violations", "REGISTER_QUIET", "{id, name}", "nosniff", "/openapi.json", "CORS_ORIGINS"} {
		if !strings.Contains(string(apiMD), rule) {
			gaps = append(gaps, fmt.Sprintf("API.md does not state the rule about %s", rule))
		}
	}
	sort.Strings(gaps)
	return gaps
}

// TestContractGaps pins contractGaps' lines: a route missing from API.md,
// a row for no operation, a status the document does not give.
func TestContractGaps(t *testing.T) {
	rules := "Idempotent-Replayed details.param details.field error.violations REGISTER_QUIET {id, name} nosniff /openapi.json CORS_ORIGINS\n"
	table := "| route | who | success | errors |\n| --- | --- | --- | --- |\n"
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal([]byte(`{"paths": {"/v1/notes": {"get": {"responses": {"200": {}}}, "post": {"responses": {"201": {}}}}}}`), &doc), "a document")
	tests := []struct {
		name, apiMD string
		want        []string
	}{
		{"in step", rules + table + "| `GET /v1/notes` | user | 200 | |\n| `POST /v1/notes` | user | 201 | |\n", nil},
		{"a route missing", rules + table + "| `GET /v1/notes` | user | 200 | |\n",
			[]string{"API.md has no row for POST /v1/notes, an operation of the document: add one to its table of routes"}},
		{"a row for no operation", rules + table + "| `GET /v1/notes` | user | 200 | |\n| `POST /v1/notes` | user | 201 | |\n| `DELETE /v1/notes` | user | 204 | |\n",
			[]string{"API.md has a row for DELETE /v1/notes, which is no operation of the document"}},
		{"a status not in the document", rules + table + "| `GET /v1/notes` | user | 200 | 404 |\n| `POST /v1/notes` | user | 201 | |\n",
			[]string{"API.md says GET /v1/notes answers 404; the document does not"}},
		{"a rule missing", strings.Replace(rules, "nosniff ", "", 1) + table + "| `GET /v1/notes` | user | 200 | |\n| `POST /v1/notes` | user | 201 | |\n",
			[]string{"API.md does not state the rule about nosniff"}},
		{"no table", rules, []string{"API.md has no table of routes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, contractGaps([]byte(tt.apiMD), doc), "one line per gap")
		})
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
