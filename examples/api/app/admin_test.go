package app_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestEnsureAdmin_existingAccount (issue 27, broke 4): ADMIN_EMAIL naming
// an account that someone registered first does not make that account an
// admin unless ADMIN_PASSWORD is its password: the service refuses to
// start and changes nothing. With the password, the account is promoted,
// and every promotion and creation is logged.
func TestEnsureAdmin_existingAccount(t *testing.T) {
	dsn := app.SQLiteDSN(t.TempDir() + "/admin.db")
	database := app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: dsn}
	const email, squatters, operator = "boss@example.com", "password-Squatter", "operator-password"

	first := testConfig()
	first.Database = database
	s := start(t, first)
	s.register(t, email, "Squatter") // with the password "password-Squatter"
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err, "open the database directly")
	t.Cleanup(func() { db.Close() })

	tests := []struct {
		name      string
		email     string
		password  string
		wantErr   error
		wantRoles []string
		wantLog   string // the message of the log line naming the account
	}{
		{"another's password: refused, nothing changes", email, operator, app.ErrAdminPassword, []string{"user"}, ""},
		{"letter case does not get round it", "BOSS@example.com", operator, app.ErrAdminPassword, []string{"user"}, ""},
		{"the account's own password: promoted", email, squatters, nil, []string{"user", "admin"}, "admin role granted to an existing account"},
		{"an admin already: nothing to log", email, squatters, nil, []string{"user", "admin"}, ""},
		{"an admin with another password: refused", email, operator, app.ErrAdminPassword, []string{"user", "admin"}, ""},
		{"a new address: created", "root2@example.com", operator, nil, []string{"user", "admin"}, "admin user created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			cfg := testConfig()
			cfg.Database = database
			cfg.AdminEmail, cfg.AdminPassword = tt.email, tt.password
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			a, err := app.New(context.Background(), cfg)
			if err == nil {
				require.NoError(t, a.Close(), "close")
			}
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr, "the service refuses to start")
			} else {
				require.NoError(t, err, "the service starts")
			}
			var id, roles string
			require.NoError(t, db.QueryRow("SELECT id, roles FROM users WHERE email_lower = ?", strings.ToLower(tt.email)).Scan(&id, &roles), "the account")
			assert.Equal(t, tt.wantRoles, strings.Split(roles, ","), "the account's roles")

			var lines []map[string]any
			for _, l := range logs.lines() {
				if msg, _ := l["msg"].(string); l["userId"] == id && strings.HasPrefix(msg, "admin") {
					lines = append(lines, l)
				}
			}
			if tt.wantLog == "" {
				assert.Empty(t, lines, "no admin log line about the account")
				return
			}
			require.Len(t, lines, 1, "one admin log line about the account")
			assert.Equal(t, tt.wantLog, lines[0]["msg"], "what the line says")
			assert.Equal(t, tt.email, lines[0]["email"], "the line names the address")
		})
	}
}
