package repository_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/repository"
)

// testConcurrentConflicts races writers for one unique value: exactly one
// wins, every other gets ErrConflict, whatever the engine.
func testConcurrentConflicts(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	const writers = 6
	var wg sync.WaitGroup
	results := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := user{Email: "race@example.com", Name: fmt.Sprintf("w%d", i), BornAt: time.Unix(0, 0)}
			results <- users.Create(ctx, &u)
		}()
	}
	wg.Wait()
	close(results)
	won, lost := 0, 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case assert.ErrorIs(t, err, repository.ErrConflict, "a losing writer gets a conflict"):
			lost++
		}
	}
	assert.Equal(t, 1, won, "exactly one writer wins")
	assert.Equal(t, writers-1, lost, "every other writer conflicts")
	n, err := users.Count(ctx, repository.Filter{"email": "race@example.com"})
	require.NoError(t, err, "count the winners")
	assert.EqualValues(t, 1, n, "one row holds the value")
}

// testUpdateWithoutChange sets a column to the value it already has on a
// table without an updated column: MySQL reports zero changed rows, which
// must not read as not-found.
func testUpdateWithoutChange(t *testing.T, _ repository.Repository[user, int64], orders repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	o := order{UserID: 1, Item: "pen", Cents: 150}
	require.NoError(t, orders.Create(ctx, &o), "create order")
	got, err := orders.Update(ctx, o.ID, repository.Set{"item": "pen", "cents": 150})
	require.NoError(t, err, "an update that changes nothing still finds the row")
	assert.Equal(t, o, got, "the row is unchanged")
	_, err = orders.Update(ctx, o.ID+1000, repository.Set{"item": "pen"})
	assert.ErrorIs(t, err, repository.ErrNotFound, "a missing row is still not found")
	got, err = orders.Update(ctx, o.ID, repository.Set{"cents": int32(99)})
	require.NoError(t, err, "an int32 converts to the int64 field")
	assert.EqualValues(t, 99, got.Cents, "cents updated")
}

// testFindIn checks the query behind LoadMany: conversion, repeats, order.
func testFindIn(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 8, "in")
	got, err := users.FindIn(ctx, "email", []any{rows[5].Email, rows[2].Email, rows[5].Email, "nobody@example.com"})
	require.NoError(t, err, "find in by email")
	assert.Equal(t, []int64{rows[2].ID, rows[5].ID}, ids(got), "matches once each, in primary key order")
	got, err = users.FindIn(ctx, "id", []any{fmt.Sprint(rows[1].ID), int32(rows[0].ID)})
	require.NoError(t, err, "ids given as a string and an int32 convert")
	assert.Equal(t, []int64{rows[0].ID, rows[1].ID}, ids(got), "both rows found")
	got, err = users.FindIn(ctx, "age", nil)
	require.NoError(t, err, "no values")
	assert.Empty(t, got, "no values match nothing")
	_, err = users.FindIn(ctx, "age", []any{"old"})
	assert.ErrorIs(t, err, repository.ErrInvalidField, "a value that does not convert is rejected")
}

// testPastTheEnd pages beyond the last row.
func testPastTheEnd(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 4, "end")
	got, err := users.FindMany(ctx, repository.FindOptions{Offset: 10})
	require.NoError(t, err, "an offset past the end is no error")
	assert.Empty(t, got, "no rows past the end")
	p, err := users.FindPage(ctx, repository.PageOptions{Limit: 4})
	require.NoError(t, err, "a page exactly as long as the table")
	assert.Len(t, p.Items, 4, "all rows")
	assert.False(t, p.HasMore, "limit+1 shows nothing follows")
	assert.Empty(t, p.NextCursor, "no cursor on the last page")
	p, err = users.FindPage(ctx, repository.PageOptions{Limit: 3, OrderDir: repository.Desc})
	require.NoError(t, err, "first page newest first")
	require.True(t, p.HasMore, "one row follows")
	require.NoError(t, users.Delete(ctx, rows[0].ID), "the last row goes away between pages")
	p, err = users.FindPage(ctx, repository.PageOptions{Limit: 3, OrderDir: repository.Desc, Cursor: p.NextCursor})
	require.NoError(t, err, "a cursor stays valid when rows change")
	assert.Empty(t, p.Items, "nothing left after the cursor")
	assert.False(t, p.HasMore, "and nothing more")
}

// testFilteredCursorPages pages a filtered set in both directions: every
// matching row once, no other row.
func testFilteredCursorPages(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 30, "fc")
	want := map[int64]bool{}
	for _, u := range rows {
		if u.Active && u.Age != 22 {
			want[u.ID] = true
		}
	}
	filter := repository.Filter{"active": true, "age": []int{20, 21, 23, 24}}
	for _, dir := range []repository.Direction{repository.Asc, repository.Desc} {
		got := map[int64]bool{}
		cur := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 50, "paging must end")
			p, err := users.FindPage(ctx, repository.PageOptions{Filter: filter, OrderBy: "score", OrderDir: dir, Limit: 2, Cursor: cur})
			require.NoError(t, err, "filtered page %s", dir)
			for _, u := range p.Items {
				assert.False(t, got[u.ID], "row %d seen once", u.ID)
				got[u.ID] = true
			}
			if !p.HasMore {
				break
			}
			cur = p.NextCursor
		}
		assert.Equal(t, want, got, "exactly the matching rows, %s", dir)
	}
}
