// Package dialect holds what differs between the SQL databases svckit
// supports: the Dialect value (placeholders, quoting, RETURNING, FOR
// UPDATE), Classify, the one place where driver errors are recognised, and
// MySQLDSN, the one place a mysql:// URL becomes go-sql-driver's DSN.
// repository, txn, the SQL stores and the schema migrations all use it.
// Parse the configured name once and hand the Dialect to every store:
//
//	d, err := dialect.Parse(os.Getenv("DB_DIALECT")) // "postgres", "mysql", "sqlite"
//	users := repository.NewSQL[User, int64](db, d, "users", repository.Options[int64]{})
//
//	if dialect.Classify(err) == dialect.UniqueViolation { … } // any driver
//
// # Errors by behaviour
//
// The package imports no driver. It recognises their errors by what they
// expose, anywhere in the error chain:
//
//   - PostgreSQL: the SQLSTATE of any error with a SQLState() string method
//     (pgx's *pgconn.PgError; lib/pq's *pq.Error);
//   - SQLite: the extended result code of any error with a Code() int method
//     (modernc.org/sqlite's *sqlite.Error);
//   - MySQL and MariaDB: the error number of go-sql-driver's
//     *mysql.MySQLError (see below), and its ErrInvalidConn;
//   - pgx's *pgconn.ConnectError (see below): any failure to connect;
//   - any driver: driver.ErrBadConn, *net.OpError (refused, reset, …),
//     context.DeadlineExceeded and context.Canceled.
//
// go-sql-driver exposes a server error's number only as the struct field
// Number, and its "invalid connection" only as a variable made with
// errors.New; pgx says that a connection could not be made only with its
// type, *pgconn.ConnectError, whose cause may be anything (a server or a
// load balancer that accepts then closes gives io.ErrUnexpectedEOF, which
// a truncated request body gives too). None has a method to ask. Reading
// them without importing the drivers takes either their error text or
// their types' shape. Classify reads the shape, in exactly one function
// (driverError): a pointer to a struct type of that name from that
// package (github.com/go-sql-driver/mysql's MySQLError and its field
// Number, github.com/jackc/pgx/v5/pgconn's ConnectError), looked at only
// when the chain holds no SQLSTATE or SQLite code that decides. The exact
// text of ErrInvalidConn is compared in one place too. The tests run each
// against the real driver (and a real server, or a proxy that accepts then
// closes), so a driver release that changes any of them fails them.
//
// # The error contract
//
// Wrap turns a classified driver error into one that reports an errkind
// kind, so the HTTP layer renders it without knowing SQL: a lost connection
// or a full server is Unavailable (503 with Retry-After), a statement
// cancelled at a deadline is Timeout (504), a constraint violation is
// Conflict (409), text the database cannot store is BadRequest (400). The
// driver's text stays in the chain for logs and is never shown to clients.
package dialect
