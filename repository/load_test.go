package repository_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/repository"
)

type account struct {
	ID int64 `db:"id,pk"`
}

// entry has a nullable foreign key of a narrower type than the parent key.
type entry struct {
	ID        int64  `db:"id,pk"`
	AccountID *int32 `db:"account_id" json:"accountId"`
	Memo      string `db:"memo"`
}

func TestLoadManyConvertsKeysAndSkipsNulls(t *testing.T) {
	ctx := context.Background()
	entries := repository.NewMemory[entry, int64](repository.MemoryOptions[int64]{Name: "entries"})
	one, two := int32(1), int32(2)
	for _, e := range []entry{{AccountID: &one, Memo: "a"}, {AccountID: nil, Memo: "orphan"}, {AccountID: &two, Memo: "b"}, {AccountID: &one, Memo: "c"}} {
		require.NoError(t, entries.Create(ctx, &e), "create entry")
	}
	parents := []account{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 1}}
	got, err := repository.LoadMany(ctx, entries, "accountId", parents, func(a account) int64 { return a.ID })
	require.NoError(t, err, "load through the json alias of the key")
	memos := map[int64][]string{}
	for k, es := range got {
		for _, e := range es {
			memos[k] = append(memos[k], e.Memo)
		}
	}
	assert.Equal(t, map[int64][]string{1: {"a", "c"}, 2: {"b"}}, memos, "grouped by converted key, NULLs skipped, childless parents absent")

	_, err = repository.LoadMany(ctx, entries, "memo", parents, func(a account) struct{ X int } { return struct{ X int }{int(a.ID)} })
	assert.ErrorIs(t, err, repository.ErrInvalidField, "a key that does not convert to the column is rejected")
}
