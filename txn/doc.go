// Package txn runs functions in database transactions that travel in the
// context, so repositories and services compose without passing *sql.Tx
// around.
package txn
