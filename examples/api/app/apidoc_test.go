package app_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPIContractFile checks that the contract users copy lives beside the
// example and lists every route the service serves, and that the README's
// links to files of the example lead somewhere.
func TestAPIContractFile(t *testing.T) {
	api, err := os.ReadFile("../API.md")
	require.NoError(t, err, "API.md lives beside the example")
	routes, err := os.ReadFile("routes.go")
	require.NoError(t, err, "routes.go")
	gaps := contractGaps(string(api), string(routes))
	for _, g := range gaps {
		t.Error(g)
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

// contractRules are rules API.md must state, each found by a phrase.
var contractRules = []string{"Idempotent-Replayed", "details.param", "details.field", "REGISTER_QUIET", "{id, name}", "nosniff"}

// contractGaps returns one line for each route that routes registers and
// api does not list, and for each rule of contractRules api does not state:
// a failure names what is missing, never the whole file.
func contractGaps(api, routes string) []string {
	patterns := regexp.MustCompile(`(?:v1|mux\.Handle)\("([A-Z]+ /[^"]*)"`).FindAllStringSubmatch(routes, -1)
	if len(patterns) == 0 {
		return []string{"routes.go registers no route that this test can find"}
	}
	var gaps []string
	for _, p := range patterns {
		if !strings.Contains(api, "`"+p[1]) {
			gaps = append(gaps, fmt.Sprintf("API.md does not list %s, which routes.go registers: add it to the route table as `%s`", p[1], p[1]))
		}
	}
	for _, rule := range contractRules {
		if !strings.Contains(api, rule) {
			gaps = append(gaps, fmt.Sprintf("API.md does not state the rule about %s", rule))
		}
	}
	return gaps
}

// TestContractGaps: a route missing from the contract is named in one
// line, and nothing else is reported.
func TestContractGaps(t *testing.T) {
	routes := `v1("GET /v1/notes", h)
	v1("POST /v1/notes", h)
	mux.Handle("GET /healthz", h)`
	full := "| `GET /v1/notes` | | `POST /v1/notes` | `GET /healthz` |\n" + strings.Join(contractRules, "\n")
	tests := []struct {
		name, api string
		want      []string
	}{
		{"complete", full, nil},
		{"one route missing", strings.Replace(full, "`POST /v1/notes`", "", 1),
			[]string{"API.md does not list POST /v1/notes, which routes.go registers: add it to the route table as `POST /v1/notes`"}},
		{"one rule missing", strings.Replace(full, "nosniff", "", 1), []string{"API.md does not state the rule about nosniff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, contractGaps(tt.api, routes), "the gaps reported")
		})
	}
}
