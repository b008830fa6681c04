package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

// userRecord is a row of the users table.
type userRecord struct {
	ID           string    `db:"id,pk"`
	Email        string    `db:"email"`
	EmailLower   string    `db:"email_lower,unique"`
	Name         string    `db:"name"`
	Roles        string    `db:"roles"`
	PasswordHash string    `db:"password_hash,private"` // never filtered or sorted on
	CreatedAt    time.Time `db:"created_at,created"`
	UpdatedAt    time.Time `db:"updated_at,updated"`
}

// user returns the public view of the row: never the hash.
func (r userRecord) user() User {
	roles := []string{}
	for role := range strings.SplitSeq(r.Roles, ",") {
		if role != "" {
			roles = append(roles, role)
		}
	}
	return User{ID: r.ID, Email: r.Email, Name: r.Name, Roles: roles, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// userOrderOf is userOrder as an error naming the parameter.
func userOrderOf(orderBy string) (string, error) {
	column, ok := userOrder(orderBy)
	if !ok {
		return "", envelope.BadRequest("orderBy must be createdAt, email or name").WithDetail("param", "orderBy")
	}
	return column, nil
}

// userOrder maps the orderBy values of GET /v1/users to columns: only
// these may be sorted on. Email sorts case-insensitively.
func userOrder(orderBy string) (column string, ok bool) {
	switch orderBy {
	case "", "createdAt":
		return "created_at", true
	case "email":
		return "email_lower", true
	case "name":
		return "name", true
	}
	return "", false
}

// atomicFunc runs fn in one transaction: txn.Do on the service's database, or
// a plain call for repository.Memory in unit tests.
type atomicFunc func(ctx context.Context, fn func(ctx context.Context) error) error

// inTx returns the atomicFunc of r: its Do, which reports each
// transaction.
func inTx(r *txn.Runner) atomicFunc { return r.Do }

// UserService is the catalogue's UserService: a repository, a cache in front
// of reads by id, and events after commit. It depends on the
// repository.Repository contract only, so it runs on repository.SQL in the
// service and on repository.Memory in its unit tests. Build it with
// newUserService; the zero value is not usable. It is safe for concurrent
// use and holds nothing to close.
type UserService struct {
	repo   repository.Repository[userRecord, string]
	atomic atomicFunc
	cache  *cache.Aside[string, User]
	events EventBus
	hasher *auth.Hasher
	// outboxInv, when set, writes every invalidation into the outbox too
	// (App.newUsers sets it with Redis).
	outboxInv *outbox.Invalidator[string]
}

// invalidate drops id's cached copy once the transaction ctx carries
// commits (DeleteAfterCommit: the fast path, before the response) and,
// with outboxInv, writes the invalidation into the outbox in the same
// transaction: when this instance cannot reach Redis after the commit,
// another instance's Invalidator deletes the entry within its poll
// (outbox.Invalidator), instead of the others serving it until this one
// reaches Redis again.
func (s *UserService) invalidate(ctx context.Context, id string) error {
	txn.DeleteAfterCommit(ctx, s.cache, id)
	if s.outboxInv == nil {
		return nil
	}
	return s.outboxInv.Emit(ctx, id)
}

// newUserService returns a UserService over repo, writing through atomic,
// reading by id through c, emitting on events and hashing with hasher.
func newUserService(repo repository.Repository[userRecord, string], atomic atomicFunc, c *cache.Aside[string, User], events EventBus, hasher *auth.Hasher) *UserService {
	return &UserService{repo: repo, atomic: atomic, cache: c, events: events, hasher: hasher}
}

// Register creates a user with the role "user" and emits user.created
// after the commit.
func (s *UserService) Register(ctx context.Context, email, password, name string) (User, error) {
	var v envelope.FieldErrors
	if !validEmail(email) {
		v.Add("email", "must be an email address")
	} else if _, err := auth.NormalizeEmail(email); err != nil {
		var ie *auth.IdentifierError
		errors.As(err, &ie)
		v.Add("email", ie.Reason)
	}
	if n := len(password); n < MinPasswordBytes || n > MaxPasswordBytes {
		v.Add("password", fmt.Sprintf("must be %d to %d bytes", MinPasswordBytes, MaxPasswordBytes))
	}
	name, ok := displayName(name)
	if !ok {
		v.Add("name", nameRule())
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	return s.create(ctx, email, password, name, []string{RoleUser})
}

func (s *UserService) create(ctx context.Context, email, password, name string, roles []string) (User, error) {
	key, err := auth.NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	rec := userRecord{Email: email, EmailLower: key, Name: name, Roles: strings.Join(roles, ","), PasswordHash: hash}
	err = s.atomic(ctx, func(ctx context.Context) error {
		if err := s.repo.Create(ctx, &rec); err != nil {
			return err
		}
		// The id may have been cached as "not found" by a lookup racing
		// the insert: drop that answer once the row is visible.
		if err := s.invalidate(ctx, rec.ID); err != nil {
			return err
		}
		return s.events.Emit(ctx, Event{Name: EventUserCreated, Key: rec.ID, Payload: map[string]any{"userId": rec.ID}})
	})
	if errors.Is(err, repository.ErrConflict) {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, err
	}
	return rec.user(), nil
}

// adminChange is what EnsureAdmin did.
type adminChange int

const (
	adminUnchanged adminChange = iota // the account was an admin already
	adminCreated                      // no account had the email: one was created
	adminPromoted                     // an existing account was given the role
)

// EnsureAdmin makes sure a user with email exists, has the role admin and
// the password password: it creates the user when no account has the
// email, and gives the role to an existing account only when password is
// that account's password. Otherwise it changes nothing and returns
// ErrAdminPassword, so that whoever registered the address first (before
// the operator set ADMIN_EMAIL) never becomes an admin. It returns the
// user and what it did, for the caller to log.
func (s *UserService) EnsureAdmin(ctx context.Context, email, password string) (User, adminChange, error) {
	rec, err := s.byEmail(ctx, email)
	if errors.Is(err, repository.ErrNotFound) {
		var u User
		if u, err = s.create(ctx, email, password, "Administrator", []string{RoleUser, RoleAdmin}); !errors.Is(err, ErrEmailTaken) {
			return u, adminCreated, err
		}
		// Another instance (or a registration) created it first: check
		// it as an existing account.
		rec, err = s.byEmail(ctx, email)
	}
	if err != nil {
		return User{}, adminUnchanged, err
	}
	if _, err := s.hasher.Verify(ctx, password, rec.PasswordHash); err != nil {
		if errors.Is(err, auth.ErrPasswordMismatch) {
			return User{}, adminUnchanged, ErrAdminPassword
		}
		return User{}, adminUnchanged, err
	}
	u := rec.user()
	if u.hasRole(RoleAdmin) {
		return u, adminUnchanged, nil
	}
	err = s.atomic(ctx, func(ctx context.Context) error {
		roles := strings.Trim(rec.Roles+","+RoleAdmin, ",")
		if _, err := s.repo.Update(ctx, rec.ID, repository.Set{"roles": roles}); err != nil {
			return err
		}
		return s.invalidate(ctx, rec.ID)
	})
	if err != nil {
		return User{}, adminUnchanged, err
	}
	u.Roles = append(u.Roles, RoleAdmin)
	return u, adminPromoted, nil
}

func (u User) hasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// byEmail finds a user by email, compared in the canonical form of
// auth.NormalizeEmail (the column email_lower holds it). An address the
// rule refuses names nobody: ErrNotFound.
func (s *UserService) byEmail(ctx context.Context, email string) (userRecord, error) {
	key, err := auth.NormalizeEmail(email)
	if err != nil {
		return userRecord{}, repository.ErrNotFound
	}
	rows, err := s.repo.FindMany(ctx, repository.FindOptions{Filter: repository.Filter{"email_lower": key}, Limit: 1})
	if err != nil {
		return userRecord{}, err
	}
	if len(rows) == 0 {
		return userRecord{}, repository.ErrNotFound
	}
	return rows[0], nil
}

// Authenticate returns the user whose email and password match, or
// ErrInvalidCredentials for an unknown email and a wrong password alike
// (both cost one password verification). A hash weaker than the current
// parameters is replaced.
func (s *UserService) Authenticate(ctx context.Context, email, password string) (User, error) {
	rec, err := s.byEmail(ctx, email)
	if errors.Is(err, repository.ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, password); errors.Is(err, auth.ErrBusy) {
			return User{}, err // as a known email would: saturation tells nothing
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	rehash, err := s.hasher.Verify(ctx, password, rec.PasswordHash)
	if errors.Is(err, auth.ErrPasswordMismatch) {
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	if rehash {
		if hash, err := s.hasher.Hash(ctx, password); err == nil {
			_, _ = s.repo.Update(ctx, rec.ID, repository.Set{"password_hash": hash})
		}
	}
	return rec.user(), nil
}

// Get returns the user with id through the cache; a missing id is cached as
// missing for a short while, so probing ids does not reach the database,
// and an id that cannot be one (validID) is not found without a lookup.
func (s *UserService) Get(ctx context.Context, id string) (User, error) {
	if !validID(id) {
		return User{}, repository.ErrNotFound
	}
	return s.cache.Get(ctx, id, func(ctx context.Context) (User, error) {
		rec, err := s.repo.FindByID(ctx, id)
		if err != nil {
			return User{}, err
		}
		return rec.user(), nil
	})
}

// View returns the user with id as the caller may see it: the whole User
// to that user and to admins, only the PublicUser to anyone else.
func (s *UserService) View(ctx context.Context, c Caller, id string) (any, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.ID == u.ID || c.Admin {
		return u, nil
	}
	return PublicUser{ID: u.ID, Name: u.Name}, nil
}

// Rename changes the name of the user with id; the cached copy is dropped
// once the change is committed.
func (s *UserService) Rename(ctx context.Context, id, name string) (User, error) {
	name, ok := displayName(name)
	if !ok {
		return User{}, fieldError("name", nameRule())
	}
	var out User
	err := s.atomic(ctx, func(ctx context.Context) error {
		rec, err := s.repo.Update(ctx, id, repository.Set{"name": name})
		if err != nil {
			return err
		}
		out = rec.user()
		return s.invalidate(ctx, id)
	})
	return out, err
}

// Page returns one cursor page of users in the order of orderBy ("",
// createdAt, email or name) and dir, and the cursor of the next page.
func (s *UserService) Page(ctx context.Context, orderBy string, dir repository.Direction, limit int, cursor string) ([]User, string, error) {
	order, err := userOrderOf(orderBy)
	if err != nil {
		return nil, "", err
	}
	page, err := s.repo.FindPage(ctx, repository.PageOptions{OrderBy: order, OrderDir: dir, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	return publicUsers(page.Items), page.NextCursor, nil
}

// List returns one offset page of users in the order of orderBy and dir,
// and the number of users in all.
func (s *UserService) List(ctx context.Context, orderBy string, dir repository.Direction, limit, offset int) ([]User, int64, error) {
	order, err := userOrderOf(orderBy)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.repo.FindMany(ctx, repository.FindOptions{OrderBy: order, OrderDir: dir, Limit: limit, Offset: offset})
	if err != nil {
		return nil, 0, err
	}
	total, err := s.repo.Count(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	return publicUsers(rows), total, nil
}

func publicUsers(rows []userRecord) []User {
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out
}

// authUser returns what tokens say about the user with id: the lookup that
// auth.Tokens.Refresh uses for the user's current roles.
func (s *UserService) authUser(ctx context.Context, id string) (auth.User, error) {
	u, err := s.Get(ctx, id)
	if errors.Is(err, repository.ErrNotFound) {
		return auth.User{}, fmt.Errorf("%w: %w", auth.ErrUserNotFound, err)
	}
	if err != nil {
		return auth.User{}, err
	}
	return auth.User{ID: u.ID, Email: u.Email, Roles: u.Roles}, nil
}
