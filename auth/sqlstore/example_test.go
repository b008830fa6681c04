package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/sqlstore"
	"github.com/svckit/svckit/dialect"
)

// Example keeps refresh-token families in SQLite: the same code runs on
// PostgreSQL or MySQL with another driver and dialect.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:example?mode=memory&cache=shared")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	store := sqlstore.New(db, dialect.SQLite)
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	key, _ := auth.NewHS256Key("k1", []byte("a secret of at least thirty-two bytes"))
	keys, _ := auth.NewKeySet(key)
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: "https://auth.example.com",
		Keys:   keys,
		Store:  store,
		Users: auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) {
			return auth.User{ID: id}, nil
		}),
		Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}

	pair, _ := tokens.Issue(ctx, auth.User{ID: "u1"})
	_, err = tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Println("first refresh:", err)
	_, err = tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Println("second refresh is reuse:", errors.Is(err, auth.ErrTokenReused))

	// Output:
	// first refresh: <nil>
	// second refresh is reuse: true
}
