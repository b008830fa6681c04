package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/repository"
)

// memoryUsers is a UserService on repository.Memory and an in-memory cache,
// as a unit test of the service builds it: no database at all.
func memoryUsers(t *testing.T) (*UserService, *[]Event) {
	t.Helper()
	var events []Event
	bus := &LogBus{Logger: slog.New(slog.DiscardHandler)}
	bus.Subscribe(func(_ context.Context, e Event) { events = append(events, e) })
	store := cache.NewMemory[User](cache.MemoryOptions[User]{Now: time.Now})
	t.Cleanup(func() { _ = store.Close() })
	s := newUserService(
		repository.NewMemory[userRecord, string](repository.MemoryOptions[string]{Name: "users", Options: repository.Options[string]{NewID: newUUID}}),
		func(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) },
		cache.NewAside[string, User](store, cache.Options[string]{Prefix: "user:", NotFound: []error{repository.ErrNotFound}}),
		bus,
		&auth.Hasher{Params: auth.Argon2Params{Memory: 64, Time: 1}},
	)
	return s, &events
}

func TestUserServiceRegister(t *testing.T) {
	s, events := memoryUsers(t)
	ctx := context.Background()
	u, err := s.Register(ctx, "ada@example.com", "password-1", " Ada ")
	require.NoError(t, err, "register")
	assert.Equal(t, "Ada", u.Name, "name trimmed")
	assert.Equal(t, []string{RoleUser}, u.Roles, "role user")
	require.Len(t, *events, 1, "user.created emitted")

	tests := []struct {
		name, email, password, userName string
		want                            error
		fields                          []string
	}{
		{"taken, other case", "ADA@example.com", "password-2", "Other", ErrEmailTaken, nil},
		{"bad email", "not-an-email", "password-1", "X", nil, []string{"email"}},
		{"short password and no name", "bo@example.com", "short", " ", nil, []string{"password", "name"}},
		{"Kelvin sign refused", "\u212Aate@example.com", "password-1", "K", nil, []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Register(ctx, tt.email, tt.password, tt.userName)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want, "sentinel")
				return
			}
			var fe envelope.FieldErrors
			require.ErrorAs(t, err, &fe, "field errors")
			for _, f := range tt.fields {
				assert.Contains(t, fe, f, "field %s named", f)
			}
			assert.Equal(t, errkind.Validation, errkind.Of(err), "a validation error")
		})
	}
	assert.Len(t, *events, 1, "refused registrations emit nothing")
}

func TestUserServiceAuthenticateAndView(t *testing.T) {
	s, _ := memoryUsers(t)
	ctx := context.Background()
	ada, err := s.Register(ctx, "ada@example.com", "password-1", "Ada")
	require.NoError(t, err, "register ada")
	bob, err := s.Register(ctx, "bob@example.com", "password-2", "Bob")
	require.NoError(t, err, "register bob")

	for _, tt := range []struct {
		email, password string
		want            error
	}{
		{"ada@example.com", "password-1", nil},
		{"ADA@example.com", "password-1", nil},
		{"ada@example.com", "password-2", ErrInvalidCredentials},
		{"nobody@example.com", "password-1", ErrInvalidCredentials},
	} {
		u, err := s.Authenticate(ctx, tt.email, tt.password)
		if tt.want != nil {
			assert.ErrorIs(t, err, tt.want, "%s/%s refused", tt.email, tt.password)
			continue
		}
		require.NoError(t, err, "%s logs in", tt.email)
		assert.Equal(t, ada.ID, u.ID, "the right user")
	}

	tests := []struct {
		name   string
		caller Caller
		want   any
	}{
		{"self", Caller{ID: bob.ID}, bob},
		{"admin", Caller{ID: ada.ID, Admin: true}, bob},
		{"someone else", Caller{ID: ada.ID}, PublicUser{ID: bob.ID, Name: "Bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.View(ctx, tt.caller, bob.ID)
			require.NoError(t, err, "view")
			assert.Equal(t, tt.want, got, "what the caller sees")
		})
	}
	_, err = s.View(ctx, Caller{ID: ada.ID}, "missing")
	assert.True(t, errors.Is(err, repository.ErrNotFound), "a missing user is not found: %v", err)

	renamed, err := s.Rename(ctx, bob.ID, "Robert")
	require.NoError(t, err, "rename")
	assert.Equal(t, "Robert", renamed.Name, "renamed")
	got, err := s.Get(ctx, bob.ID)
	require.NoError(t, err, "get")
	assert.Equal(t, "Robert", got.Name, "the cache dropped the old name")

	users, total, err := s.List(ctx, "email", repository.Asc, 10, 0)
	require.NoError(t, err, "list")
	assert.Equal(t, int64(2), total, "total")
	require.Len(t, users, 2, "both users")
	assert.Equal(t, "ada@example.com", users[0].Email, "ordered by email")
	page, next, err := s.Page(ctx, "name", repository.Desc, 1, "")
	require.NoError(t, err, "page")
	require.Len(t, page, 1, "one per page")
	assert.Equal(t, "Robert", page[0].Name, "ordered by name, descending")
	assert.NotEmpty(t, next, "a next page")
	_, _, err = s.List(ctx, "password", repository.Asc, 10, 0)
	assert.Equal(t, errkind.BadRequest, errkind.Of(err), "orderBy outside the list is refused")
}

// TestUserServiceInvalidIDs: an id that cannot be one is not found without
// touching the cache, so long made-up ids cannot fill it.
func TestUserServiceInvalidIDs(t *testing.T) {
	s, _ := memoryUsers(t)
	for _, id := range []string{"", "usr_1", strings.Repeat("x", 1<<20), "01234567-89ab-7def-8123-456789abcdefX"} {
		_, err := s.Get(context.Background(), id)
		assert.ErrorIs(t, err, repository.ErrNotFound, "id of %d bytes", len(id))
	}
	st := s.cache.Stats()
	assert.Zero(t, st.Misses+st.Loads+st.Hits+st.NegativeHits, "the cache was never asked")
}
