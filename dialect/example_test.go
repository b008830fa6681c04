package dialect_test

import (
	"database/sql/driver"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
)

func ExampleDialect_Rebind() {
	q := "UPDATE accounts SET balance = balance - ? WHERE id = ?"
	fmt.Println(dialect.Postgres.Rebind(q))
	fmt.Println(dialect.MySQL.Rebind(q))
	// Output:
	// UPDATE accounts SET balance = balance - $1 WHERE id = $2
	// UPDATE accounts SET balance = balance - ? WHERE id = ?
}

func ExampleClassify() {
	dup := fmt.Errorf("insert user: %w", &pgconn.PgError{Code: "23505"})
	fmt.Println(dialect.Classify(dup))
	fmt.Println(dialect.Classify(&pgconn.PgError{Code: "40001"}).Transient())
	// Output:
	// unique violation
	// true
}

// A lost connection, wrapped, reports Unavailable with a Retry-After, and
// the driver's text stays out of what a client is shown.
func ExampleWrap() {
	err := dialect.Wrap(fmt.Errorf("find user: %w", driver.ErrBadConn))
	r, _ := errkind.Inspect(err)
	fmt.Println(r.Status, r.Code, r.Message, r.RetryAfter)
	// Output: 503 UNAVAILABLE service unavailable 1s
}

func ExampleMySQLDSN() {
	dsn, err := dialect.MySQLDSN("mysql://app:secret@db.internal/shop?tls=true")
	if err != nil {
		panic(err)
	}
	fmt.Println(dsn)
	// Output: app:secret@tcp(db.internal:3306)/shop?parseTime=true&tls=true
}
