package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// ActivityLimit is how many entries GET /v1/users/me/activity answers, the
// newest first.
const ActivityLimit = 50

// Activity is one entry of a user's activity feed: an event that concerned
// the user, as the consumer "activity" applied it.
type Activity struct {
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	OccurredAt time.Time       `json:"occurredAt"`
}

// activityFeed keeps the activity table: it is the handler of the consumer
// "activity", which the outbox feeds, and it answers the route.
type activityFeed struct {
	db                   *sql.DB
	insert, owners, list string
}

func newActivityFeed(db *sql.DB, d dialect.Dialect) *activityFeed {
	return &activityFeed{
		db:     db,
		insert: d.Rebind(`INSERT INTO activity (user_id, event_id, type, data, occurred_at) VALUES (?, ?, ?, ?, ?)`),
		owners: d.Rebind(`SELECT DISTINCT owner_id FROM accounts WHERE id IN (?, ?) ORDER BY owner_id`),
		list:   d.Rebind(fmt.Sprintf(`SELECT event_id, type, data, occurred_at FROM activity WHERE user_id = ? ORDER BY occurred_at DESC, seq DESC LIMIT %d`, ActivityLimit)),
	}
}

// apply is the consumer's handler. It runs in the transaction that records
// the event in the inbox, so its rows are written once per event however
// often the event is delivered: user.created goes to the new user's feed,
// transfer.completed to the feeds of both accounts' owners.
func (f *activityFeed) apply(ctx context.Context, m outbox.Message) error {
	q := txn.From(ctx, f.db)
	var users []string
	switch m.Type {
	case EventUserCreated:
		var p struct {
			UserID string `json:"userId"`
		}
		if err := m.Decode(&p); err != nil {
			return err
		}
		users = []string{p.UserID}
	case EventTransferCompleted:
		var p struct {
			From string `json:"fromAccountId"`
			To   string `json:"toAccountId"`
		}
		if err := m.Decode(&p); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, f.owners, p.From, p.To)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			users = append(users, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	default:
		return nil // not a feed event
	}
	for _, u := range users {
		if _, err := q.ExecContext(ctx, f.insert, u, m.ID, m.Type, string(m.Payload), m.Time.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}

// forUser returns the newest entries of userID's feed.
func (f *activityFeed) forUser(ctx context.Context, userID string) ([]Activity, error) {
	rows, err := f.db.QueryContext(ctx, f.list, userID)
	if err != nil {
		return nil, dialect.Wrap(err)
	}
	defer rows.Close()
	out := []Activity{}
	for rows.Next() {
		var (
			a      Activity
			data   string
			micros int64
		)
		if err := rows.Scan(&a.EventID, &a.Type, &data, &micros); err != nil {
			return nil, dialect.Wrap(err)
		}
		a.Data, a.OccurredAt = json.RawMessage(data), time.UnixMicro(micros).UTC()
		out = append(out, a)
	}
	return out, dialect.Wrap(rows.Err())
}

// activity answers GET /v1/users/me/activity: the caller's feed, newest
// first (by the time of the event). Events reach it after their commit, through the outbox: a write
// shows in the feed a moment later, never before it committed.
func (a *App) activity(ctx context.Context, _ struct{}) ([]Activity, error) {
	return a.feed.forUser(ctx, callerFrom(ctx).ID)
}
