package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/txn"
)

// User is a row of the example's users table.
type User struct {
	ID   int64
	Name string
}

// ErrNoUser is the example repository's not-found error.
var ErrNoUser = errors.New("user not found")

// userRepo stands for a database table; it counts its reads.
type userRepo struct {
	mu    sync.Mutex
	rows  map[int64]User
	reads int
}

func (r *userRepo) FindByID(_ context.Context, id int64) (*User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	u, ok := r.rows[id]
	if !ok {
		return nil, ErrNoUser
	}
	return &u, nil
}

func (r *userRepo) Rename(_ context.Context, id int64, name string) (*User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.rows[id]
	if !ok {
		return nil, ErrNoUser
	}
	u.Name = name
	r.rows[id] = u
	return &u, nil
}

// CachedUserService reads users through a cache and invalidates on update.
type CachedUserService struct {
	repo  *userRepo
	users *cache.Aside[int64, *User]
}

func (s *CachedUserService) User(ctx context.Context, id int64) (*User, error) {
	return s.users.Get(ctx, id, func(ctx context.Context) (*User, error) {
		return s.repo.FindByID(ctx, id)
	})
}

func (s *CachedUserService) Rename(ctx context.Context, id int64, name string) (*User, error) {
	u, err := s.repo.Rename(ctx, id, name)
	if err != nil {
		return nil, err
	}
	// In a transaction (package txn) this waits for the commit.
	txn.DeleteAfterCommit(ctx, s.users, id)
	return u, nil
}

// Example reproduces the catalogue's CachedUserService: reads go through the
// cache, "not found" is cached too, and an update invalidates the entry.
func Example() {
	ctx := context.Background()
	store := cache.NewMemory[*User](cache.MemoryOptions[*User]{})
	defer store.Close()
	svc := &CachedUserService{
		repo: &userRepo{rows: map[int64]User{1: {ID: 1, Name: "Ada"}}},
		users: cache.NewAside[int64, *User](store, cache.Options[int64]{
			Prefix:   "user:",
			NotFound: []error{ErrNoUser},
		}),
	}

	for range 3 {
		u, _ := svc.User(ctx, 1)
		fmt.Println("user 1:", u.Name)
	}
	for range 2 {
		_, err := svc.User(ctx, 2)
		fmt.Println("user 2:", err, errors.Is(err, ErrNoUser))
	}
	fmt.Println("database reads:", svc.repo.reads)

	if _, err := svc.Rename(ctx, 1, "Ada Lovelace"); err != nil {
		fmt.Println(err)
	}
	u, _ := svc.User(ctx, 1)
	fmt.Println("after update:", u.Name)
	fmt.Printf("%+v\n", svc.users.Stats())
	// Output:
	// user 1: Ada
	// user 1: Ada
	// user 1: Ada
	// user 2: cache: user:2: user not found true
	// user 2: cache: user:2: user not found true
	// database reads: 2
	// after update: Ada Lovelace
	// {Hits:2 Misses:3 NegativeHits:1 Loads:3 LoadErrors:0 StoreErrors:0 Refreshes:0 RefreshSkips:0 LeaseWaits:0 LostFills:0 DeleteRetries:0 DeleteFailures:0}
}

// ExampleAside_Get shows the errors a cached "not found" matches.
func ExampleAside_Get() {
	ctx := context.Background()
	store := cache.NewMemory[string](cache.MemoryOptions[string]{})
	defer store.Close()
	names := cache.NewAside[string, string](store, cache.Options[string]{})

	load := func(context.Context) (string, error) {
		return "", fmt.Errorf("lookup: %w", cache.ErrNotFound)
	}
	_, err := names.Get(ctx, "nobody", load) // loads
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	_, err = names.Get(ctx, "nobody", load) // cached placeholder
	var nf *cache.NotFoundError
	fmt.Println(errors.As(err, &nf), nf.Key)
	// Output:
	// true
	// true nobody
}

// ExampleNewMemory bounds a store by the bytes of its values.
func ExampleNewMemory() {
	ctx := context.Background()
	store := cache.NewMemory(cache.MemoryOptions[[]byte]{
		MaxBytes: 64 << 20,
		Weigher:  func(key string, v []byte) uint32 { return uint32(len(key) + len(v)) },
	})
	defer store.Close()
	_ = store.Set(ctx, "greeting", cache.Entry[[]byte]{Value: []byte("hello")}, 0)
	e, ok, _ := store.Get(ctx, "greeting")
	fmt.Println(string(e.Value), ok)
	// Output: hello true
}
