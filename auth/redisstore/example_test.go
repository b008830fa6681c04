package redisstore_test

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/redisstore"
)

// Example shares refresh-token families between instances through Redis.
// The same code runs on Redis Cluster with a *redis.ClusterClient: the
// store hash-tags each family itself, so the prefix holds no tag.
// ContextTimeoutEnabled lets the store's per-call deadlines cut a hung
// socket read short.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close()

	keys, _ := auth.NewKeySet(mustKey())
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: "https://auth.example.com",
		Keys:   keys,
		Store:  redisstore.New(client, redisstore.Options{Prefix: "myapp:auth:"}),
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
