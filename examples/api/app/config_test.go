package app_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want app.Rate
		ok   bool
	}{
		{"10/1m", app.Rate{Limit: 10, Window: time.Minute}, true},
		{" 600/1m ", app.Rate{Limit: 600, Window: time.Minute}, true},
		{"5/30s", app.Rate{Limit: 5, Window: 30 * time.Second}, true},
		{"1/1h30m", app.Rate{Limit: 1, Window: 90 * time.Minute}, true},
		{"10", app.Rate{}, false},
		{"0/1m", app.Rate{}, false},
		{"-1/1m", app.Rate{}, false},
		{"x/1m", app.Rate{}, false},
		{"10/0s", app.Rate{}, false},
		{"10/minute", app.Rate{}, false},
		{"", app.Rate{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := app.ParseRate(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, app.ErrConfig, "%q is refused", tc.in)
				return
			}
			require.NoError(t, err, "%q parses", tc.in)
			assert.Equal(t, tc.want, got, "%q", tc.in)
			again, err := app.ParseRate(got.String())
			require.NoError(t, err, "String parses back")
			assert.Equal(t, got, again, "String round-trips")
		})
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/1m", "600/1m", "1/1ns", "9999999999999999999/1m", "/", "1/-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := app.ParseRate(s)
		if err != nil {
			if !errors.Is(err, app.ErrConfig) {
				t.Fatalf("ParseRate(%q): error %v does not wrap ErrConfig", s, err)
			}
			return
		}
		if r.Limit <= 0 || r.Window <= 0 {
			t.Fatalf("ParseRate(%q) = %+v: limit and window must be positive", s, r)
		}
	})
}

func TestParseDatabaseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		driver  string
		dialect string
		dsn     string // substring of the DSN
		memory  bool
		ok      bool
	}{
		{"", "sqlite", "sqlite", "file:" + app.DefaultSQLiteFile + "?", false, true},
		{"sqlite://data/app.db", "sqlite", "sqlite", "file:data/app.db?", false, true},
		{"sqlite:///var/lib/app.db", "sqlite", "sqlite", "file:/var/lib/app.db?", false, true},
		{"sqlite://:memory:", "sqlite", "sqlite", ":memory:", true, true},
		{"postgres://u:p@db:5432/app?sslmode=disable", "pgx", "postgres", "postgres://u:p@db:5432/app?sslmode=disable", false, true},
		{"postgresql://db/app", "pgx", "postgres", "postgresql://db/app", false, true},
		{"mysql://root:pw@db:3306/app", "mysql", "mysql", "root:pw@tcp(db:3306)/app?", false, true},
		{"mysql://root@db/app", "mysql", "mysql", "tcp(db:3306)", false, true},
		{"sqlite://", "", "", "", false, false},
		{"redis://localhost", "", "", "", false, false},
		{"app.db", "", "", "", false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := app.ParseDatabaseURL(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, app.ErrConfig, "%q is refused", tc.in)
				return
			}
			require.NoError(t, err, "%q parses", tc.in)
			assert.Equal(t, tc.driver, got.Driver, "driver")
			assert.Equal(t, tc.dialect, got.Dialect, "dialect")
			assert.Contains(t, got.DSN, tc.dsn, "DSN")
			assert.Equal(t, tc.memory, got.Memory, "memory")
			if tc.driver == "mysql" {
				assert.Contains(t, got.DSN, "parseTime=true", "MySQL times are parsed")
			}
			if tc.driver == "sqlite" && !tc.memory {
				assert.Contains(t, got.DSN, "_txlock=immediate", "SQLite writers queue")
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	t.Run("defaults", func(t *testing.T) {
		cfg, warnings, err := app.FromEnv(env(nil))
		require.NoError(t, err, "an empty environment is valid")
		assert.Equal(t, ":8080", cfg.Addr, "ADDR default")
		assert.Equal(t, "sqlite", cfg.Database.Dialect, "SQLite by default")
		assert.Equal(t, app.Rate{Limit: 10, Window: time.Minute}, cfg.LoginRateLimit, "LOGIN_RATE_LIMIT default")
		assert.Equal(t, app.Rate{Limit: 600, Window: time.Minute}, cfg.APIRateLimit, "API_RATE_LIMIT default")
		assert.Empty(t, cfg.JWTSecret, "no secret: New makes a random one")
		assert.Empty(t, cfg.CursorKey, "no cursor key: derived from the JWT secret")
		require.Len(t, warnings, 1, "one warning")
		assert.Contains(t, warnings[0], "JWT_SECRET", "the random secret is warned about")
		assert.Empty(t, cfg.TrustedProxies, "no proxy is trusted by default")
	})
	t.Run("everything set", func(t *testing.T) {
		cfg, warnings, err := app.FromEnv(env(map[string]string{
			"ADDR": "127.0.0.1:9000", "DATABASE_URL": "postgres://db/app", "REDIS_URL": "redis://cache:6379/1", "REDIS_PREFIX": "orders:",
			"JWT_SECRET": strings.Repeat("s", 32), "CURSOR_KEY": strings.Repeat("c", 40),
			"ADMIN_EMAIL": "root@example.com", "ADMIN_PASSWORD": "root-password",
			"LOGIN_RATE_LIMIT": "5/30s", "API_RATE_LIMIT": "100/1m", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7",
			"CORS_ORIGINS": "https://app.example.com, http://localhost:5173",
		}))
		require.NoError(t, err, "a full environment is valid")
		assert.Empty(t, warnings, "nothing to warn about")
		assert.Equal(t, "127.0.0.1:9000", cfg.Addr, "ADDR")
		assert.Equal(t, "postgres", cfg.Database.Dialect, "DATABASE_URL")
		assert.Equal(t, "redis://cache:6379/1", cfg.RedisURL, "REDIS_URL")
		assert.Equal(t, "orders:", cfg.RedisPrefix, "REDIS_PREFIX")
		assert.Len(t, cfg.JWTSecret, 32, "JWT_SECRET")
		assert.Equal(t, []byte(strings.Repeat("c", 40)), cfg.CursorKey, "CURSOR_KEY")
		assert.Equal(t, "root@example.com", cfg.AdminEmail, "ADMIN_EMAIL")
		assert.Equal(t, app.Rate{Limit: 5, Window: 30 * time.Second}, cfg.LoginRateLimit, "LOGIN_RATE_LIMIT")
		assert.Equal(t, app.Rate{Limit: 100, Window: time.Minute}, cfg.APIRateLimit, "API_RATE_LIMIT")
		require.Len(t, cfg.TrustedProxies, 2, "TRUSTED_PROXIES")
		assert.True(t, cfg.TrustedProxies[1].Contains(netip.MustParseAddr("192.0.2.7")), "a bare address is one host")
		assert.Equal(t, []string{"https://app.example.com", "http://localhost:5173"}, cfg.CORSOrigins, "CORS_ORIGINS")
	})
	for _, tc := range []struct{ name, key, value string }{
		{"short secret", "JWT_SECRET", "too-short"},
		{"short cursor key", "CURSOR_KEY", strings.Repeat("c", 31)},
		{"bad login rate", "LOGIN_RATE_LIMIT", "ten per minute"},
		{"bad api rate", "API_RATE_LIMIT", "10/"},
		{"bad proxy", "TRUSTED_PROXIES", "10.0.0.0/99"},
		{"bad database", "DATABASE_URL", "oracle://db"},
		{"origin with a path", "CORS_ORIGINS", "https://app.example.com/"},
		{"origin without a scheme", "CORS_ORIGINS", "app.example.com"},
		{"wildcard origin", "CORS_ORIGINS", "*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := app.FromEnv(env(map[string]string{tc.key: tc.value}))
			require.ErrorIs(t, err, app.ErrConfig, "%s=%q is refused", tc.key, tc.value)
		})
	}
	t.Run("half an admin", func(t *testing.T) {
		_, warnings, err := app.FromEnv(env(map[string]string{"ADMIN_EMAIL": "root@example.com", "JWT_SECRET": strings.Repeat("s", 32)}))
		require.NoError(t, err, "only a warning")
		require.Len(t, warnings, 1, "one warning")
		assert.Contains(t, warnings[0], "ADMIN_PASSWORD", "the missing half is named")
	})
}

func TestFromEnvRegisterQuiet(t *testing.T) {
	tests := []struct {
		value string
		want  bool
		ok    bool
	}{{"", false, true}, {"false", false, true}, {"0", false, true}, {"true", true, true}, {"1", true, true}, {"yes", false, false}}
	for _, tt := range tests {
		cfg, _, err := app.FromEnv(func(k string) string {
			if k == "REGISTER_QUIET" {
				return tt.value
			}
			return ""
		})
		if !tt.ok {
			assert.ErrorIs(t, err, app.ErrConfig, "REGISTER_QUIET=%q is refused", tt.value)
			continue
		}
		require.NoError(t, err, "REGISTER_QUIET=%q", tt.value)
		assert.Equal(t, tt.want, cfg.QuietRegister, "REGISTER_QUIET=%q", tt.value)
	}
}
