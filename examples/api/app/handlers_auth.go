package app

import (
	"errors"
	"net/http"

	"github.com/svckit/svckit/envelope"
)

// registerRequest is the body of POST /v1/auth/register.
type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// loginRequest is the body of POST /v1/auth/login.
type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Validate requires both fields; their values are checked by the login.
func (l loginRequest) Validate() error {
	var v envelope.FieldErrors
	required(&v, "email", l.Email)
	required(&v, "password", l.Password)
	return v.Err()
}

// refreshRequest is the body of POST /v1/auth/refresh and /logout.
type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// Validate requires the token.
func (r refreshRequest) Validate() error {
	var v envelope.FieldErrors
	required(&v, "refreshToken", r.RefreshToken)
	return v.Err()
}

// registered is the answer of a quiet registration (Config.QuietRegister).
type registered struct {
	Status string `json:"status"`
}

// register answers 201 with the user, or 409 for a taken email; with
// Config.QuietRegister, 202 {"status":"accepted"} for both, so the route
// tells nobody who has an account.
func (a *App) register(r *http.Request) (envelope.Result[any], error) {
	in, err := envelope.Decode[registerRequest](r)
	if err != nil {
		return envelope.Result[any]{}, err
	}
	u, err := a.users.Register(r.Context(), in.Email, in.Password, in.Name)
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
func (a *App) login(r *http.Request) (TokenPair, error) {
	in, err := envelope.Decode[loginRequest](r)
	if err != nil {
		return TokenPair{}, err
	}
	if err := a.limits.login.allow(r.Context(), r, in.Email); err != nil {
		return TokenPair{}, err
	}
	return a.auth.Login(r.Context(), in.Email, in.Password)
}

func (a *App) refresh(r *http.Request) (TokenPair, error) {
	in, err := envelope.Decode[refreshRequest](r)
	if err != nil {
		return TokenPair{}, err
	}
	return a.auth.Refresh(r.Context(), in.RefreshToken)
}

func (a *App) logout(r *http.Request) error {
	in, err := envelope.Decode[refreshRequest](r)
	if err != nil {
		return err
	}
	return a.auth.Logout(r.Context(), in.RefreshToken)
}
