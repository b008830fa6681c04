package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/txn"
)

// SQL is a Repository over a database/sql pool for one table. Statements run
// in the transaction ctx carries for the pool (txn.From), or on the pool.
//
// Create SQL values with NewSQL, once per table at start-up: the struct
// mapping is reflected there and statement texts are built once and cached.
// SQL is safe for concurrent use and holds nothing to close (the pool is the
// caller's).
type SQL[T any, ID comparable] struct {
	db      *sql.DB
	d       dialect.Dialect
	name    string // table name as given
	table   string // quoted
	m       *mapping
	opts    Options[ID]
	dbIDs   bool // the database generates ids
	columns string
	byID    string
	lockID  string
	insert  string
	delete  string
	exists  string

	mu    sync.RWMutex
	cache map[queryKey]string
	bufs  sync.Pool // of *scanBuf[T]: single-row scan targets
	tel   sqlTelemetry
}

// scanBuf is a reusable scan target for single-row reads: a row and the
// field pointers Scan writes through. Reusing it saves two allocations per
// FindByID: the row and the pointer slice would otherwise escape into Scan.
type scanBuf[T any] struct {
	v    T
	dest []any
}

// maxCachedQueries bounds the per-repository statement text cache.
const maxCachedQueries = 256

var _ Repository[struct{}, int64] = (*SQL[struct{}, int64])(nil)

// NewSQL returns a repository for table, whose rows map to T through `db`
// struct tags:
//
//	type User struct {
//		ID        int64     `db:"id,pk"`
//		Email     string    `db:"email,unique"`
//		Name      string    `db:"name"`
//		CreatedAt time.Time `db:"created_at,created"`
//		UpdatedAt time.Time `db:"updated_at,updated"`
//	}
//
// Tag options: pk (exactly one, of type ID), natural (on the pk: the caller
// chooses the key; otherwise Create generates it), created and updated
// (time.Time, maintained by the repository), unique (documents a unique
// constraint; violations become ErrConflict whatever the tag says), private
// (never in a filter, an order or a cursor; the default for a field tagged
// `json:"-"`) and public (lifts that default). Untagged fields are ignored;
// the json tag name of a field is accepted, besides the column name, in
// filters, orders and sets.
//
// NewSQL panics if d is invalid, table is not a plain identifier (optionally
// schema-qualified) or T does not map: those are programming errors.
func NewSQL[T any, ID comparable](db *sql.DB, d dialect.Dialect, table string, opts Options[ID]) *SQL[T, ID] {
	if !d.Valid() {
		panic(fmt.Sprintf("repository: NewSQL: invalid dialect %v", d))
	}
	for part := range strings.SplitSeq(table, ".") {
		if !validIdent(part) {
			panic(fmt.Sprintf("repository: NewSQL: invalid table name %q", table))
		}
	}
	m, err := newMapping(reflect.TypeFor[T]())
	if err != nil {
		panic(err.Error())
	}
	if m.cols[m.pk].typ != reflect.TypeFor[ID]() {
		panic(fmt.Sprintf("repository: NewSQL: pk field is %s, ID is %s", m.cols[m.pk].typ, reflect.TypeFor[ID]()))
	}
	opts.CursorKey = cursorKey(opts.CursorKey)
	r := &SQL[T, ID]{db: db, d: d, name: table, table: d.Quote(table), m: m, opts: opts,
		dbIDs: opts.NewID == nil && !m.cols[m.pk].natural, cache: map[queryKey]string{}}
	if m.cols[m.pk].natural && opts.NewID != nil {
		panic("repository: NewSQL: a natural pk is chosen by the caller; Options.NewID must be nil")
	}
	if r.dbIDs && d == dialect.MySQL && !isInt(m.cols[m.pk].typ.Kind()) && !isUint(m.cols[m.pk].typ.Kind()) {
		panic("repository: NewSQL: MySQL generates only integer ids; set Options.NewID")
	}
	r.build()
	r.tel = newSQLTelemetry(opts.TracerProvider, d, table)
	r.bufs.New = func() any {
		b := &scanBuf[T]{dest: make([]any, len(m.cols))}
		r.m.targets(unsafe.Pointer(&b.v), b.dest)
		return b
	}
	return r
}

func (r *SQL[T, ID]) build() {
	var cols []string
	for _, c := range r.m.cols {
		cols = append(cols, r.d.Quote(c.name))
	}
	r.columns = strings.Join(cols, ", ")
	pk := r.d.Quote(r.m.cols[r.m.pk].name)
	r.byID = "SELECT " + r.columns + " FROM " + r.table + " WHERE " + pk + " = " + r.d.Placeholder(1)
	r.lockID = r.byID + r.d.ForUpdate()
	r.delete = "DELETE FROM " + r.table + " WHERE " + pk + " = " + r.d.Placeholder(1)
	r.exists = "SELECT 1 FROM " + r.table + " WHERE " + pk + " = " + r.d.Placeholder(1)
	var names, marks []string
	for i, c := range r.m.cols {
		if i == r.m.pk && r.dbIDs {
			continue
		}
		names = append(names, r.d.Quote(c.name))
		marks = append(marks, r.d.Placeholder(len(marks)+1))
	}
	r.insert = "INSERT INTO " + r.table + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if r.dbIDs && r.d.Returning() {
		r.insert += " RETURNING " + pk
	}
}

func (r *SQL[T, ID]) mapping() *mapping { return r.m }

func (r *SQL[T, ID]) q(ctx context.Context) txn.Querier { return txn.From(ctx, r.db) }

// scanRow runs a single-row query with one argument. Calling
// QueryRowContext on the concrete type lets the compiler keep the *sql.Row
// on the stack, one allocation fewer than a call through the interface.
func scanRow(ctx context.Context, q txn.Querier, query string, arg any, dest []any) error {
	switch q := q.(type) {
	case *sql.DB:
		return q.QueryRowContext(ctx, query, arg).Scan(dest...)
	case *sql.Tx:
		return q.QueryRowContext(ctx, query, arg).Scan(dest...)
	}
	return q.QueryRowContext(ctx, query, arg).Scan(dest...)
}

// FindByID returns the row with the id, or an error matching ErrNotFound.
func (r *SQL[T, ID]) FindByID(ctx context.Context, id ID) (T, error) {
	return r.findOne(ctx, r.byID, id)
}

func (r *SQL[T, ID]) findOne(ctx context.Context, query string, id ID) (_ T, err error) {
	ctx, span := r.tel.start(ctx, opSelect)
	defer func() { end(span, err) }()
	var zero T
	b := r.bufs.Get().(*scanBuf[T])
	defer r.bufs.Put(b)
	err = scanRow(ctx, r.q(ctx), query, id, b.dest)
	if errors.Is(err, sql.ErrNoRows) {
		return zero, fmt.Errorf("repository: %s %v: %w", r.name, id, ErrNotFound)
	}
	if err != nil {
		return zero, dbError("find", r.name, err)
	}
	r.m.utc(unsafe.Pointer(&b.v))
	v := b.v
	b.v = zero // drop references held by the pooled row
	return v, nil
}

// Create inserts *v. See Repository.Create. A unique violation returns a
// *ConflictError (errors.Is(err, ErrConflict)) holding the driver error.
func (r *SQL[T, ID]) Create(ctx context.Context, v *T) (err error) {
	ctx, span := r.tel.start(ctx, opInsert)
	defer func() { end(span, err) }()
	rv := reflect.ValueOf(v).Elem()
	r.m.stampCreate(rv, r.opts.now())
	pk, err := stampID(r.m, rv, r.opts.NewID)
	if err != nil {
		return err
	}
	args := make([]any, 0, len(r.m.cols))
	for i := range r.m.cols {
		if i == r.m.pk && r.dbIDs {
			continue
		}
		args = append(args, bindValue(&r.m.cols[i], r.m.field(rv, i)))
	}
	q := r.q(ctx)
	switch {
	case r.dbIDs && r.d.Returning():
		if err := q.QueryRowContext(ctx, r.insert, args...).Scan(pk.Addr().Interface()); err != nil {
			return r.writeErr("insert into", err)
		}
	case r.dbIDs:
		res, err := q.ExecContext(ctx, r.insert, args...)
		if err != nil {
			return r.writeErr("insert into", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("repository: insert into %s: last insert id: %w", r.name, err)
		}
		if isInt(pk.Kind()) {
			pk.SetInt(id)
		} else {
			pk.SetUint(uint64(id))
		}
	default:
		if _, err := q.ExecContext(ctx, r.insert, args...); err != nil {
			return r.writeErr("insert into", err)
		}
	}
	return nil
}

// Update applies changes to the row with the id and returns the row as
// stored. Unknown or read-only fields are a *FieldError; a missing row is
// ErrNotFound; a unique violation is a *ConflictError. Empty changes return
// the row untouched. PostgreSQL and SQLite read the row back with RETURNING
// in the same statement; MySQL runs a SELECT after the UPDATE, so run the
// call inside a transaction there when the two must see the same state.
func (r *SQL[T, ID]) Update(ctx context.Context, id ID, changes Changes) (_ T, err error) {
	ctx, span := r.tel.start(ctx, opUpdate)
	defer func() { end(span, err) }()
	var zero T
	set, err := r.m.resolveSet(changes, r.opts.now())
	if err != nil {
		return zero, err
	}
	if len(set) == 0 {
		return r.FindByID(ctx, id)
	}
	var b strings.Builder
	b.WriteString("UPDATE " + r.table + " SET ")
	args := make([]any, 0, len(set)+1)
	for i, a := range set {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, bindValue(&r.m.cols[a.col], a.value))
		b.WriteString(r.d.Quote(r.m.cols[a.col].name) + " = " + r.d.Placeholder(len(args)))
	}
	args = append(args, id)
	b.WriteString(" WHERE " + r.d.Quote(r.m.cols[r.m.pk].name) + " = " + r.d.Placeholder(len(args)))
	q := r.q(ctx)
	if r.d.Returning() {
		b.WriteString(" RETURNING " + r.columns)
		var v T
		err := q.QueryRowContext(ctx, b.String(), args...).Scan(r.m.targets(unsafe.Pointer(&v), make([]any, len(r.m.cols)))...)
		if errors.Is(err, sql.ErrNoRows) {
			return zero, fmt.Errorf("repository: %s %v: %w", r.name, id, ErrNotFound)
		}
		if err != nil {
			return zero, r.writeErr("update", err)
		}
		r.m.utc(unsafe.Pointer(&v))
		return v, nil
	}
	res, err := q.ExecContext(ctx, b.String(), args...)
	if err != nil {
		return zero, r.writeErr("update", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		// MySQL counts changed rows, not matched ones: check existence.
		var one int
		err := q.QueryRowContext(ctx, r.exists, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return zero, fmt.Errorf("repository: %s %v: %w", r.name, id, ErrNotFound)
		}
		if err != nil {
			return zero, dbError("update", r.name, err)
		}
	}
	return r.FindByID(ctx, id)
}

// Delete removes the row with the id, or returns ErrNotFound.
func (r *SQL[T, ID]) Delete(ctx context.Context, id ID) (err error) {
	ctx, span := r.tel.start(ctx, opDelete)
	defer func() { end(span, err) }()
	res, err := r.q(ctx).ExecContext(ctx, r.delete, id)
	if err != nil {
		return dbError("delete from", r.name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("delete from", r.name, err)
	}
	if n == 0 {
		return fmt.Errorf("repository: %s %v: %w", r.name, id, ErrNotFound)
	}
	return nil
}

// FindByIDForUpdate reads the row with the id and locks it until the
// transaction in ctx ends (SELECT ... FOR UPDATE on PostgreSQL and MySQL;
// on SQLite the transaction already holds the write lock). Outside a
// transaction it returns ErrNotInTx.
func (r *SQL[T, ID]) FindByIDForUpdate(ctx context.Context, id ID) (T, error) {
	if !txn.InTx(ctx, r.db) {
		var zero T
		return zero, ErrNotInTx
	}
	return r.findOne(ctx, r.lockID, id)
}

// LockByIDs reads and locks the rows with the ids, in primary key order (the
// same order for every caller, so two transactions locking overlapping sets
// cannot deadlock on each other). Missing ids are skipped. Outside a
// transaction it returns ErrNotInTx.
func (r *SQL[T, ID]) LockByIDs(ctx context.Context, ids []ID) ([]T, error) {
	if !txn.InTx(ctx, r.db) {
		return nil, ErrNotInTx
	}
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = id
	}
	return r.findIn(ctx, r.m.pk, dedupe(values), r.d.ForUpdate())
}

// writeErr classifies a write error: unique violations become a
// *ConflictError, the rest are wrapped.
func (r *SQL[T, ID]) writeErr(op string, err error) error {
	if dialect.Classify(err) == dialect.UniqueViolation {
		return &ConflictError{Table: r.name, Field: r.conflictField(err), Err: err}
	}
	return dbError(op, r.name, err)
}

// conflictField guesses the unique column a driver message names: the one
// unique or pk column whose name appears in it as a word, if exactly one
// does. MySQL messages quote the duplicate value first, so only the text
// after "for key" is searched.
func (r *SQL[T, ID]) conflictField(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "for key"); ok {
		msg = after
	}
	found := ""
	for _, c := range r.m.cols {
		if !c.unique && !c.pk {
			continue
		}
		if containsWord(msg, c.name) {
			if found != "" {
				return ""
			}
			found = c.name
		}
	}
	return found
}

func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !identByte(s[start-1])) && (end == len(s) || !identByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

// identByte reports letters and digits; underscores and dots separate words
// in constraint names such as users_email_key.
func identByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
