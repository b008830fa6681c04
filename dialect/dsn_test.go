package dialect_test

import (
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
)

func TestMySQLDSN(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		user, pass     string
		addr, db       string
		params         map[string]string
	}{
		{"user and port", "mysql://root@127.0.0.1:3306/test", "root@tcp(127.0.0.1:3306)/test?parseTime=true",
			"root", "", "127.0.0.1:3306", "test", nil},
		{"password, default port", "mysql://u:p@db/x", "u:p@tcp(db:3306)/x?parseTime=true",
			"u", "p", "db:3306", "x", nil},
		{"no user", "mysql://db:3307/x", "tcp(db:3307)/x?parseTime=true",
			"", "", "db:3307", "x", nil},
		{"escaped password", "mysql://u:p%40ss%2Fw@db/x", "u:p@ss/w@tcp(db:3306)/x?parseTime=true",
			"u", "p@ss/w", "db:3306", "x", nil},
		{"IPv6 host", "mysql://u@[::1]/x", "u@tcp([::1]:3306)/x?parseTime=true",
			"u", "", "[::1]:3306", "x", nil},
		{"parameters in name order, first value", "mysql://u@db/x?tls=skip-verify&charset=utf8mb4&charset=latin1&time_zone=%27%2B00%3A00%27",
			"u@tcp(db:3306)/x?parseTime=true&charset=utf8mb4&time_zone=%27%2B00%3A00%27&tls=skip-verify",
			"u", "", "db:3306", "x", map[string]string{"time_zone": "'+00:00'"}},
		{"no database", "mysql://u@db", "u@tcp(db:3306)/?parseTime=true",
			"u", "", "db:3306", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dialect.MySQLDSN(tc.in)
			require.NoError(t, err, "a mysql:// URL converts")
			assert.Equal(t, tc.want, got, "the DSN of %s", tc.in)

			cfg, err := mysql.ParseDSN(got)
			require.NoError(t, err, "the driver parses the DSN")
			assert.Equal(t, tc.user, cfg.User, "user")
			assert.Equal(t, tc.pass, cfg.Passwd, "password")
			assert.Equal(t, "tcp", cfg.Net, "network")
			assert.Equal(t, tc.addr, cfg.Addr, "address")
			assert.Equal(t, tc.db, cfg.DBName, "database")
			assert.True(t, cfg.ParseTime, "parseTime is on")
			for k, v := range tc.params {
				assert.Equal(t, v, cfg.Params[k], "parameter %s reaches the driver", k)
			}
		})
	}
	for _, bad := range []string{"postgres://u@db/x", "root@tcp(db:3306)/x", "mysql://u@db:port/x"} {
		_, err := dialect.MySQLDSN(bad)
		assert.Error(t, err, "MySQLDSN(%q) fails", bad)
	}
}
