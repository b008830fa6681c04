package repository_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/repository"
)

// less orders two users by column then id, as the repository must.
func less(col string) func(a, b user) int {
	key := func(u user) func(o user) int {
		switch col {
		case "id":
			return func(o user) int { return cmp.Compare(u.ID, o.ID) }
		case "email":
			return func(o user) int { return strings.Compare(u.Email, o.Email) }
		case "name":
			return func(o user) int { return strings.Compare(u.Name, o.Name) }
		case "age":
			return func(o user) int { return cmp.Compare(u.Age, o.Age) }
		case "score":
			return func(o user) int { return cmp.Compare(u.Score, o.Score) }
		case "active":
			return func(o user) int { return cmp.Compare(b2i(u.Active), b2i(o.Active)) }
		case "nick":
			return func(o user) int { return strings.Compare(*u.Nick, *o.Nick) }
		case "born_at":
			return func(o user) int { return u.BornAt.Compare(o.BornAt) }
		case "created_at":
			return func(o user) int { return u.CreatedAt.Compare(o.CreatedAt) }
		case "updated_at":
			return func(o user) int { return u.UpdatedAt.Compare(o.UpdatedAt) }
		}
		panic("unknown column " + col)
	}
	return func(a, b user) int {
		if c := key(a)(b); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func testOrdering(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 25, "o")
	for _, col := range columns {
		for _, dir := range []repository.Direction{repository.Asc, repository.Desc} {
			want := slices.Clone(rows)
			slices.SortFunc(want, less(col))
			if dir == repository.Desc {
				slices.Reverse(want)
			}
			got, err := users.FindMany(ctx, repository.FindOptions{OrderBy: col, OrderDir: dir, Limit: 1000})
			require.NoError(t, err, "order by %s %s", col, dir)
			assert.Equal(t, ids(want), ids(got), "FindMany order by %s %s", col, dir)
			if col == "nick" {
				continue // nullable: FindPage rejects it (tested in UnknownFields)
			}

			var paged []user
			cur := ""
			for {
				p, err := users.FindPage(ctx, repository.PageOptions{OrderBy: col, OrderDir: dir, Limit: 4, Cursor: cur})
				require.NoError(t, err, "page by %s %s", col, dir)
				paged = append(paged, p.Items...)
				if !p.HasMore {
					assert.Empty(t, p.NextCursor, "the last page has no cursor")
					break
				}
				require.Len(t, p.Items, 4, "a page with more after it is full")
				cur = p.NextCursor
			}
			assert.Equal(t, ids(want), ids(paged), "FindPage order by %s %s", col, dir)
		}
	}
	got, err := users.FindMany(ctx, repository.FindOptions{OrderBy: "createdAt", OrderDir: repository.Desc, Limit: 3})
	require.NoError(t, err, "json names are accepted in orderBy")
	assert.Equal(t, []int64{rows[24].ID, rows[23].ID, rows[22].ID}, ids(got), "createdAt desc is newest first")
}

func testOffsetPages(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 23, "p")
	want := slices.Clone(rows)
	slices.SortFunc(want, less("age"))
	var got []user
	for offset := 0; offset < 30; offset += 5 {
		page, err := users.FindMany(ctx, repository.FindOptions{OrderBy: "age", Limit: 5, Offset: offset})
		require.NoError(t, err, "offset page %d", offset)
		assert.LessOrEqual(t, len(page), 5, "a page holds at most Limit rows")
		got = append(got, page...)
	}
	assert.Equal(t, ids(want), ids(got), "offset pages concatenate to the full order")

	all, err := users.FindMany(ctx, repository.FindOptions{})
	require.NoError(t, err, "zero options")
	assert.Equal(t, ids(rows), ids(all), "zero options: primary key order")
	neg, err := users.FindMany(ctx, repository.FindOptions{Limit: -3, Offset: -1})
	require.NoError(t, err, "negative limit and offset fall back to defaults")
	assert.Len(t, neg, len(rows), "default limit covers 23 rows")
	huge, err := users.FindMany(ctx, repository.FindOptions{Limit: 1 << 30})
	require.NoError(t, err, "a huge limit is capped, not rejected")
	assert.Len(t, huge, len(rows), "capped limit still returns every row here")
}

func testFilters(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 20, "f")
	noNick := user{Email: "nonick@example.com", Name: "zz", Age: 99, BornAt: time.Unix(0, 0)}
	require.NoError(t, users.Create(ctx, &noNick), "create a row with NULL nick")
	count := func(pred func(u user) bool) int64 {
		n := int64(0)
		for _, u := range rows {
			if pred(u) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name   string
		filter repository.Filter
		want   int64
	}{
		{"equality", repository.Filter{"age": 21}, count(func(u user) bool { return u.Age == 21 })},
		{"two terms", repository.Filter{"age": 21, "active": true}, count(func(u user) bool { return u.Age == 21 && u.Active })},
		{"in", repository.Filter{"age": []int{20, 22}}, count(func(u user) bool { return u.Age == 20 || u.Age == 22 })},
		{"empty in", repository.Filter{"age": []int{}}, 0},
		{"string converts", repository.Filter{"age": "23"}, count(func(u user) bool { return u.Age == 23 })},
		{"json name", repository.Filter{"bornAt": rows[3].BornAt}, 1},
		{"null", repository.Filter{"nick": nil}, 1},
		{"pointer column value", repository.Filter{"nick": *rows[0].Nick}, 1},
		{"email", repository.Filter{"email": rows[5].Email}, 1},
	} {
		n, err := users.Count(ctx, tc.filter)
		require.NoError(t, err, "count %s", tc.name)
		assert.Equal(t, tc.want, n, "count %s", tc.name)
		got, err := users.FindMany(ctx, repository.FindOptions{Filter: tc.filter, Limit: 100})
		require.NoError(t, err, "find %s", tc.name)
		assert.Len(t, got, int(tc.want), "find %s", tc.name)
		p, err := users.FindPage(ctx, repository.PageOptions{Filter: tc.filter, Limit: 100})
		require.NoError(t, err, "page %s", tc.name)
		assert.Len(t, p.Items, int(tc.want), "page %s", tc.name)
	}
}

func testCursorPages(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 40, "c")
	for _, col := range []string{"id", "name", "age"} {
		for _, dir := range []repository.Direction{repository.Asc, repository.Desc} {
			var wg sync.WaitGroup
			errs := make(chan error, 1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 15 {
					u := user{Email: "new-" + col + dir.String() + string(rune('a'+i)) + "@example.com",
						Name: string(rune('a' + i)), Age: 20 + i%5, Nick: ptr("x"), BornAt: time.Unix(int64(i), 0)}
					if err := users.Create(ctx, &u); err != nil {
						errs <- err
						return
					}
				}
			}()
			seen := map[int64]int{}
			cur := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100, "paging must end")
				p, err := users.FindPage(ctx, repository.PageOptions{OrderBy: col, OrderDir: dir, Limit: 6, Cursor: cur})
				require.NoError(t, err, "page by %s %s", col, dir)
				for _, u := range p.Items {
					seen[u.ID]++
				}
				if !p.HasMore {
					break
				}
				cur = p.NextCursor
			}
			wg.Wait()
			close(errs)
			require.NoError(t, <-errs, "concurrent inserts must succeed")
			for id, n := range seen {
				assert.Equal(t, 1, n, "row %d visited once ordering by %s %s", id, col, dir)
			}
			for _, u := range rows {
				assert.Contains(t, seen, u.ID, "pre-existing row %d visited ordering by %s %s", u.ID, col, dir)
			}
		}
	}
}

func testTamperedCursor(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	seed(t, users, 10, "t")
	p, err := users.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 3})
	require.NoError(t, err, "first page")
	require.True(t, p.HasMore, "more pages follow")
	c := p.NextCursor
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"payload byte":   flip(c, 2),
		"signature byte": flip(c, len(c)-2),
		"no signature":   c[:strings.IndexByte(c, '.')],
		"garbage":        "not a cursor",
		"empty payload":  "." + c[strings.IndexByte(c, '.')+1:],
		"huge":           strings.Repeat("A", 5000),
	} {
		_, err := users.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 3, Cursor: bad})
		require.ErrorIs(t, err, repository.ErrInvalidCursor, "cursor with a changed %s must be rejected", name)
		assert.Equal(t, errkind.BadRequest, errkind.Of(err), "cursor errors report BadRequest")
	}
	_, err = users.FindPage(ctx, repository.PageOptions{OrderBy: "age", Limit: 3, Cursor: c})
	assert.ErrorIs(t, err, repository.ErrInvalidCursor, "a cursor for another column is rejected")
	_, err = users.FindPage(ctx, repository.PageOptions{OrderBy: "name", OrderDir: repository.Desc, Limit: 3, Cursor: c})
	assert.ErrorIs(t, err, repository.ErrInvalidCursor, "a cursor for another direction is rejected")
	_, err = users.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 3, Cursor: c})
	assert.NoError(t, err, "the untouched cursor still works")
}

func testUnknownFields(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["FindMany orderBy"] = users.FindMany(ctx, repository.FindOptions{OrderBy: "password"})
	_, checks["FindPage orderBy"] = users.FindPage(ctx, repository.PageOptions{OrderBy: "Ignored"})
	_, checks["FindPage nullable orderBy"] = users.FindPage(ctx, repository.PageOptions{OrderBy: "nick"})
	_, checks["FindMany filter"] = users.FindMany(ctx, repository.FindOptions{Filter: repository.Filter{"password": "x"}})
	_, checks["Count filter"] = users.Count(ctx, repository.Filter{"nope": 1})
	_, checks["filter value type"] = users.Count(ctx, repository.Filter{"age": "twenty"})
	_, checks["direction"] = users.FindMany(ctx, repository.FindOptions{OrderDir: repository.Direction(7)})
	_, checks["FindIn column"] = users.FindIn(ctx, "nope", []any{1})
	for name, err := range checks {
		require.ErrorIs(t, err, repository.ErrInvalidField, "%s must be rejected", name)
		var fe *repository.FieldError
		require.ErrorAs(t, err, &fe, "%s is a FieldError", name)
		assert.Equal(t, errkind.BadRequest, errkind.Of(err), "%s reports BadRequest", name)
	}
}

func testInjection(t *testing.T, users repository.Repository[user, int64], _ repository.Repository[order, int64], _ repository.Loader[order], _ *clock) {
	ctx := context.Background()
	seed(t, users, 5, "i")
	for _, evil := range []string{
		"name; DROP TABLE users; --", "name DESC, (SELECT 1)", `name" --`, "name`", "1=1 OR name",
	} {
		_, err := users.FindMany(ctx, repository.FindOptions{OrderBy: evil})
		assert.ErrorIs(t, err, repository.ErrInvalidField, "orderBy %q must be rejected", evil)
		_, err = users.Count(ctx, repository.Filter{evil: "x"})
		assert.ErrorIs(t, err, repository.ErrInvalidField, "filter key %q must be rejected", evil)
		_, err = users.Update(ctx, 1, repository.Set{evil: "x"})
		assert.ErrorIs(t, err, repository.ErrInvalidField, "set key %q must be rejected", evil)
	}
	for _, evil := range []string{"' OR '1'='1", "x'; DROP TABLE users; --", `" OR ""="`} {
		n, err := users.Count(ctx, repository.Filter{"name": evil})
		require.NoError(t, err, "a hostile value is just a value")
		assert.Zero(t, n, "value %q matches nothing: it is bound, not spliced", evil)
	}
	n, err := users.Count(ctx, nil)
	require.NoError(t, err, "the table still exists")
	assert.EqualValues(t, 5, n, "no row was lost")
}

func testEagerLoading(t *testing.T, users repository.Repository[user, int64], orders repository.Repository[order, int64], loader repository.Loader[order], _ *clock) {
	ctx := context.Background()
	rows := seed(t, users, 12, "e")
	want := map[int64][]int64{}
	for i, u := range rows {
		for j := range i % 4 { // some users have no orders
			o := order{UserID: u.ID, Item: "item", Cents: int64(100*i + j)}
			require.NoError(t, orders.Create(ctx, &o), "create order")
			want[u.ID] = append(want[u.ID], o.ID)
		}
	}
	page, err := users.FindMany(ctx, repository.FindOptions{OrderBy: "name", Limit: 100})
	require.NoError(t, err, "load the parents")
	got, err := repository.LoadMany(ctx, loader, "user_id", page, func(u user) int64 { return u.ID })
	require.NoError(t, err, "load the orders")
	gotIDs := map[int64][]int64{}
	for k, os := range got {
		for _, o := range os {
			assert.Equal(t, k, o.UserID, "order grouped under its user")
			gotIDs[k] = append(gotIDs[k], o.ID)
		}
	}
	assert.Equal(t, want, gotIDs, "every order, under its user, in id order")

	_, err = repository.LoadMany(ctx, loader, "nope", page, func(u user) int64 { return u.ID })
	assert.ErrorIs(t, err, repository.ErrInvalidField, "an unknown foreign key is rejected")
	empty, err := repository.LoadMany(ctx, loader, "user_id", []user(nil), func(u user) int64 { return u.ID })
	require.NoError(t, err, "no parents")
	assert.Empty(t, empty, "no parents, no children")

	asked := []int64{rows[3].ID, 999999, rows[1].ID, rows[3].ID}
	for i := range 1100 { // more than two IN chunks
		asked = append(asked, int64(1_000_000+i))
	}
	asked = append(asked, rows[7].ID)
	found, err := users.FindByIDs(ctx, asked)
	require.NoError(t, err, "find by ids")
	assert.Equal(t, []int64{rows[3].ID, rows[1].ID, rows[7].ID}, ids(found), "rows in the order asked, missing and repeated ids skipped")
}
