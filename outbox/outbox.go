package outbox

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

//go:embed schema
var schemas embed.FS

// Partitions is how many partitions ordering keys hash into. On PostgreSQL
// and MySQL a relay holds a partition while it publishes from it, so at
// most Partitions relays share the work of one database.
const Partitions = 32

// Limits of an event.
const (
	// DefaultMaxPayload is the largest encoded payload Emit accepts when
	// Options.MaxPayload is zero: 256 KiB.
	DefaultMaxPayload = 256 << 10
	// MaxPayloadLimit is the most Options.MaxPayload may say: 1 MiB, the
	// default largest message of a NATS server.
	MaxPayloadLimit = 1 << 20
	// MaxTypeLen is the longest event type.
	MaxTypeLen = 128
	// MaxKeyLen is the longest ordering key.
	MaxKeyLen = 255
	// MaxHeaders is the most headers an event carries, those Emit adds
	// included.
	MaxHeaders = 32
)

// HeaderRequestID is the header Emit sets to Options.RequestID's answer.
// Emit also adds the trace context of ctx under the propagator's own
// names (traceparent and tracestate for W3C Trace Context).
const HeaderRequestID = "X-Request-Id"

// SchemaVersion is the version Migrate records in svckit_schema_migrations.
const SchemaVersion = "outbox_001"

// Errors of Emit. Each is wrapped with the detail of what was wrong, so
// match them with errors.Is.
var (
	// ErrNoTransaction: Emit was called outside a transaction on the
	// outbox's database. An event must commit with the change it reports.
	ErrNoTransaction = errors.New("outbox: emit outside a transaction on the outbox's database")
	// ErrPayload: the payload does not encode as JSON (encoding/json's
	// error is wrapped too), or a json.RawMessage payload is not valid
	// JSON.
	ErrPayload = errors.New("outbox: payload does not encode as JSON")
	// ErrTooLarge: the encoded payload is over Options.MaxPayload.
	ErrTooLarge = errors.New("outbox: payload too large")
	// ErrInvalid: the type, key, id or a header is not acceptable.
	ErrInvalid = errors.New("outbox: invalid event")
)

// Event is what Emit writes: something that happened, told to whoever
// subscribes to its Type.
type Event struct {
	// ID identifies the event everywhere: it is the broker's
	// de-duplication id (Nats-Msg-Id) and the inbox's key. Empty means a
	// new UUIDv7 (repository.NewUUIDv7); one given must be 1 to 36 bytes
	// of [A-Za-z0-9_-].
	ID string
	// Type names what happened, such as "user.created": 1 to MaxTypeLen
	// bytes of [A-Za-z0-9_-] words separated by single dots. It becomes
	// part of the broker's subject.
	Type string
	// Key orders events: events of one key are published and consumed in
	// the order they were emitted; events of different keys in any order.
	// Usually the id of the entity the event is about. At most MaxKeyLen
	// bytes of UTF-8 without NUL; empty is one key like any other.
	Key string
	// Payload is encoded with encoding/json (a json.RawMessage or []byte
	// payload must be valid JSON already and is stored as it is).
	Payload any
	// Headers travel with the event, beside those Emit adds (trace
	// context, request id). Names are 1 to 64 bytes of [A-Za-z0-9_-];
	// values at most 1024 bytes of UTF-8 without CR, LF or NUL.
	Headers map[string]string
}

// Message is an event as the relay publishes it and a consumer receives
// it.
type Message struct {
	ID      string
	Type    string
	Key     string
	Payload json.RawMessage
	// Headers are the event's headers with the trace context and request
	// id Emit added. Nil when there are none.
	Headers map[string]string
	// Time is when Emit ran, to the microsecond.
	Time time.Time
	// Seq is the event's position in its outbox: increasing per key. It
	// is 0 on a message that did not come from an outbox row.
	Seq int64
}

// Decode decodes the payload into v with encoding/json.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return fmt.Errorf("outbox: decode %s payload: %w", m.Type, err)
	}
	return nil
}

// Options configure New. The zero value accepts payloads up to
// DefaultMaxPayload, adds the trace context with otel's global propagator,
// adds no request id and reports to otel's global providers.
type Options struct {
	// MaxPayload is the largest encoded payload in bytes. Zero or negative
	// means DefaultMaxPayload; above MaxPayloadLimit means
	// MaxPayloadLimit.
	MaxPayload int
	// RequestID returns the request id of ctx for HeaderRequestID (for
	// example envelope.RequestID); "" adds none. Nil adds none.
	RequestID func(ctx context.Context) string
	// Propagator writes the trace context of ctx into the headers, and
	// consumers read it back to join their spans to the emitter's. Nil
	// means otel.GetTextMapPropagator().
	Propagator propagation.TextMapPropagator
	// Now stamps events. Nil means time.Now.
	Now func() time.Time
	// MeterProvider and TracerProvider receive the metrics and spans of
	// the outbox, its relays and consumers. Nil means otel's global ones.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Outbox writes events into the outbox table in the caller's transaction,
// and keeps the inbox of the consumers that run on the same database. Build
// it with New and create its tables with Migrate.
//
// The zero Outbox is not usable. An Outbox is safe for concurrent use. It
// does not own db: close db yourself; it starts nothing and needs no Close.
type Outbox struct {
	db         *sql.DB
	d          dialect.Dialect
	maxPayload int
	requestID  func(context.Context) string
	prop       propagation.TextMapPropagator
	now        func() time.Time
	tel        *instruments
	tx         *txn.Runner // the consumers' transactions, reported on the outbox's providers

	insert string
	leases leaseSQL
	nudge  func(context.Context)   // AfterCommit hook that wakes the relays
	part   func(key string) uint16 // the key's partition

	wakeMu sync.Mutex
	wakers map[chan struct{}]struct{} // of the relays running in this process
}

// New returns the outbox of db, which speaks dialect d. It panics if db is
// nil or d is not valid.
func New(db *sql.DB, d dialect.Dialect, opts Options) *Outbox {
	if db == nil {
		panic("outbox: New: nil *sql.DB")
	}
	if !d.Valid() {
		panic("outbox: New: invalid dialect.Dialect")
	}
	o := &Outbox{
		db:         db,
		d:          d,
		maxPayload: min(opt.PositiveOr(opts.MaxPayload, DefaultMaxPayload), MaxPayloadLimit),
		requestID:  opts.RequestID,
		prop:       opts.Propagator,
		now:        opts.Now,
		part:       partition,
	}
	if o.prop == nil {
		o.prop = otel.GetTextMapPropagator()
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.tel = newTelemetry(opts.MeterProvider, opts.TracerProvider)
	o.tx = txn.New(db, txn.Options{MeterProvider: opts.MeterProvider, TracerProvider: opts.TracerProvider})
	o.nudge = func(context.Context) { o.wakeRelays() }
	o.leases = newLeaseSQL(d)
	o.insert = d.Rebind(`INSERT INTO svckit_outbox (id, type, event_key, part, payload, headers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	return o
}

// DB returns the database of the outbox.
func (o *Outbox) DB() *sql.DB { return o.db }

// Dialect returns the dialect of the outbox's database.
func (o *Outbox) Dialect() dialect.Dialect { return o.d }

// Schema returns the outbox's schema: a directory per dialect (postgres,
// mysql, sqlite) of versioned scripts, which Migrate runs; users who keep
// their migrations in a tool of their own give it these instead.
func Schema() fs.FS {
	sub, err := fs.Sub(schemas, "schema")
	if err != nil { // a constant path: a build defect
		panic("outbox: " + err.Error())
	}
	return sub
}

// Migrate creates the outbox, partition and inbox tables unless
// svckit_schema_migrations records them. It is safe to run at every start,
// from many instances at once: they take the lock every svckit migration
// takes, and the schema is applied once.
func (o *Outbox) Migrate(ctx context.Context) error {
	migs, err := migrate.FromFS(Schema(), o.d.String())
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	for i := range migs {
		migs[i].File = path.Join("outbox/schema", migs[i].File)
	}
	if err := migrate.Run(ctx, o.db, o.d, "svckit_schema_migrations", migs); err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}
	return nil
}

// Emit writes e into the outbox in the transaction ctx carries on the
// outbox's database (txn.Do), so the event commits with the change it
// reports, or not at all. Outside such a transaction it returns
// ErrNoTransaction and writes nothing.
//
// Emit encodes the payload and checks the event first: a payload that does
// not encode is ErrPayload, one over Options.MaxPayload ErrTooLarge, a bad
// type, key, id or header ErrInvalid. Return the error from the
// transaction's function and nothing commits. Once the transaction
// commits, the relays in this process are woken to publish it at once;
// the others find it at their next poll. Types beginning with
// InvalidationPrefix are the Invalidator's: Emit refuses them (ErrInvalid).
func (o *Outbox) Emit(ctx context.Context, e Event) error {
	if strings.HasPrefix(e.Type, InvalidationPrefix) {
		return fmt.Errorf("%w: type %q: the prefix %s is the Invalidator's", ErrInvalid, e.Type, InvalidationPrefix)
	}
	return o.emit(ctx, e)
}

// emit is Emit without the check of the reserved prefix.
func (o *Outbox) emit(ctx context.Context, e Event) error {
	if !txn.InTx(ctx, o.db) {
		return ErrNoTransaction
	}
	if e.ID == "" {
		e.ID = repository.NewUUIDv7().String()
	}
	if err := check(e); err != nil {
		return err
	}
	payload, err := o.encode(e)
	if err != nil {
		return err
	}
	ctx, span := o.tel.emitSpan(ctx, e.Type)
	headers, err := o.headers(ctx, e.Headers)
	if err != nil {
		endSpan(span, err)
		return err
	}
	now := o.now().UnixMicro()
	_, err = txn.From(ctx, o.db).ExecContext(ctx, o.insert, e.ID, e.Type, e.Key, int(o.part(e.Key)), payload, headers, now)
	if err != nil {
		err = fmt.Errorf("outbox: insert %s event: %w", e.Type, dialect.Wrap(err))
		endSpan(span, err)
		return err
	}
	endSpan(span, nil)
	txn.AfterCommit(ctx, o.nudge)
	return nil
}

// wakeRelays wakes every relay running on o in this process.
func (o *Outbox) wakeRelays() {
	o.wakeMu.Lock()
	defer o.wakeMu.Unlock()
	for ch := range o.wakers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// waker returns a channel that wakeRelays signals, and the function that
// stops it.
func (o *Outbox) waker() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	o.wakeMu.Lock()
	defer o.wakeMu.Unlock()
	if o.wakers == nil {
		o.wakers = map[chan struct{}]struct{}{}
	}
	o.wakers[ch] = struct{}{}
	return ch, func() {
		o.wakeMu.Lock()
		defer o.wakeMu.Unlock()
		delete(o.wakers, ch)
	}
}

// encode returns the payload's JSON, checked for size.
func (o *Outbox) encode(e Event) ([]byte, error) {
	var b []byte
	switch p := e.Payload.(type) {
	case json.RawMessage:
		b = p
	case []byte:
		b = p
	default:
		var err error
		if b, err = json.Marshal(p); err != nil {
			return nil, fmt.Errorf("%w: %s event: %w", ErrPayload, e.Type, err)
		}
	}
	if len(b) > o.maxPayload {
		return nil, fmt.Errorf("%w: %s event: %d bytes, the limit is %d", ErrTooLarge, e.Type, len(b), o.maxPayload)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%w: %s event: not valid JSON", ErrPayload, e.Type)
	}
	if b == nil {
		b = []byte("null")
	}
	return b, nil
}

// headers returns the headers to store: e's, the trace context and the
// request id, as a JSON object (nil when there are none).
func (o *Outbox) headers(ctx context.Context, given map[string]string) ([]byte, error) {
	h := make(propagation.MapCarrier, len(given)+3)
	for k, v := range given {
		h[k] = v
	}
	o.prop.Inject(ctx, h)
	if o.requestID != nil {
		if id := o.requestID(ctx); id != "" {
			h[HeaderRequestID] = id
		}
	}
	if len(h) == 0 {
		return nil, nil
	}
	if len(h) > MaxHeaders {
		return nil, fmt.Errorf("%w: %d headers, at most %d", ErrInvalid, len(h), MaxHeaders)
	}
	for k, v := range h {
		if !word(k, 64) {
			return nil, fmt.Errorf("%w: header name %q: want 1 to 64 bytes of [A-Za-z0-9_-]", ErrInvalid, k)
		}
		if len(v) > 1024 || !utf8.ValidString(v) || bytes.ContainsAny([]byte(v), "\r\n\x00") {
			return nil, fmt.Errorf("%w: header %s: want at most 1024 bytes of UTF-8 without CR, LF or NUL", ErrInvalid, k)
		}
	}
	b, err := json.Marshal(map[string]string(h))
	if err != nil { // a map of strings always encodes
		return nil, fmt.Errorf("outbox: encode headers: %w", err)
	}
	return b, nil
}

// check validates e's id, type and key.
func check(e Event) error {
	if !word(e.ID, 36) {
		return fmt.Errorf("%w: id %q: want 1 to 36 bytes of [A-Za-z0-9_-]", ErrInvalid, e.ID)
	}
	if !validType(e.Type) {
		return fmt.Errorf("%w: type %q: want 1 to %d bytes of [A-Za-z0-9_-] words separated by dots", ErrInvalid, e.Type, MaxTypeLen)
	}
	if len(e.Key) > MaxKeyLen || !utf8.ValidString(e.Key) || bytes.IndexByte([]byte(e.Key), 0) >= 0 {
		return fmt.Errorf("%w: %s event: key: want at most %d bytes of UTF-8 without NUL", ErrInvalid, e.Type, MaxKeyLen)
	}
	return nil
}

// validType reports whether t is dot-separated words of [A-Za-z0-9_-],
// at most MaxTypeLen bytes: safe as part of a NATS subject.
func validType(t string) bool {
	if t == "" || len(t) > MaxTypeLen {
		return false
	}
	start := 0
	for i := 0; i <= len(t); i++ {
		if i == len(t) || t[i] == '.' {
			if i == start {
				return false
			}
			start = i + 1
			continue
		}
		if !wordByte(t[i]) {
			return false
		}
	}
	return true
}

// word reports whether s is 1 to max bytes of [A-Za-z0-9_-].
func word(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := range len(s) {
		if !wordByte(s[i]) {
			return false
		}
	}
	return true
}

func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// partition returns key's partition: the 32-bit FNV-1a hash of the key
// modulo Partitions.
func partition(key string) uint16 {
	h := uint32(2166136261)
	for i := range len(key) {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return uint16(h % Partitions)
}

// decodeHeaders reads a stored header object; nil stays nil.
func decodeHeaders(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("outbox: stored headers: %w", err)
	}
	return h, nil
}
