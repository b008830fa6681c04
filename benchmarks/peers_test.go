package benchmarks

// Peers compared against in this module's benchmarks. Importing them here
// keeps go.mod/go.sum complete while benchmarks are added file by file.
import (
	_ "github.com/dgraph-io/ristretto/v2"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/go-chi/chi/v5/middleware"
	_ "github.com/go-chi/httprate"
	_ "github.com/go-chi/jwtauth/v5"
	_ "github.com/go-redis/cache/v9"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/maypok86/otter/v2"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/sethvargo/go-limiter/memorystore"
	_ "github.com/stretchr/testify/require"
	_ "github.com/svckit/svckit/internal/testdb"
	_ "github.com/uptrace/bun"
	_ "github.com/uptrace/bun/dialect/pgdialect"
	_ "github.com/uptrace/bun/dialect/sqlitedialect"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
