package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

func TestEmit_commitsWithTheTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		ctx := context.Background()
		rollback := errors.New("roll back")
		require.ErrorIs(t, f.write(ctx, "w1", outbox.Event{Type: "thing.done", Key: "a", Payload: 1}, rollback), rollback)
		assert.Zero(t, f.count(t, `SELECT COUNT(*) FROM svckit_outbox`), "a rolled-back transaction leaves no event")
		require.NoError(t, f.write(ctx, "w2", outbox.Event{Type: "thing.done", Key: "a", Payload: map[string]string{"x": "y"}}, nil))
		assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM svckit_outbox`), "a committed transaction leaves its event")

		var (
			id, typ, key string
			payload      []byte
		)
		require.NoError(t, db.DB.QueryRow(`SELECT id, type, event_key, payload FROM svckit_outbox`).Scan(&id, &typ, &key, &payload))
		u, err := uuid.Parse(id)
		require.NoError(t, err, "an empty id becomes a UUID")
		assert.Equal(t, uuid.Version(7), u.Version(), "the id is a UUIDv7")
		assert.Equal(t, "thing.done", typ)
		assert.Equal(t, "a", key)
		assert.JSONEq(t, `{"x":"y"}`, string(payload))
	})
}

func TestEmit_outsideATransactionIsAnError(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t), outbox.Options{})
	err := f.box.Emit(context.Background(), outbox.Event{Type: "thing.done", Payload: 1})
	require.ErrorIs(t, err, outbox.ErrNoTransaction)

	other := testdb.SQLite(t) // a transaction on another database is not the outbox's
	err = txn.Do(context.Background(), other.DB, func(ctx context.Context) error {
		return f.box.Emit(ctx, outbox.Event{Type: "thing.done", Payload: 1})
	})
	require.ErrorIs(t, err, outbox.ErrNoTransaction)
	assert.Zero(t, f.count(t, `SELECT COUNT(*) FROM svckit_outbox`))
}

func TestEmit_badInputFailsBeforeTheCommit(t *testing.T) {
	tests := []struct {
		name string
		e    outbox.Event
		want error
		msg  string
	}{
		{"payload that does not encode", outbox.Event{Type: "a.b", Payload: make(chan int)}, outbox.ErrPayload, "unsupported type"},
		{"payload with a NaN", outbox.Event{Type: "a.b", Payload: map[string]float64{"x": nanValue()}}, outbox.ErrPayload, "unsupported value"},
		{"raw payload that is not JSON", outbox.Event{Type: "a.b", Payload: json.RawMessage(`{"x":`)}, outbox.ErrPayload, "not valid JSON"},
		{"payload over the limit", outbox.Event{Type: "a.b", Payload: strings.Repeat("x", 2000)}, outbox.ErrTooLarge, "2002 bytes, the limit is 1024"},
		{"empty type", outbox.Event{Payload: 1}, outbox.ErrInvalid, "type"},
		{"type with a space", outbox.Event{Type: "a b", Payload: 1}, outbox.ErrInvalid, "type"},
		{"type with an empty word", outbox.Event{Type: "a..b", Payload: 1}, outbox.ErrInvalid, "type"},
		{"type with a wildcard", outbox.Event{Type: "a.>", Payload: 1}, outbox.ErrInvalid, "type"},
		{"key too long", outbox.Event{Type: "a.b", Key: strings.Repeat("k", 256), Payload: 1}, outbox.ErrInvalid, "key"},
		{"key with NUL", outbox.Event{Type: "a.b", Key: "a\x00b", Payload: 1}, outbox.ErrInvalid, "key"},
		{"key not UTF-8", outbox.Event{Type: "a.b", Key: "\xff", Payload: 1}, outbox.ErrInvalid, "key"},
		{"id with a slash", outbox.Event{ID: "a/b", Type: "a.b", Payload: 1}, outbox.ErrInvalid, "id"},
		{"header name with a colon", outbox.Event{Type: "a.b", Payload: 1, Headers: map[string]string{"a:b": "c"}}, outbox.ErrInvalid, "header name"},
		{"header value with a newline", outbox.Event{Type: "a.b", Payload: 1, Headers: map[string]string{"a": "b\nc"}}, outbox.ErrInvalid, "header a"},
	}
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{MaxPayload: 1024})
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.write(context.Background(), "w"+string(rune('a'+i)), tt.e, nil)
				require.ErrorIs(t, err, tt.want)
				assert.Contains(t, err.Error(), tt.msg, "the error says what is wrong")
				assert.Zero(t, f.count(t, `SELECT COUNT(*) FROM work`), "the transaction rolled back")
				assert.Zero(t, f.count(t, `SELECT COUNT(*) FROM svckit_outbox`), "no event was written")
			})
		}
	})
}

func nanValue() float64 { var z float64; return z / z }

func TestEmit_headersCarryTraceAndRequestID(t *testing.T) {
	sdk := telemetrytest.New(t)
	f := newFixture(t, testdb.SQLite(t), outbox.Options{
		Propagator:     propagation.TraceContext{},
		RequestID:      func(context.Context) string { return "req-1" },
		TracerProvider: sdk.Tracers,
		MeterProvider:  sdk.Meters,
	})
	f.tx = txn.New(f.db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	ctx, end := sdk.Parent(context.Background())
	require.NoError(t, f.write(ctx, "w", outbox.Event{Type: "thing.done", Payload: 1, Headers: map[string]string{"Tenant": "t1"}}, nil))
	end()
	var raw []byte
	require.NoError(t, f.db.DB.QueryRow(`SELECT headers FROM svckit_outbox`).Scan(&raw))
	var h map[string]string
	require.NoError(t, json.Unmarshal(raw, &h))
	assert.Equal(t, "req-1", h[outbox.HeaderRequestID])
	assert.Equal(t, "t1", h["Tenant"])
	require.Contains(t, h, "traceparent", "the trace context is in the headers")

	spans := sdk.Spans.GetSpans()
	var emit *string
	for _, s := range spans {
		if s.Name == outbox.SpanEmit {
			id := s.SpanContext.SpanID().String()
			emit = &id
		}
	}
	require.NotNil(t, emit, "Emit made a span under the caller's")
	assert.Contains(t, h["traceparent"], *emit, "the headers carry the Emit span's context")
}

func TestEmit_optionDefaults(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		payload int
		ok      bool
	}{
		{"zero means the default", 0, outbox.DefaultMaxPayload - 2, true},
		{"negative means the default", -5, outbox.DefaultMaxPayload - 2, true},
		{"negative default still bounds", -5, outbox.DefaultMaxPayload, false},
		{"huge is clamped", 1 << 40, outbox.MaxPayloadLimit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testdb.SQLite(t), outbox.Options{MaxPayload: tt.max})
			err := f.write(context.Background(), "w", outbox.Event{Type: "a.b", Payload: strings.Repeat("x", tt.payload)}, nil)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, outbox.ErrTooLarge)
			}
		})
	}
}

func TestNew_panicsOnMissingDependencies(t *testing.T) {
	db := testdb.SQLite(t)
	assert.PanicsWithValue(t, "outbox: New: nil *sql.DB", func() { outbox.New(nil, dialect.SQLite, outbox.Options{}) })
	assert.Panics(t, func() { outbox.New(db.DB, 0, outbox.Options{}) })
}

func TestMigrate_isIdempotentAndRecorded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		require.NoError(t, f.box.Migrate(context.Background()), "a second Migrate is a no-op")
		assert.Equal(t, 1, f.count(t, `SELECT COUNT(*) FROM svckit_schema_migrations WHERE version = 'outbox_001'`))
		if f.d != dialect.SQLite {
			assert.Equal(t, outbox.Partitions, f.count(t, `SELECT COUNT(*) FROM svckit_outbox_parts`))
		}
	})
}

func TestMessage_Decode(t *testing.T) {
	var v struct{ X int }
	require.NoError(t, outbox.Message{Payload: json.RawMessage(`{"X":3}`)}.Decode(&v))
	assert.Equal(t, 3, v.X)
	err := outbox.Message{Type: "a.b", Payload: json.RawMessage(`nope`)}.Decode(&v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outbox: decode a.b payload")
}
