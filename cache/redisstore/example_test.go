package redisstore_test

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
)

type Product struct {
	SKU   string `json:"sku"`
	Price int64  `json:"price"` // minor units
}

var errNoProduct = errors.New("no such product")

func findProduct(ctx context.Context, sku string) (Product, error) {
	return Product{SKU: sku, Price: 1999}, nil
}

// ExampleNew caches products in Redis, shared by every instance of the
// service. It needs a Redis server, so it is compiled but not run.
func ExampleNew() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()

	products := cache.NewAside[string, Product](
		redisstore.New[Product](rdb, redisstore.Options{Prefix: "shop:"}),
		cache.Options[string]{
			Prefix:   "product:",
			NotFound: []error{errNoProduct},
			Logger:   slog.Default(), // one line when Redis goes down, one when it is back
			// Past five minutes a product is served stale while one
			// instance, whichever reads it first, reloads it.
			RefreshAfter: 5 * time.Minute,
		})
	defer products.Close() // ends the background refreshes

	p, err := products.Get(ctx, "A-1", func(ctx context.Context) (Product, error) {
		return findProduct(ctx, "A-1")
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println(p.Price)
}

// ExampleNewTwoLevel keeps hot entries in process memory in front of Redis;
// deletes reach the other instances through Redis pub/sub.
func ExampleNewTwoLevel() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()

	store, err := redisstore.NewTwoLevel(ctx, rdb, redisstore.TwoLevelOptions[Product]{
		Options: redisstore.Options{Prefix: "shop:"},
		Local:   cache.MemoryOptions[Product]{MaxEntries: 50_000},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	products := cache.NewAside[string, Product](store, cache.Options[string]{Prefix: "product:"})

	// After an update commits, every instance drops its copy.
	if err := products.Delete(ctx, "A-1"); err != nil {
		log.Print(err)
	}
}
