package app

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/svckit/svckit/auth"
)

// Roles a user can have.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Limits of the request fields.
const (
	MinPasswordBytes = 8
	MaxPasswordBytes = 72
	MaxNameRunes     = 100
	MaxEmailBytes    = 254
	MaxDeposit       = 100_000_000
)

// User is a user as clients see it: never a password or its hash.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Accounts is filled only for GET /v1/users?include=accounts.
	Accounts []Account `json:"accounts,omitzero"`
}

// PublicUser is what GET /v1/users/{id} shows of a user to anyone but
// that user and admins.
type PublicUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Account holds money of one currency; Balance is in minor units.
type Account struct {
	ID        string    `json:"id" db:"id,pk"`
	OwnerID   string    `json:"ownerId" db:"owner_id"`
	Currency  string    `json:"currency" db:"currency"`
	Balance   int64     `json:"balance" db:"balance"`
	CreatedAt time.Time `json:"createdAt" db:"created_at,created"`
	UpdatedAt time.Time `json:"updatedAt" db:"updated_at,updated"`
}

// Transfer moves Amount minor units between two accounts of one currency.
type Transfer struct {
	ID            string    `json:"id" db:"id,pk"`
	FromAccountID string    `json:"fromAccountId" db:"from_account_id"`
	ToAccountID   string    `json:"toAccountId" db:"to_account_id"`
	Amount        int64     `json:"amount" db:"amount"`
	CreatedAt     time.Time `json:"createdAt" db:"created_at,created"`
}

// validEmail reports whether s is a bare address such as a@b.example.
func validEmail(s string) bool {
	if s == "" || len(s) > MaxEmailBytes {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// displayName returns the name to store for s, and whether s is a valid
// name: 1–100 characters once normalised under auth.NormalizeDisplayName
// (the PRECIS Nickname profile: spaces trimmed and collapsed, NFKC, no
// control or invisible characters, so never only a zero-width space).
func displayName(s string) (string, bool) {
	n, err := auth.NormalizeDisplayName(s)
	return n, err == nil && utf8.RuneCountInString(n) <= MaxNameRunes
}

// nameRule is the validation message of a name displayName refuses.
func nameRule() string { return fmt.Sprintf("must be 1 to %d visible characters", MaxNameRunes) }

// validID reports whether s can be an id of this service: a UUID in its
// 36-character text form (newUUID makes them). Anything else names no row,
// so it is answered 404 before it reaches the cache, a limiter or the
// database: a client cannot fill the cache with megabyte-long misses.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// validCurrency reports whether s is three upper-case ASCII letters.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
