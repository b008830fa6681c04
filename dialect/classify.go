package dialect

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/svckit/svckit/errkind"
)

// Class is what a database error means to the code that handles it. The
// zero value, Other, is an error Classify does not recognise.
type Class uint8

// The classes Classify recognises.
const (
	// Other is an error that is none of the classes below.
	Other Class = iota
	// UniqueViolation: an insert or update hit a unique constraint
	// (PostgreSQL 23505; SQLite 2067, 1555; MySQL 1062, 1586).
	UniqueViolation
	// ForeignKeyViolation: a reference to a missing row, or a delete of a
	// referenced one (PostgreSQL 23503; SQLite 787; MySQL 1451, 1452, 1216,
	// 1217).
	ForeignKeyViolation
	// SerializationFailure: the transaction lost a race and was rolled
	// back (PostgreSQL 40001; SQLite 517 SQLITE_BUSY_SNAPSHOT).
	SerializationFailure
	// Deadlock: the transaction was chosen as a deadlock victim and rolled
	// back (PostgreSQL 40P01; MySQL 1213).
	Deadlock
	// LockTimeout: a lock was not granted in time (PostgreSQL 55P03; MySQL
	// 1205, which undoes only the statement; SQLite SQLITE_BUSY and
	// SQLITE_LOCKED with their extended codes).
	LockTimeout
	// RecordChanged: MariaDB 1020, "Record has changed since last read",
	// raised under REPEATABLE READ with innodb_snapshot_isolation; the
	// transaction must restart.
	RecordChanged
	// ConnectionLost: the connection could not be made or broke, or the
	// server is shutting down or starting (driver.ErrBadConn, *net.OpError,
	// an error whose SafeToRetry method reports true, as pgx's "conn
	// closed" does; any pgx *pgconn.ConnectError, whatever it wraps, such
	// as the io.ErrUnexpectedEOF of a server or proxy that accepts then
	// closes; PostgreSQL 08xxx, 57P01, 57P02, 57P03; MySQL 1053, 1927,
	// 2006, 2013, 4031 and go-sql-driver's ErrInvalidConn; SQLite 14
	// SQLITE_CANTOPEN, a file that cannot be opened). io.ErrUnexpectedEOF
	// alone is not one: a truncated JSON body says it too.
	ConnectionLost
	// TooManyConnections: the server has no connection slot left
	// (PostgreSQL 53300; MySQL 1040, 1203, 1226).
	TooManyConnections
	// InvalidText: a value the database cannot store as text, such as an
	// invalid byte sequence for the encoding (PostgreSQL 22021, 22P05;
	// MySQL 1300, 1366). It is the client's input, not a fault.
	InvalidText
	// Timeout: the statement was cancelled at a deadline
	// (context.DeadlineExceeded; PostgreSQL 57014; MySQL 1317, 3024;
	// MariaDB 1969).
	Timeout
	// Canceled: the caller cancelled the statement (context.Canceled).
	Canceled
	// DuplicateObject: DDL that creates what exists already (PostgreSQL
	// 42P07, 42710; MySQL 1050, 1061). PostgreSQL reports it, or a unique
	// violation on its catalog, when two sessions run the same CREATE ...
	// IF NOT EXISTS at once.
	DuplicateObject
)

// String returns the class's name in lower case with spaces, such as
// "unique violation".
func (c Class) String() string {
	switch c {
	case UniqueViolation:
		return "unique violation"
	case ForeignKeyViolation:
		return "foreign key violation"
	case SerializationFailure:
		return "serialization failure"
	case Deadlock:
		return "deadlock"
	case LockTimeout:
		return "lock timeout"
	case RecordChanged:
		return "record changed"
	case ConnectionLost:
		return "connection lost"
	case TooManyConnections:
		return "too many connections"
	case InvalidText:
		return "invalid text"
	case Timeout:
		return "timeout"
	case Canceled:
		return "canceled"
	case DuplicateObject:
		return "duplicate object"
	}
	return "other"
}

// Transient reports whether a transaction that failed with an error of
// class c would likely succeed if run again from the start: a
// serialization failure, a deadlock, a lock timeout or a changed record.
// txn retries these.
func (c Class) Transient() bool {
	switch c {
	case SerializationFailure, Deadlock, LockTimeout, RecordChanged:
		return true
	}
	return false
}

// Kind returns the errkind kind an error of class c reports once wrapped
// (see Wrap): Conflict for constraint violations and duplicate objects,
// Unavailable for lost or refused connections, a full server and transient
// failures that outlived their retries, BadRequest for InvalidText,
// Timeout for Timeout, ClientClosedRequest for Canceled, and Unknown for
// Other.
func (c Class) Kind() errkind.Kind {
	switch c {
	case UniqueViolation, ForeignKeyViolation, DuplicateObject:
		return errkind.Conflict
	case SerializationFailure, Deadlock, LockTimeout, RecordChanged, ConnectionLost, TooManyConnections:
		return errkind.Unavailable
	case InvalidText:
		return errkind.BadRequest
	case Timeout:
		return errkind.Timeout
	case Canceled:
		return errkind.ClientClosedRequest
	}
	return errkind.Unknown
}

// Classify returns the class of err, looking at every error in its chain
// (see the package documentation for what it recognises). A context error
// in the chain wins: a statement that failed because its context ended is
// Timeout or Canceled whatever the driver said. Classify(nil) is Other.
func Classify(err error) Class {
	if err == nil {
		return Other
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		if c := classifySQLState(pg.SQLState()); c != Other {
			return c
		}
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		if c := classifySQLite(lite.Code()); c != Other {
			return c
		}
	}
	if n, ok := mysqlNumber(err); ok {
		if c := classifyMySQL(n); c != Other {
			return c
		}
	}
	var op *net.OpError
	var retry interface{ SafeToRetry() bool }
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.As(err, &op), isMySQLInvalidConn(err), isPgxConnectError(err):
		// Any failure to connect: the server is down, refused us, or
		// accepted then closed (a load balancer in front of a dead one).
		return ConnectionLost
	case errors.As(err, &retry) && retry.SafeToRetry():
		// pgx: the request never reached the server, as on a connection
		// an earlier failure closed ("conn closed").
		return ConnectionLost
	}
	return Other
}

// classifySQLState classifies a PostgreSQL SQLSTATE.
func classifySQLState(s string) Class {
	switch s {
	case "23505":
		return UniqueViolation
	case "23503":
		return ForeignKeyViolation
	case "40001":
		return SerializationFailure
	case "40P01":
		return Deadlock
	case "55P03":
		return LockTimeout
	case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
		return ConnectionLost
	case "53300":
		return TooManyConnections
	case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
		return InvalidText
	case "57014": // query_canceled: statement_timeout or a cancel request
		return Timeout
	case "42P07", "42710": // duplicate_table, duplicate_object
		return DuplicateObject
	}
	if strings.HasPrefix(s, "08") { // connection_exception
		return ConnectionLost
	}
	return Other
}

// classifySQLite classifies a SQLite extended result code.
func classifySQLite(code int) Class {
	switch code {
	case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
		return UniqueViolation
	case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
		return ForeignKeyViolation
	case 517: // SQLITE_BUSY_SNAPSHOT
		return SerializationFailure
	}
	switch code & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return LockTimeout
	case 14: // SQLITE_CANTOPEN: the file (or its directory) cannot be opened
		return ConnectionLost
	}
	return Other
}

// classifyMySQL classifies a MySQL or MariaDB server error number.
func classifyMySQL(n uint16) Class {
	switch n {
	case 1062, 1586: // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
		return UniqueViolation
	case 1451, 1452, 1216, 1217: // ER_ROW_IS_REFERENCED(_2), ER_NO_REFERENCED_ROW(_2)
		return ForeignKeyViolation
	case 1213: // ER_LOCK_DEADLOCK
		return Deadlock
	case 1205: // ER_LOCK_WAIT_TIMEOUT
		return LockTimeout
	case 1020: // ER_CHECKREAD: record has changed since last read
		return RecordChanged
	case 1053, 1927, 2006, 2013, 4031: // server shutdown, connection killed, server gone, lost, idle timeout
		return ConnectionLost
	case 1040, 1203, 1226: // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_USER_LIMIT_REACHED
		return TooManyConnections
	case 1300, 1366: // ER_INVALID_CHARACTER_STRING, ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
		return InvalidText
	case 1317, 3024, 1969: // query interrupted, max_execution_time, MariaDB max_statement_time
		return Timeout
	case 1050, 1061: // ER_TABLE_EXISTS_ERROR, ER_DUP_KEYNAME
		return DuplicateObject
	}
	return Other
}

// mysqlNumber returns the Number field of the first go-sql-driver
// *mysql.MySQLError in err's chain.
func mysqlNumber(err error) (uint16, bool) {
	var n uint16
	found := inChain(err, func(e error) bool {
		v, ok := driverError(e, "github.com/go-sql-driver/mysql", "MySQLError")
		if !ok {
			return false
		}
		f := v.FieldByName("Number")
		if !f.IsValid() || f.Kind() != reflect.Uint16 {
			return false
		}
		n = uint16(f.Uint())
		return true
	})
	return n, found
}

// isPgxConnectError reports whether err's chain holds pgx's
// *pgconn.ConnectError: a connection that could not be made, whatever the
// cause it wraps (a refusal, a reset, the EOF of a server that accepted
// then closed, a TLS or authentication failure).
func isPgxConnectError(err error) bool {
	return inChain(err, func(e error) bool {
		_, ok := driverError(e, "github.com/jackc/pgx/v5/pgconn", "ConnectError")
		return ok
	})
}

// driverError returns the struct e points to when e is a pointer to the
// struct type name of the package pkg. This is the package's only use of
// reflection; see the package documentation for why.
func driverError(e error, pkg, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(e)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reflect.Value{}, false
	}
	t := v.Type().Elem()
	if t.Kind() != reflect.Struct || t.Name() != name || t.PkgPath() != pkg {
		return reflect.Value{}, false
	}
	return v.Elem(), true
}

// isMySQLInvalidConn reports whether err's chain holds go-sql-driver's
// ErrInvalidConn, a plain errors.New value: the only place this package
// compares error text.
func isMySQLInvalidConn(err error) bool {
	return inChain(err, func(e error) bool {
		_, wraps := e.(interface{ Unwrap() error })
		return !wraps && e.Error() == "invalid connection"
	})
}

// inChain reports whether match holds for err or any error it wraps, depth
// first, as errors.As walks.
func inChain(err error, match func(error) bool) bool {
	for err != nil {
		if match(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if inChain(e, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// RetryAfter is how long Wrap's Unavailable errors tell a client to wait:
// long enough for a pool to reconnect or a failover to finish, short enough
// not to lose the client.
const RetryAfter = time.Second

// Error is a classified database error: it reports its class's errkind
// kind (see Class.Kind), a standard client message and, for Unavailable,
// RetryAfter. Its Error text is the driver's, for logs.
type Error struct {
	Class Class // never Other
	Err   error // the driver's error
}

var (
	_ errkind.Kinder       = (*Error)(nil)
	_ errkind.RetryAfterer = (*Error)(nil)
)

// Wrap returns err unchanged when it is nil, already reports a kind (see
// errkind.Inspect), wraps a context error (errkind.Of reports those by
// itself) or is not classified (Other); otherwise a *Error that wraps it,
// so errors.Is and errors.As still see the driver's error.
func Wrap(err error) error {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	if _, ok := errkind.Inspect(err); ok {
		return err
	}
	c := Classify(err)
	if c == Other {
		return err
	}
	return &Error{Class: c, Err: err}
}

// Error returns the text of the wrapped error unchanged: Wrap adds a kind,
// not words, to what callers log.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the driver's error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns e.Class.Kind().
func (e *Error) ErrorKind() errkind.Kind { return e.Class.Kind() }

// RetryAfter returns RetryAfter for errors that are Unavailable, else 0.
func (e *Error) RetryAfter() time.Duration {
	if e.Class.Kind() == errkind.Unavailable {
		return RetryAfter
	}
	return 0
}
