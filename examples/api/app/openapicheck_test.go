package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// openAPICheck, with SVCKIT_OPENAPI_CHECK set to the address of CI's
// checker (.ci/openapi/check, libopenapi-validator), sends it every
// exchange the contract tests make, and fails the test on a violation of
// the service's OpenAPI document: any in a response, and any in a request
// the service accepted (2xx; a refused request may break the document on
// purpose). Without the variable it does nothing: the checker's module,
// not this one, depends on libopenapi-validator.
func openAPICheck(t testing.TB, hr *http.Request, body []byte, res *http.Response, raw []byte) {
	t.Helper()
	addr := os.Getenv("SVCKIT_OPENAPI_CHECK")
	if addr == "" {
		return
	}
	ex, err := json.Marshal(map[string]any{
		"method": hr.Method, "url": hr.URL.String(), "requestHeader": hr.Header, "requestBody": body,
		"status": res.StatusCode, "responseHeader": res.Header, "responseBody": raw,
	})
	require.NoError(t, err)
	resp, err := http.Post("http://"+addr+"/check", "application/json", bytes.NewReader(ex))
	require.NoError(t, err, "the OpenAPI checker answers")
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the OpenAPI checker takes the exchange")
	var v struct {
		Skipped  string   `json:"skipped"`
		Request  []string `json:"request"`
		Response []string `json:"response"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	require.Empty(t, v.Request, "%s %s: the request, answered %d, breaks the OpenAPI document", hr.Method, hr.URL.Path, res.StatusCode)
	require.Empty(t, v.Response, "%s %s: the %d response breaks the OpenAPI document: %s", hr.Method, hr.URL.Path, res.StatusCode, raw)
}
