package benchmarks

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/schema"
)

// repoBenchUser is the row every repository benchmark reads, tagged for
// svckit/sqlx (db) and bun (bun).
type repoBenchUser struct {
	bun.BaseModel `bun:"table:bench_users"`

	ID        int64     `db:"id,pk" bun:"id,pk,autoincrement"`
	Email     string    `db:"email" bun:"email"`
	Name      string    `db:"name" bun:"name"`
	Age       int64     `db:"age" bun:"age"`
	CreatedAt time.Time `db:"created_at" bun:"created_at"`
}

const repoBenchRows = 1000

// repoEngine is one database set up for the repository benchmarks.
type repoEngine struct {
	name    string
	db      *sql.DB
	dialect dialect.Dialect
	byID    string // hand-written FindByID query
	many    string // hand-written FindMany100 query
	sqlx    *sqlx.DB
	bun     *bun.DB
	driver  string // the database/sql driver name of db
	dsn     string // opens another pool on the same database
}

func repoEngines(b *testing.B) []repoEngine {
	b.Helper()
	var out []repoEngine
	for _, open := range []struct {
		name string
		open func(testing.TB) *testdb.DB
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}} {
		db := open.open(b)
		e := repoEngine{name: open.name, db: db.DB, driver: db.Driver, dsn: db.DSN}
		ddl := "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, age INTEGER NOT NULL, created_at DATETIME NOT NULL)"
		var bunDialect schema.Dialect = sqlitedialect.New()
		e.dialect = dialect.SQLite
		e.byID = "SELECT id, email, name, age, created_at FROM bench_users WHERE id = ?"
		e.many = "SELECT id, email, name, age, created_at FROM bench_users ORDER BY id LIMIT ?"
		if open.name == "postgres" {
			ddl = "CREATE TABLE bench_users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, age BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
			bunDialect = pgdialect.New()
			e.dialect = dialect.Postgres
			e.byID = "SELECT id, email, name, age, created_at FROM bench_users WHERE id = $1"
			e.many = "SELECT id, email, name, age, created_at FROM bench_users ORDER BY id LIMIT $1"
		}
		ctx := context.Background()
		_, err := db.DB.ExecContext(ctx, ddl)
		require.NoError(b, err, "create bench_users on %s", open.name)
		repo := repository.NewSQL[repoBenchUser, int64](db.DB, e.dialect, "bench_users", repository.Options[int64]{})
		err = txn.Do(ctx, db.DB, func(ctx context.Context) error {
			for i := range repoBenchRows {
				u := repoBenchUser{Email: fmt.Sprintf("u%04d@example.com", i), Name: fmt.Sprintf("user %d", i), Age: int64(20 + i%50)}
				if err := repo.Create(ctx, &u); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(b, err, "seed bench_users")
		e.sqlx = sqlx.NewDb(db.DB, db.Driver)
		e.bun = bun.NewDB(db.DB, bunDialect)
		out = append(out, e)
	}
	return out
}

// BenchmarkFindByID reads one row by primary key: svckit's repository
// against a hand-written database/sql query and Scan, sqlx and bun.
func BenchmarkFindByID(b *testing.B) {
	ctx := context.Background()
	for _, e := range repoEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			repo := repository.NewSQL[repoBenchUser, int64](e.db, e.dialect, "bench_users", repository.Options[int64]{})
			id := func(i int) int64 { return int64(i%repoBenchRows + 1) }
			b.Run("svckit", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					u, err := repo.FindByID(ctx, id(i))
					if err != nil || u.ID != id(i) {
						b.Fatalf("FindByID: %v", err)
					}
				}
			})
			b.Run("database-sql", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					var u repoBenchUser
					err := e.db.QueryRowContext(ctx, e.byID, id(i)).Scan(&u.ID, &u.Email, &u.Name, &u.Age, &u.CreatedAt)
					if err != nil || u.ID != id(i) {
						b.Fatalf("QueryRow: %v", err)
					}
				}
			})
			b.Run("sqlx", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					var u repoBenchUser
					if err := e.sqlx.GetContext(ctx, &u, e.byID, id(i)); err != nil || u.ID != id(i) {
						b.Fatalf("sqlx Get: %v", err)
					}
				}
			})
			b.Run("bun", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					var u repoBenchUser
					if err := e.bun.NewSelect().Model(&u).Where("id = ?", id(i)).Scan(ctx); err != nil || u.ID != id(i) {
						b.Fatalf("bun Scan: %v", err)
					}
				}
			})
		})
	}
}

// BenchmarkFindMany100 reads 100 rows in primary key order.
func BenchmarkFindMany100(b *testing.B) {
	ctx := context.Background()
	for _, e := range repoEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			repo := repository.NewSQL[repoBenchUser, int64](e.db, e.dialect, "bench_users", repository.Options[int64]{})
			b.Run("svckit", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					us, err := repo.FindMany(ctx, repository.FindOptions{Limit: 100})
					if err != nil || len(us) != 100 {
						b.Fatalf("FindMany: %d rows, %v", len(us), err)
					}
				}
			})
			b.Run("database-sql", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					us, err := repoHandWrittenMany(ctx, e.db, e.many, 100)
					if err != nil || len(us) != 100 {
						b.Fatalf("hand-written: %d rows, %v", len(us), err)
					}
				}
			})
			b.Run("sqlx", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var us []repoBenchUser
					if err := e.sqlx.SelectContext(ctx, &us, e.many, 100); err != nil || len(us) != 100 {
						b.Fatalf("sqlx Select: %d rows, %v", len(us), err)
					}
				}
			})
			b.Run("bun", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var us []repoBenchUser
					if err := e.bun.NewSelect().Model(&us).Order("id ASC").Limit(100).Scan(ctx); err != nil || len(us) != 100 {
						b.Fatalf("bun Scan: %d rows, %v", len(us), err)
					}
				}
			})
		})
	}
}

func repoHandWrittenMany(ctx context.Context, db *sql.DB, query string, limit int) ([]repoBenchUser, error) {
	rows, err := db.QueryContext(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	us := make([]repoBenchUser, 0, limit)
	for rows.Next() {
		var u repoBenchUser
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Age, &u.CreatedAt); err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}
