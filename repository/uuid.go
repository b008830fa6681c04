package repository

import "github.com/google/uuid"

// UUID is github.com/google/uuid's UUID: 16 bytes, stored in databases as
// its 36-character text form (PostgreSQL's uuid type accepts and returns
// it), with Scan, Value, MarshalText and UnmarshalText. It is an alias, so
// values pass between this package and uuid without conversion; parse one
// with uuid.Parse. The zero value is the nil UUID.
type UUID = uuid.UUID

// NewUUIDv7 returns a version 7 UUID (RFC 9562) from uuid.NewV7: 48 bits of
// Unix milliseconds, 12 bits of sub-millisecond time that the library keeps
// strictly increasing within the process (RFC 9562 §6.2, method 3), then
// 62 random bits from crypto/rand. Ids made later sort after earlier ones,
// which keeps B-tree inserts at the end of the index. Use it as
// Options.NewID. It panics only if crypto/rand fails, which it does not
// since Go 1.24 (it crashes the program instead).
func NewUUIDv7() UUID { return uuid.Must(uuid.NewV7()) }
