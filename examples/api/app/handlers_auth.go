package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/operation"
)

// registerRequest is the body of POST /v1/auth/register. Its rules are in
// the document; Register checks them again (the password in bytes, the
// name trimmed), as a service does for callers other than this route.
type registerRequest struct {
	Email    string `json:"email" format:"email" maxLength:"254" example:"ada@example.com"`
	Password string `json:"password" minLength:"8" maxLength:"72" doc:"8 to 72 bytes of UTF-8"`
	Name     string `json:"name" minLength:"1" maxLength:"100" pattern:"\\S" doc:"1 to 100 characters, not all white space"`
}

// loginRequest is the body of POST /v1/auth/login. Its values are not
// checked for form: a wrong one is the same 401 as a wrong password.
type loginRequest struct {
	Email    string `json:"email" minLength:"1"`
	Password string `json:"password" minLength:"1"`
}

// refreshRequest is the body of POST /v1/auth/refresh and /logout.
type refreshRequest struct {
	RefreshToken string `json:"refreshToken" minLength:"1"`
}

// registered is the answer of a quiet registration (Config.QuietRegister).
type registered struct {
	Status string `json:"status" enum:"accepted"`
}

// register answers 201 with the user, or 409 for a taken email; with
// Config.QuietRegister, 202 {"status":"accepted"} for both, so the route
// tells nobody who has an account.
func (a *App) register(ctx context.Context, in struct{ Body registerRequest }) (envelope.Result[any], error) {
	u, err := a.users.Register(ctx, in.Body.Email, in.Body.Password, in.Body.Name)
	if a.cfg.QuietRegister && (err == nil || errors.Is(err, ErrEmailTaken)) {
		return envelope.Result[any]{Status: http.StatusAccepted, Data: registered{Status: "accepted"}}, nil
	}
	if err != nil {
		return envelope.Result[any]{}, err
	}
	return envelope.Created[any](u), nil
}

// login is throttled per client IP, per (email, client IP) and per email
// (loginThrottle, keyed by the request's client address) before the
// password costs a hash; the login itself is AuthService's.
func (a *App) login(ctx context.Context, in struct {
	Request *http.Request // the client address keys the throttle
	Body    loginRequest
}) (TokenPair, error) {
	if err := a.limits.login.allow(ctx, in.Request, in.Body.Email); err != nil {
		return TokenPair{}, err
	}
	return a.auth.Login(ctx, in.Body.Email, in.Body.Password)
}

func (a *App) refresh(ctx context.Context, in struct{ Body refreshRequest }) (TokenPair, error) {
	return a.auth.Refresh(ctx, in.Body.RefreshToken)
}

func (a *App) logout(ctx context.Context, in struct{ Body refreshRequest }) (operation.NoContent, error) {
	return operation.NoContent{}, a.auth.Logout(ctx, in.Body.RefreshToken)
}
