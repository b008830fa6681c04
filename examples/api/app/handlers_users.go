package app

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/repository"
)

// Page sizes of the list routes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// patchUserRequest is the body of PATCH /v1/users/{id}: only the name may
// change; any other field is an unknown field (400).
type patchUserRequest struct {
	Name *string `json:"name"`
}

func (a *App) me(r *http.Request) (User, error) {
	return a.users.Get(r.Context(), callerFrom(r.Context()).ID)
}

// getUser answers the whole user to that user and to admins, and only
// {id, name} to anyone else.
func (a *App) getUser(r *http.Request) (any, error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return nil, err
	}
	return a.users.View(r.Context(), callerFrom(r.Context()), id)
}

func (a *App) patchUser(r *http.Request) (User, error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return User{}, err
	}
	c := callerFrom(r.Context())
	if c.ID != id && !c.Admin {
		return User{}, ErrForbidden
	}
	in, err := envelope.Decode[patchUserRequest](r)
	if err != nil {
		return User{}, err
	}
	if in.Name == nil {
		return User{}, fieldError("name", "is required")
	}
	return a.users.Rename(r.Context(), id, *in.Name)
}

// listUsers serves offset pages (page, pageSize) unless cursor or limit is
// given, then cursor pages. include=accounts embeds the accounts of the
// page's users, loaded with one more query.
func (a *App) listUsers(r *http.Request) (envelope.Result[[]User], error) {
	var none envelope.Result[[]User]
	q, err := envelope.Query(r)
	if err != nil {
		return none, err
	}
	dir, err := repository.ParseDirection(q.Get("orderDir"))
	if err != nil {
		return none, err
	}
	include := q.Get("include")
	if include != "" && include != "accounts" {
		return none, envelope.BadRequest("include must be accounts").WithDetail("param", "include")
	}
	ctx := r.Context()
	var users []User
	var result envelope.Result[[]User]
	if q.Has("cursor") || q.Has("limit") {
		limit, err := limitQuery(q)
		if err != nil {
			return none, err
		}
		var next string
		if users, next, err = a.users.Page(ctx, q.Get("orderBy"), dir, limit, q.Get("cursor")); err != nil {
			return none, err
		}
		result = envelope.CursorPage(users, next)
	} else {
		page, size, err := envelope.PageQuery(q, DefaultPageSize, MaxPageSize)
		if err != nil {
			return none, err
		}
		var total int64
		if users, total, err = a.users.List(ctx, q.Get("orderBy"), dir, size, envelope.Offset(page, size)); err != nil {
			return none, err
		}
		result = envelope.Paginated(users, page, size, int(total))
	}
	if include == "accounts" {
		byOwner, err := a.accounts.ByOwners(ctx, users)
		if err != nil {
			return none, err
		}
		for i := range users {
			users[i].Accounts = byOwner[users[i].ID]
			if users[i].Accounts == nil {
				users[i].Accounts = []Account{}
			}
		}
	}
	return result, nil
}

// limitQuery reads the cursor page size "limit": DefaultPageSize when
// absent, else 1 to MaxPageSize.
func limitQuery(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, envelope.BadRequest("limit must be 1 to "+strconv.Itoa(MaxPageSize)).WithDetail("param", "limit")
	}
	return n, nil
}
