package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/svckit/svckit/errkind"
)

// ErrUserNotFound is what a UserLookup returns (possibly wrapped) for a user
// that no longer exists. Refresh turns it into ErrUnknownUser. Any error
// whose chain reports errkind.NotFound, such as repository.ErrNotFound,
// counts as well.
var ErrUserNotFound = errors.New("auth: user not found")

// User is what tokens say about a user.
type User struct {
	ID    string
	Email string
	Roles []string
	// Scope is the "scope" of the user's access tokens, space-separated;
	// empty leaves the claim out.
	Scope string
}

// UserLookup returns the current state of a user, so a refresh carries the
// user's current email and roles and fails for a deleted user.
type UserLookup interface {
	// LookupUser returns the user with id, or an error matching
	// ErrUserNotFound.
	LookupUser(ctx context.Context, id string) (User, error)
}

// UserLookupFunc adapts a function to UserLookup.
type UserLookupFunc func(ctx context.Context, id string) (User, error)

// LookupUser calls f.
func (f UserLookupFunc) LookupUser(ctx context.Context, id string) (User, error) { return f(ctx, id) }

// Refresh uses up refreshToken and returns a new pair in the same family,
// with the user's current email and roles. Presenting a used token revokes
// the family (ErrTokenReused); see Options.ReuseGrace. The new refresh token
// never outlives the family's absolute expiry. A user that no longer exists
// gets ErrUnknownUser and the family is revoked.
func (t *Tokens) Refresh(ctx context.Context, refreshToken string) (p Pair, err error) {
	var rc *RefreshClaims
	defer func() { t.m.refreshed(ctx, rc, err) }()
	rc, err = t.VerifyRefresh(ctx, refreshToken)
	if err != nil {
		return Pair{}, err
	}
	u, err := t.opts.Users.LookupUser(ctx, rc.Subject)
	if userNotFound(err) {
		if err := t.opts.Store.RevokeFamily(ctx, rc.Family, t.opts.Now()); err != nil {
			return Pair{}, fmt.Errorf("auth: revoke family: %w", err)
		}
		return Pair{}, ErrUnknownUser.with(err)
	}
	if err != nil {
		return Pair{}, fmt.Errorf("auth: look up user: %w", err)
	}
	if u.ID != rc.Subject {
		return Pair{}, fmt.Errorf("auth: user lookup returned id %q for %q", u.ID, rc.Subject)
	}
	now := t.opts.Now()
	refresh, child, err := t.signRefresh(u.ID, rc.Family, rc.FamilyExpiresAt, now)
	if err != nil {
		return Pair{}, err
	}
	err = t.opts.Store.Rotate(ctx, Rotation{Old: HashJTI(rc.ID), Child: child, Now: now, Grace: t.opts.ReuseGrace})
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return Pair{}, err
		}
		return Pair{}, fmt.Errorf("auth: rotate refresh token: %w", err)
	}
	return t.pair(u, now, refresh, child.ExpiresAt)
}

// Logout revokes the family of refreshToken. The access tokens already
// issued stay valid until they expire (at most AccessTTL).
func (t *Tokens) Logout(ctx context.Context, refreshToken string) error {
	rc, err := t.VerifyRefresh(ctx, refreshToken)
	if err != nil {
		return err
	}
	if err := t.opts.Store.RevokeFamily(ctx, rc.Family, t.opts.Now()); err != nil {
		return fmt.Errorf("auth: revoke family: %w", err)
	}
	return nil
}

// LogoutAll revokes every refresh family of the user with id subject (log
// out everywhere, or after a password change).
func (t *Tokens) LogoutAll(ctx context.Context, subject string) error {
	if err := t.opts.Store.RevokeSubject(ctx, subject, t.opts.Now()); err != nil {
		return fmt.Errorf("auth: revoke user families: %w", err)
	}
	return nil
}

// signRefresh signs a refresh token expiring at now+RefreshTTL or at the
// family's expiry, whichever is first, and returns its store record.
func (t *Tokens) signRefresh(sub, fid string, famExp, now time.Time) (string, RefreshToken, error) {
	jti, err := t.randomID()
	if err != nil {
		return "", RefreshToken{}, err
	}
	exp := now.Add(t.opts.RefreshTTL)
	if famExp.Before(exp) {
		exp = famExp
	}
	w := RefreshClaims{Issuer: t.opts.Issuer, Subject: sub, Audience: []string{t.opts.RefreshAudience},
		ExpiresAt: exp, IssuedAt: now, ID: jti, Family: fid, FamilyExpiresAt: famExp}.wire()
	s, err := t.sign(&w, RefreshTokenType)
	if err != nil {
		return "", RefreshToken{}, err
	}
	rec := RefreshToken{Hash: HashJTI(jti), Family: fid, Subject: sub,
		ExpiresAt: w.Exp.t, FamilyExpiresAt: famExp}
	return s, rec, nil
}

// userNotFound reports ErrUserNotFound, or an error that reports
// errkind.NotFound.
func userNotFound(err error) bool {
	return errors.Is(err, ErrUserNotFound) || errkind.Of(err) == errkind.NotFound
}
