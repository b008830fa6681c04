package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/outbox"
)

// TestActivityEffectOnce delivers the same events several times to the
// consumer "activity", as a broker redelivering after a lost ack or a
// crash would: the feed gets one entry per event and user.
func TestActivityEffectOnce(t *testing.T) {
	ctx := context.Background()
	a, err := New(ctx, Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(t.TempDir() + "/activity.db")},
		JWTSecret:    []byte("activity-secret-activity-secret-activity"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
	})
	require.NoError(t, err, "New")
	defer a.Close()
	u, err := a.users.Register(ctx, "eve@example.com", "password-1", "Eve")
	require.NoError(t, err)

	var feed *outbox.Consumer
	for _, c := range a.consumers {
		if c.Name() == consumerActivity {
			feed = c
		}
	}
	require.NotNil(t, feed)
	m := outbox.Message{ID: "01900000-0000-7000-8000-0000000000aa", Type: EventUserCreated, Key: u.ID, Payload: []byte(`{"userId":"` + u.ID + `"}`)}
	tests := []struct {
		name    string
		applied bool
	}{{"first delivery", true}, {"redelivery", false}, {"one more", false}}
	for _, tt := range tests {
		applied, err := feed.Apply(ctx, m)
		require.NoError(t, err, tt.name)
		assert.Equal(t, tt.applied, applied, tt.name)
	}
	require.NoError(t, feed.Deliver(ctx, m, 0, nil), "a delivery of a seen event is acknowledged")
	got, err := a.feed.forUser(ctx, u.ID)
	require.NoError(t, err)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.EventID)
	}
	assert.Equal(t, []string{m.ID}, ids, "one entry however often the event came (the relay has not run: the registration's own event waits in the outbox)")
}
