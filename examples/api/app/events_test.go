package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// runEvents runs the app's events (relay and, with NATS, subscriptions) as
// Run does, until the test ends. Tests that count statements do not run
// it: its polls are statements too.
func (s *server) runEvents(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.App.RunEvents(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "the events' relay ends cleanly")
	})
}

type activityView struct {
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt time.Time       `json:"occurredAt"`
}

// activity reads the caller's feed.
func (s *server) activity(t testing.TB, token string) []activityView {
	t.Helper()
	var out []activityView
	s.expect(t, req{Method: "GET", Path: "/v1/users/me/activity", Token: token}, 200, "").into(t, &out)
	return out
}

func types(a []activityView) []string {
	var out []string
	for _, e := range a {
		out = append(out, e.Type)
	}
	return out
}

// activityFeed drives the feed through one server: registrations and a
// transfer, a refused transfer and a rolled-back registration that must
// leave nothing.
func activityFeed(t *testing.T, s *server) {
	ada, adaToken := s.newUser(t, "ada")
	_, bobToken := s.newUser(t, "bob")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me/activity"}, 401, "UNAUTHORIZED")
	require.Eventually(t, func() bool { return len(s.activity(t, adaToken)) == 1 }, 30*time.Second, 10*time.Millisecond,
		"user.created reaches the feed after the commit")
	first := s.activity(t, adaToken)[0]
	assert.Equal(t, app.EventUserCreated, first.Type)
	assert.JSONEq(t, fmt.Sprintf(`{"userId":%q}`, ada.ID), string(first.Data))

	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": ada.Email, "password": "password-x", "name": "Dup"}}, 409, "CONFLICT")
	from := s.newAccount(t, adaToken, "USD", 100)
	to := s.newAccount(t, bobToken, "USD", 0)
	transfer := func(amount int) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/transfers", Token: adaToken, Body: map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": amount}})
	}
	require.Equal(t, 422, transfer(1000).Status, "too much is refused: no event")
	require.Equal(t, 201, transfer(40).Status)
	require.Eventually(t, func() bool { return len(s.activity(t, bobToken)) == 2 }, 30*time.Second, 10*time.Millisecond,
		"transfer.completed reaches the receiver's feed")
	assert.Equal(t, []string{app.EventTransferCompleted, app.EventUserCreated}, types(s.activity(t, adaToken)), "newest first; nothing from the refusal or the rollback")
	assert.Equal(t, []string{app.EventTransferCompleted, app.EventUserCreated}, types(s.activity(t, bobToken)))
}

func TestActivity_localEventsWithoutServices(t *testing.T) {
	s := startSQLite(t, nil)
	s.runEvents(t)
	activityFeed(t, s)
}

func TestActivity_throughJetStream(t *testing.T) {
	url := testdb.NATSURL(t)
	sfx := testdb.Suffix()
	stream := "SVCKIT_EXAMPLE_TEST_" + sfx
	s := startSQLite(t, func(c *app.Config) {
		c.NATSURL, c.NATSStream, c.NATSSubjectPrefix = url, stream, "t"+sfx+".example"
	})
	t.Cleanup(func() { deleteStream(t, url, stream) })
	s.runEvents(t)
	activityFeed(t, s)
}

func deleteStream(t testing.TB, url, stream string) {
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, js.DeleteStream(ctx, stream))
}

func TestReadyz_degradedWhileEventsWait(t *testing.T) {
	srv := testdb.StartNATS(t)
	sfx := testdb.Suffix()
	s := startSQLite(t, func(c *app.Config) {
		c.NATSURL, c.NATSStream, c.NATSSubjectPrefix = srv.URL, "EX_"+sfx, "t"+sfx
		c.EventsDegradedAfter = 200 * time.Millisecond
	})
	s.runEvents(t)
	var r app.Readiness
	s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "").into(t, &r)
	assert.Equal(t, "ok", r.Checks["events"])
	assert.Equal(t, "ok", r.Checks["nats"])

	srv.Stop(t) // the broker goes away: writes go on, events wait
	s.newUser(t, "cora")
	require.Eventually(t, func() bool {
		s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "").into(t, &r)
		return r.Checks["events"] == "delayed"
	}, 30*time.Second, 20*time.Millisecond, "the outbox's age shows")
	assert.Equal(t, "degraded", r.Status, "degraded, not down: the service still serves")
	assert.Equal(t, "down", r.Checks["nats"])

	srv.Start(t)
	require.Eventually(t, func() bool {
		s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "").into(t, &r)
		return r.Status == "ready"
	}, 60*time.Second, 50*time.Millisecond, "ready again once the events went out")
}
