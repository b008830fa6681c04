package repository_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

type level string

// Audit is embedded by value: its columns map as if declared in gadget.
type Audit struct {
	CreatedAt time.Time `db:"created_at,created"`
	UpdatedAt time.Time `db:"updated_at,updated"`
}

// gadget has one field of each shape the scan path treats differently:
// embedded, named, Scanner, small unsigned, nullable and binary.
type gadget struct {
	ID    int64          `db:"id,pk"`
	Level level          `db:"level"`
	Note  sql.NullString `db:"note"`
	Rank  uint16         `db:"rank"`
	Ratio float32        `db:"ratio"`
	Spare *int64         `db:"spare"`
	Blob  []byte         `db:"blob"`
	Audit
}

var gadgetDDL = map[string]string{
	testdb.SQLiteDialect: `CREATE TABLE gadgets (id INTEGER PRIMARY KEY, level TEXT NOT NULL, note TEXT NULL,
		rank INTEGER NOT NULL, ratio REAL NOT NULL, spare INTEGER NULL, blob BLOB NULL,
		created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)`,
	testdb.PostgresDialect: `CREATE TABLE gadgets (id BIGSERIAL PRIMARY KEY, level TEXT NOT NULL, note TEXT NULL,
		rank INTEGER NOT NULL, ratio REAL NOT NULL, spare BIGINT NULL, blob BYTEA NULL,
		created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
	testdb.MySQLDialect: "CREATE TABLE gadgets (id BIGINT AUTO_INCREMENT PRIMARY KEY, level VARCHAR(20) NOT NULL, note TEXT NULL, " +
		"`rank` INT NOT NULL, ratio FLOAT NOT NULL, spare BIGINT NULL, `blob` BLOB NULL, " +
		"created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL)",
}

// TestScanShapes round-trips every field shape through every engine.
func TestScanShapes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		_, err := db.DB.ExecContext(ctx, gadgetDDL[db.Dialect])
		require.NoError(t, err, "create gadgets")
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		gadgets := repository.NewSQL[gadget, int64](db.DB, d, "gadgets", repository.Options[int64]{})

		spare := int64(-7)
		full := gadget{Level: "gold", Note: sql.NullString{String: "n", Valid: true}, Rank: 65000, Ratio: 0.5, Spare: &spare, Blob: []byte{0, 1, 255}}
		empty := gadget{Level: "none"}
		for _, g := range []*gadget{&full, &empty} {
			require.NoError(t, gadgets.Create(ctx, g), "create gadget")
			assert.False(t, g.CreatedAt.IsZero(), "embedded created column stamped")
		}
		for _, want := range []gadget{full, empty} {
			got, err := gadgets.FindByID(ctx, want.ID)
			require.NoError(t, err, "find gadget")
			if len(want.Blob) == 0 {
				assert.Empty(t, got.Blob, "no blob")
				got.Blob = want.Blob
			}
			assert.Equal(t, want, got, "gadget %d round-trips", want.ID)
		}
		rows, err := gadgets.FindMany(ctx, repository.FindOptions{Filter: repository.Filter{"level": "gold"}, OrderBy: "rank"})
		require.NoError(t, err, "filter by a named type from a plain string")
		require.Len(t, rows, 1, "one gold gadget")
		assert.Equal(t, full.ID, rows[0].ID, "the gold one")
		got, err := gadgets.Update(ctx, empty.ID, repository.Set{"level": level("silver"), "rank": 3, "spare": 9})
		require.NoError(t, err, "update named, unsigned and nullable fields")
		assert.Equal(t, level("silver"), got.Level, "level")
		assert.Equal(t, uint16(3), got.Rank, "rank")
		require.NotNil(t, got.Spare, "spare set")
		assert.Equal(t, int64(9), *got.Spare, "spare value")
		assert.True(t, got.UpdatedAt.After(got.CreatedAt) || got.UpdatedAt.Equal(got.CreatedAt), "updated_at maintained in the embedded struct")
	})
}
