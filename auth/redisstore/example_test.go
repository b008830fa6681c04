package redisstore_test

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/redisstore"
)

// Example shares refresh-token families between instances through Redis.
// On Redis Cluster, give the prefix a hash tag so every key of the store
// lives in one slot.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	keys, _ := auth.NewKeySet(mustKey())
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: "https://auth.example.com",
		Keys:   keys,
		Store:  redisstore.New(client, redisstore.Options{Prefix: "{auth}:"}),
		Users: auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) {
			return auth.User{ID: id}, nil
		}),
	})
	if err != nil {
		panic(err)
	}
	_ = tokens // tokens.Issue, tokens.Refresh, ... as with any store
}

func mustKey() *auth.Key {
	k, err := auth.NewHS256Key("k1", []byte("a secret of at least thirty-two bytes"))
	if err != nil {
		panic(err)
	}
	return k
}
