package repository_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/repository"
)

type tag struct {
	ID    uint32  `db:"id,pk"`
	Slug  string  `db:"slug,unique"`
	Alias *string `db:"alias,unique"`
	Hits  int     `db:"hits"`
}

func TestMemoryConcurrentUse(t *testing.T) {
	ctx := context.Background()
	tags := repository.NewMemory[tag, uint32](repository.MemoryOptions[uint32]{Name: "tags"})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tg := tag{Slug: fmt.Sprintf("w%d-%d", w, i)}
				if !assert.NoError(t, tags.Create(ctx, &tg), "create") {
					return
				}
				_, err := tags.Update(ctx, tg.ID, repository.Set{"hits": i})
				assert.NoError(t, err, "update")
				_, err = tags.FindMany(ctx, repository.FindOptions{OrderBy: "hits", Limit: 5})
				assert.NoError(t, err, "list")
				if i%5 == 0 {
					assert.NoError(t, tags.Delete(ctx, tg.ID), "delete")
				}
			}
		}()
	}
	wg.Wait()
	n, err := tags.Count(ctx, nil)
	require.NoError(t, err, "count")
	assert.EqualValues(t, workers*(each-each/5), n, "creates minus deletes")
	all, err := tags.FindMany(ctx, repository.FindOptions{Limit: repository.MaxLimit})
	require.NoError(t, err, "list all")
	seen := map[uint32]bool{}
	for _, tg := range all {
		assert.False(t, seen[tg.ID], "id %d assigned once", tg.ID)
		seen[tg.ID] = true
	}
}

func TestMemoryUniqueNullsAndIndexMoves(t *testing.T) {
	ctx := context.Background()
	tags := repository.NewMemory[tag, uint32](repository.MemoryOptions[uint32]{Name: "tags"})
	a, b := tag{Slug: "a"}, tag{Slug: "b"}
	require.NoError(t, tags.Create(ctx, &a), "NULL alias")
	require.NoError(t, tags.Create(ctx, &b), "a second NULL alias does not conflict")
	assert.Equal(t, uint32(1), a.ID, "counter ids start at 1")
	assert.Equal(t, uint32(2), b.ID, "and count up")

	_, err := tags.Update(ctx, a.ID, repository.Set{"alias": "x"})
	require.NoError(t, err, "set an alias")
	_, err = tags.Update(ctx, b.ID, repository.Set{"alias": "x"})
	assert.ErrorIs(t, err, repository.ErrConflict, "a taken alias conflicts")
	_, err = tags.Update(ctx, a.ID, repository.Set{"alias": nil, "slug": "a2"})
	require.NoError(t, err, "release the alias and rename")
	_, err = tags.Update(ctx, b.ID, repository.Set{"alias": "x", "slug": "a"})
	require.NoError(t, err, "freed values can be taken")
	c := tag{Slug: "a2"}
	assert.ErrorIs(t, tags.Create(ctx, &c), repository.ErrConflict, "the renamed slug is indexed")
	d := tag{Slug: "d", ID: 2}
	require.NoError(t, tags.Create(ctx, &d), "a caller id is replaced by the counter")
	assert.NotEqual(t, uint32(2), d.ID, "the counter owns the ids")
}

func TestMemoryReturnsCopies(t *testing.T) {
	ctx := context.Background()
	users := repository.NewMemory[user, int64](repository.MemoryOptions[int64]{Name: "users"})
	u := user{Email: "a@example.com", Name: "A", BornAt: time.Unix(0, 0)}
	require.NoError(t, users.Create(ctx, &u), "create")
	u.Name = "changed by caller"
	got, err := users.FindByID(ctx, u.ID)
	require.NoError(t, err, "find")
	assert.Equal(t, "A", got.Name, "the caller's struct is not the stored row")
	got.Name = "changed again"
	again, err := users.FindByID(ctx, u.ID)
	require.NoError(t, err, "find again")
	assert.Equal(t, "A", again.Name, "a returned row is a copy")
}

func TestMemoryUUIDCallerIDs(t *testing.T) {
	type doc struct {
		ID   repository.UUID `db:"id,pk"`
		Body string          `db:"body"`
	}
	ctx := context.Background()
	docs := repository.NewMemory[doc, repository.UUID](repository.MemoryOptions[repository.UUID]{Name: "docs", Options: repository.Options[repository.UUID]{NewID: repository.NewUUIDv7}})
	chosen := uuid.MustParse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	mine := doc{ID: chosen, Body: "mine"}
	require.NoError(t, docs.Create(ctx, &mine), "a caller-set id does not fail the create")
	assert.NotEqual(t, chosen, mine.ID, "the caller-set id is replaced by a generated one")
	_, err := docs.FindByID(ctx, chosen)
	assert.ErrorIs(t, err, repository.ErrNotFound, "no row has the caller-chosen id")
	gen := doc{Body: "generated"}
	require.NoError(t, docs.Create(ctx, &gen), "a zero id is generated")
	rows, err := docs.FindByIDs(ctx, []repository.UUID{gen.ID, mine.ID, {}})
	require.NoError(t, err, "find by ids")
	require.Len(t, rows, 2, "both found, the nil uuid skipped")
	assert.Equal(t, "generated", rows[0].Body, "in the order asked")
}
