package repository_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

// event has a required and a nullable time.
type event struct {
	ID     int64      `db:"id,pk"`
	At     time.Time  `db:"at"`
	DoneAt *time.Time `db:"done_at"`
}

var eventDDL = map[string]string{
	testdb.SQLiteDialect:   "CREATE TABLE events (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, done_at DATETIME NULL)",
	testdb.PostgresDialect: "CREATE TABLE events (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, done_at TIMESTAMPTZ NULL)",
	testdb.MySQLDialect:    "CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL, done_at DATETIME(6) NULL)",
}

// TestTimeRoundTrip shows times come back from every engine as they went
// in, in UTC to the microsecond, whatever zone they were written in; and
// that filters and cursors on times agree with what was stored.
func TestTimeRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		_, err := db.DB.ExecContext(ctx, eventDDL[db.Dialect])
		require.NoError(t, err, "create events")
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		events := repository.NewSQL[event, int64](db.DB, d, "events", repository.Options[int64]{})

		zones := []*time.Location{time.UTC, time.FixedZone("east", 9*3600), time.FixedZone("west", -5*3600-1800)}
		var made []event
		for i, z := range zones {
			at := time.Date(2026, 6, 1, 12, 0, i, 123456789, z)
			done := at.Add(90 * time.Minute)
			e := event{At: at, DoneAt: &done}
			if i == 1 {
				e.DoneAt = nil
			}
			require.NoError(t, events.Create(ctx, &e), "create event in zone %s", z)
			assert.Equal(t, time.UTC, e.At.Location(), "written back in UTC")
			assert.Equal(t, 123456000, e.At.Nanosecond(), "written back truncated to microseconds")
			made = append(made, e)
		}
		for _, want := range made {
			got, err := events.FindByID(ctx, want.ID)
			require.NoError(t, err, "find event")
			assert.Equal(t, want, got, "event %d reads back exactly as written back", want.ID)
		}
		n, err := events.Count(ctx, repository.Filter{"at": made[2].At.In(zones[1])})
		require.NoError(t, err, "filter on a time in another zone")
		assert.EqualValues(t, 1, n, "the same instant matches whatever its zone")
		n, err = events.Count(ctx, repository.Filter{"done_at": nil})
		require.NoError(t, err, "filter on NULL time")
		assert.EqualValues(t, 1, n, "one event not done")

		var order []int64
		cur := ""
		for {
			p, err := events.FindPage(ctx, repository.PageOptions{OrderBy: "at", OrderDir: repository.Desc, Limit: 1, Cursor: cur})
			require.NoError(t, err, "page by time")
			for _, e := range p.Items {
				order = append(order, e.ID)
			}
			if !p.HasMore {
				break
			}
			cur = p.NextCursor
		}
		assert.Equal(t, []int64{made[2].ID, made[0].ID, made[1].ID}, order, "time cursors page by instant, not by wall clock")
	})
}
