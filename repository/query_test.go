package repository

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
)

type qrow struct {
	ID      int64     `db:"id,pk"`
	Name    string    `db:"name"`
	Age     int       `db:"age"`
	Created time.Time `db:"created_at,created"`
}

// TestStatementText pins the SQL each dialect gets: quoting, placeholder
// numbering, the id tie-breaker and the expanded keyset predicate (no
// row-value comparison, which MySQL cannot serve from an index).
func TestStatementText(t *testing.T) {
	for _, tc := range []struct {
		d                             dialect.Dialect
		byID, insert, lock, del, many string
		page                          string
	}{
		{
			d:      dialect.Postgres,
			byID:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "id" = $1`,
			insert: `INSERT INTO "app"."people" ("name", "age", "created_at") VALUES ($1, $2, $3) RETURNING "id"`,
			lock:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "id" = $1 FOR UPDATE`,
			del:    `DELETE FROM "app"."people" WHERE "id" = $1`,
			many:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "age" IN ($1, $2) AND "name" = $3 ORDER BY "name" DESC, "id" DESC LIMIT $4 OFFSET $5`,
			page:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "age" = $1 AND ("name" > $2 OR ("name" = $3 AND "id" > $4)) ORDER BY "name" ASC, "id" ASC LIMIT $5`,
		},
		{
			d:      dialect.SQLite,
			byID:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "id" = ?`,
			insert: `INSERT INTO "app"."people" ("name", "age", "created_at") VALUES (?, ?, ?) RETURNING "id"`,
			lock:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "id" = ?`,
			del:    `DELETE FROM "app"."people" WHERE "id" = ?`,
			many:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "age" IN (?, ?) AND "name" = ? ORDER BY "name" DESC, "id" DESC LIMIT ? OFFSET ?`,
			page:   `SELECT "id", "name", "age", "created_at" FROM "app"."people" WHERE "age" = ? AND ("name" > ? OR ("name" = ? AND "id" > ?)) ORDER BY "name" ASC, "id" ASC LIMIT ?`,
		},
		{
			d:      dialect.MySQL,
			byID:   "SELECT `id`, `name`, `age`, `created_at` FROM `app`.`people` WHERE `id` = ?",
			insert: "INSERT INTO `app`.`people` (`name`, `age`, `created_at`) VALUES (?, ?, ?)",
			lock:   "SELECT `id`, `name`, `age`, `created_at` FROM `app`.`people` WHERE `id` = ? FOR UPDATE",
			del:    "DELETE FROM `app`.`people` WHERE `id` = ?",
			many:   "SELECT `id`, `name`, `age`, `created_at` FROM `app`.`people` WHERE `age` IN (?, ?) AND `name` = ? ORDER BY `name` DESC, `id` DESC LIMIT ? OFFSET ?",
			page:   "SELECT `id`, `name`, `age`, `created_at` FROM `app`.`people` WHERE `age` = ? AND (`name` > ? OR (`name` = ? AND `id` > ?)) ORDER BY `name` ASC, `id` ASC LIMIT ?",
		},
	} {
		r := NewSQL[qrow, int64](nil, tc.d, "app.people", Options[int64]{})
		assert.Equal(t, tc.byID, r.byID, "%v FindByID", tc.d)
		assert.Equal(t, tc.insert, r.insert, "%v Create", tc.d)
		assert.Equal(t, tc.lock, r.lockID, "%v FindByIDForUpdate", tc.d)
		assert.Equal(t, tc.del, r.delete, "%v Delete", tc.d)

		conds, err := r.m.resolveFilter(Filter{"name": "x", "age": []int{1, 2}})
		require.NoError(t, err, "filter resolves")
		b, n := r.appendWhere([]byte("SELECT "+r.columns+" FROM "+r.table), conds, nil, 0)
		b = r.appendOrder(b, 1, true)
		b = r.d.AppendPlaceholder(append(b, " LIMIT "...), n+1)
		b = r.d.AppendPlaceholder(append(b, " OFFSET "...), n+2)
		assert.Equal(t, tc.many, string(b), "%v FindMany", tc.d)
		assert.Equal(t, []any{1, 2, "x"}, r.whereArgs(nil, conds, nil), "%v FindMany args follow the placeholders", tc.d)

		conds, err = r.m.resolveFilter(Filter{"age": 3})
		require.NoError(t, err, "filter resolves")
		ks := keyset{col: 1, after: true, value: reflect.ValueOf("bob"), id: reflect.ValueOf(int64(9))}
		b, n = r.appendWhere([]byte("SELECT "+r.columns+" FROM "+r.table), conds, &ks, 0)
		b = r.appendOrder(b, 1, false)
		b = r.d.AppendPlaceholder(append(b, " LIMIT "...), n+1)
		assert.Equal(t, tc.page, string(b), "%v FindPage", tc.d)
		assert.Equal(t, []any{3, "bob", "bob", int64(9)}, r.whereArgs(nil, conds, &ks), "%v FindPage args", tc.d)
	}
}

func TestKeysetOnPrimaryKeyAndNulls(t *testing.T) {
	r := NewSQL[qrow, int64](nil, dialect.Postgres, "people", Options[int64]{})
	ks := keyset{col: r.m.pk, desc: true, after: true, id: reflect.ValueOf(int64(4))}
	b, _ := r.appendWhere(nil, nil, &ks, 0)
	assert.Equal(t, ` WHERE "id" < $1`, string(b), "ordering by the key alone needs one comparison")
	assert.Equal(t, []any{int64(4)}, r.whereArgs(nil, nil, &ks), "one argument")

	conds, err := r.m.resolveFilter(Filter{"age": []int{}, "name": nil})
	require.NoError(t, err, "empty IN and NULL resolve")
	b, _ = r.appendWhere(nil, conds, nil, 0)
	assert.Equal(t, ` WHERE 1 = 0 AND "name" IS NULL`, string(b), "empty IN matches nothing; nil is IS NULL")
}

func TestStatementCache(t *testing.T) {
	r := NewSQL[qrow, int64](nil, dialect.SQLite, "people", Options[int64]{})
	builds := 0
	build := func() string { builds++; return "q" }
	for range 3 {
		assert.Equal(t, "q", r.text(queryKey{kind: 'm', order: 1}, true, build), "cached text")
	}
	assert.Equal(t, 1, builds, "one build for one shape")
	r.text(queryKey{kind: 'm', order: 1}, false, build)
	assert.Equal(t, 2, builds, "uncacheable shapes build every time")
	for i := range maxCachedQueries + 10 {
		r.text(queryKey{kind: 'c', filter: fmt.Sprint(i)}, true, build)
	}
	assert.Len(t, r.cache, maxCachedQueries, "the cache is bounded")

	conds := []cond{{col: 1, in: true, values: make([]reflect.Value, 17)}}
	_, ok := filterShape(conds)
	assert.False(t, ok, "long IN lists are not cached")
	shape, ok := filterShape([]cond{{col: 1, values: make([]reflect.Value, 1)}, {col: 2, null: true}, {col: 3, in: true, values: make([]reflect.Value, 2)}})
	assert.True(t, ok, "short shapes are cached")
	assert.Equal(t, "1=,2n,3i2,", shape, "shape spells column, kind and arity")
}

func TestLimits(t *testing.T) {
	for in, want := range map[int]int{-5: DefaultLimit, 0: DefaultLimit, 1: 1, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		assert.Equal(t, want, clampLimit(in), "clampLimit(%d)", in)
	}
}
