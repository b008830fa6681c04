package repository_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

// TestContract runs one suite against every implementation: memory, and
// SQL on SQLite, PostgreSQL and MySQL/MariaDB.
func TestContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { contract(t, memoryRepos, nil) })
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		createSchema(t, db)
		contract(t, sqlRepos(db), db)
	})
}

// fresh empties the tables between subtests of one SQL database.
func fresh(t *testing.T, db *testdb.DB) {
	t.Helper()
	if db == nil {
		return
	}
	for _, table := range []string{"orders", "users"} {
		_, err := db.DB.ExecContext(context.Background(), "DELETE FROM "+table)
		require.NoError(t, err, "tables must empty between subtests")
	}
}

func contract(t *testing.T, mk repos, db *testdb.DB) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, users repository.Repository[user, int64], orders repository.Repository[order, int64], loader repository.Loader[order], clk *clock)
	}{
		{"CRUD", testCRUD},
		{"PartialUpdate", testPartialUpdate},
		{"NotFound", testNotFound},
		{"UniqueConflict", testUniqueConflict},
		{"Ordering", testOrdering},
		{"OffsetPages", testOffsetPages},
		{"Filters", testFilters},
		{"CursorPagesWhileInserting", testCursorPages},
		{"TamperedCursor", testTamperedCursor},
		{"UnknownFields", testUnknownFields},
		{"Injection", testInjection},
		{"EagerLoading", testEagerLoading},
		{"ConcurrentConflicts", testConcurrentConflicts},
		{"UpdateWithoutChange", testUpdateWithoutChange},
		{"FindIn", testFindIn},
		{"PagesPastTheEnd", testPastTheEnd},
		{"FilteredCursorPages", testFilteredCursorPages},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh(t, db)
			clk := newClock()
			users, orders, loader := mk(t, clk)
			tc.run(t, users, orders, loader, clk)
		})
	}
}

func testCRUD(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	born := time.Date(1985, 5, 6, 7, 8, 9, 987654321, time.FixedZone("X", 3600))
	u := user{Email: "ada@example.com", Name: "Ada", Age: 36, Score: 9.5, Active: true, BornAt: born, Ignored: "kept"}
	require.NoError(t, users.Create(ctx, &u), "create must succeed")
	assert.NotZero(t, u.ID, "create must fill in the id")
	assert.False(t, u.CreatedAt.IsZero(), "create must fill in created_at")
	assert.Equal(t, u.CreatedAt, u.UpdatedAt, "created and updated start equal")
	assert.Equal(t, time.UTC, u.BornAt.Location(), "times are written back in UTC")
	assert.True(t, u.BornAt.Equal(born.Truncate(time.Microsecond)), "times are truncated to microseconds")

	got, err := users.FindByID(ctx, u.ID)
	require.NoError(t, err, "find by id must succeed")
	u.Ignored = ""
	assert.Equal(t, u, got, "the row read back must equal the row written")

	second := user{Email: "bob@example.com", Name: "Bob", BornAt: born}
	require.NoError(t, users.Create(ctx, &second), "second create must succeed")
	assert.NotEqual(t, u.ID, second.ID, "ids must differ")
	n, err := users.Count(ctx, nil)
	require.NoError(t, err, "count must succeed")
	assert.EqualValues(t, 2, n, "two rows exist")

	require.NoError(t, users.Delete(ctx, u.ID), "delete must succeed")
	_, err = users.FindByID(ctx, u.ID)
	assert.ErrorIs(t, err, repository.ErrNotFound, "a deleted row is not found")
	n, err = users.Count(ctx, nil)
	require.NoError(t, err, "count must succeed")
	assert.EqualValues(t, 1, n, "one row left")
}

func testPartialUpdate(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	u := user{Email: "ada@example.com", Name: "Ada", Age: 36, Score: 1.5, Active: true, Nick: ptr("ace"), BornAt: time.Unix(0, 0)}
	require.NoError(t, users.Create(ctx, &u), "create must succeed")

	got, err := users.Update(ctx, u.ID, repository.Set{"name": "Ada L."})
	require.NoError(t, err, "update of one field must succeed")
	want := u
	want.Name, want.UpdatedAt = "Ada L.", got.UpdatedAt
	assert.Equal(t, want, got, "only name and updated_at change")
	assert.True(t, got.UpdatedAt.After(u.UpdatedAt), "updated_at must move forward")
	assert.Equal(t, u.CreatedAt, got.CreatedAt, "created_at never changes")

	got, err = users.Update(ctx, u.ID, repository.Set{"age": 0, "active": false, "nick": nil})
	require.NoError(t, err, "setting zero values and NULL must succeed")
	assert.Zero(t, got.Age, "age set to zero is stored as zero")
	assert.False(t, got.Active, "active set to false")
	assert.Nil(t, got.Nick, "nick set to NULL")
	assert.Equal(t, "Ada L.", got.Name, "fields not in the set keep their value")

	type patch struct {
		Name  repository.Optional[string]  `db:"name"`
		Score repository.Optional[float64] `db:"score"`
		Nick  repository.Optional[*string] `db:"nick"`
	}
	got, err = users.Update(ctx, u.ID, repository.NewPatch[patch]().Of(patch{Score: repository.Some(0.0), Nick: repository.Some(ptr("A"))}))
	require.NoError(t, err, "a typed patch must apply")
	assert.Equal(t, "Ada L.", got.Name, "absent Optional leaves name alone")
	assert.Zero(t, got.Score, "present zero Optional sets score to zero")
	require.NotNil(t, got.Nick, "nick set through a pointer Optional")
	assert.Equal(t, "A", *got.Nick, "nick value")

	got, err = users.Update(ctx, u.ID, repository.Set{"age": "41"})
	require.NoError(t, err, "a numeric string converts to the int field")
	assert.Equal(t, 41, got.Age, "age parsed from a string")

	same, err := users.Update(ctx, u.ID, repository.Set{})
	require.NoError(t, err, "an empty set is a read")
	assert.Equal(t, got, same, "an empty set changes nothing")

	stored, err := users.FindByID(ctx, u.ID)
	require.NoError(t, err, "find after updates")
	assert.Equal(t, got, stored, "Update returns the row as stored")

	for _, bad := range []repository.Set{
		{"id": 5}, {"created_at": time.Now()}, {"updated_at": time.Now()},
		{"nope": 1}, {"age": "old"}, {"name": nil}, {"name": "x", "name ": "y"},
	} {
		_, err := users.Update(ctx, u.ID, bad)
		var fe *repository.FieldError
		require.ErrorAs(t, err, &fe, "set %v must be rejected with a FieldError", bad)
		assert.ErrorIs(t, err, repository.ErrInvalidField, "set %v matches ErrInvalidField", bad)
		assert.Equal(t, errkind.BadRequest, errkind.Of(err), "field errors report BadRequest")
	}
}

func testNotFound(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	_, err := users.FindByID(ctx, 424242)
	require.ErrorIs(t, err, repository.ErrNotFound, "find of a missing id")
	assert.Equal(t, errkind.NotFound, errkind.Of(err), "not found reports NotFound")
	_, err = users.Update(ctx, 424242, repository.Set{"name": "x"})
	assert.ErrorIs(t, err, repository.ErrNotFound, "update of a missing id")
	assert.ErrorIs(t, users.Delete(ctx, 424242), repository.ErrNotFound, "delete of a missing id")
	rows, err := users.FindByIDs(ctx, []int64{424242})
	require.NoError(t, err, "find by ids skips missing ids")
	assert.Empty(t, rows, "no rows for missing ids")
}

func testUniqueConflict(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	a := user{Email: "ada@example.com", Name: "Ada", BornAt: time.Unix(0, 0)}
	require.NoError(t, users.Create(ctx, &a), "first create")
	dup := user{Email: "ada@example.com", Name: "Other", BornAt: time.Unix(0, 0)}
	err := users.Create(ctx, &dup)
	require.ErrorIs(t, err, repository.ErrConflict, "a duplicate unique field conflicts")
	var ce *repository.ConflictError
	require.ErrorAs(t, err, &ce, "the conflict is a *ConflictError")
	assert.Equal(t, "email", ce.Field, "the conflicting field is named")
	assert.Equal(t, errkind.Conflict, errkind.Of(err), "conflicts report Conflict")
	if _, memory := users.(*repository.Memory[user, int64]); !memory {
		assert.NotNil(t, errors.Unwrap(err), "the driver error stays in the chain")
	}

	b := user{Email: "bob@example.com", Name: "Bob", BornAt: time.Unix(0, 0)}
	require.NoError(t, users.Create(ctx, &b), "second create")
	_, err = users.Update(ctx, b.ID, repository.Set{"email": "ada@example.com"})
	require.ErrorIs(t, err, repository.ErrConflict, "an update onto a taken unique value conflicts")
	got, err := users.FindByID(ctx, b.ID)
	require.NoError(t, err, "find after the failed update")
	assert.Equal(t, "bob@example.com", got.Email, "a conflicting update changes nothing")
	_, err = users.Update(ctx, b.ID, repository.Set{"email": "bob@example.com"})
	assert.NoError(t, err, "setting a row's own unique value is no conflict")
	require.NoError(t, users.Delete(ctx, a.ID), "delete the owner")
	_, err = users.Update(ctx, b.ID, repository.Set{"email": "ada@example.com"})
	assert.NoError(t, err, "a value freed by delete can be taken")
}
