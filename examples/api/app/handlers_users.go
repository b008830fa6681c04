package app

import (
	"context"

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
	Name string `json:"name" minLength:"1" maxLength:"100" pattern:"\\S" doc:"1 to 100 characters, not all white space"`
}

// userID is the input of the routes of one user.
type userID struct {
	ID string `path:"id" doc:"the user's id, a UUID (anything else is 404)"`
}

func (a *App) me(ctx context.Context, _ struct{}) (User, error) {
	return a.users.Get(ctx, callerFrom(ctx).ID)
}

// getUser answers the whole user to that user and to admins, and only
// {id, name} to anyone else.
func (a *App) getUser(ctx context.Context, in userID) (any, error) {
	return a.users.View(ctx, callerFrom(ctx), in.ID)
}

func (a *App) patchUser(ctx context.Context, in struct {
	ID   string `path:"id" doc:"the user's id"`
	Body patchUserRequest
}) (User, error) {
	c := callerFrom(ctx)
	if c.ID != in.ID && !c.Admin {
		return User{}, ErrForbidden
	}
	return a.users.Rename(ctx, in.ID, in.Body.Name)
}

// listUsersInput is the query of GET /v1/users: offset pages (page,
// pageSize) unless cursor or limit is given, then cursor pages.
type listUsersInput struct {
	Page     int     `query:"page" minimum:"1" default:"1" doc:"the 1-based offset page"`
	PageSize int     `query:"pageSize" minimum:"1" maximum:"100" default:"20" doc:"items on an offset page"`
	Limit    *int    `query:"limit" minimum:"1" maximum:"100" doc:"items on a cursor page (20 when only cursor is given); selects cursor pages"`
	Cursor   *string `query:"cursor" doc:"the opaque cursor of the next page, from meta.cursor.next; selects cursor pages"`
	OrderBy  string  `query:"orderBy" enum:"createdAt,email,name"`
	OrderDir string  `query:"orderDir" enum:"asc,desc" default:"asc"`
	Include  string  `query:"include" enum:"accounts" doc:"accounts: embed each user's accounts"`
}

// listUsers serves offset pages unless cursor or limit is given, then
// cursor pages. include=accounts embeds the accounts of the page's users,
// loaded with one more query.
func (a *App) listUsers(ctx context.Context, in listUsersInput) (envelope.Result[[]User], error) {
	var none envelope.Result[[]User]
	dir, err := repository.ParseDirection(in.OrderDir)
	if err != nil {
		return none, err
	}
	var users []User
	var result envelope.Result[[]User]
	if in.Cursor != nil || in.Limit != nil {
		limit := DefaultPageSize
		if in.Limit != nil {
			limit = *in.Limit
		}
		cursor := ""
		if in.Cursor != nil {
			cursor = *in.Cursor
		}
		var next string
		if users, next, err = a.users.Page(ctx, in.OrderBy, dir, limit, cursor); err != nil {
			return none, err
		}
		result = envelope.CursorPage(users, next)
	} else {
		var total int64
		if users, total, err = a.users.List(ctx, in.OrderBy, dir, in.PageSize, envelope.Offset(in.Page, in.PageSize)); err != nil {
			return none, err
		}
		result = envelope.Paginated(users, in.Page, in.PageSize, int(total))
	}
	if in.Include == "accounts" {
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
