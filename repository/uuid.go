package repository

import (
	"crypto/rand"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// UUID is an RFC 9562 UUID, stored in databases as its 36-character text
// form (PostgreSQL's uuid type accepts and returns it). The zero value is
// the nil UUID.
type UUID [16]byte

// NewUUIDv7 returns a version 7 UUID for the current time: 48 bits of Unix
// milliseconds, 12 bits of sub-millisecond fraction and 62 random bits from
// crypto/rand. Ids made later sort after earlier ones (to the fraction's
// 244 ns resolution), which keeps B-tree inserts at the end of the index.
// Use it as Options.NewID.
func NewUUIDv7() UUID { return UUIDv7At(time.Now()) }

// UUIDv7At is NewUUIDv7 for the time t, for tests with an injected clock.
func UUIDv7At(t time.Time) UUID {
	var u UUID
	ns := t.UnixNano()
	ms := ns / 1e6
	frac := uint16((ns % 1e6) * 4096 / 1e6) // 12 bits of sub-millisecond time
	binary.BigEndian.PutUint64(u[0:8], uint64(ms)<<16)
	binary.BigEndian.PutUint16(u[6:8], 0x7000|frac)
	_, _ = rand.Read(u[8:]) // never fails; crashes the program instead
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return u
}

// ParseUUID parses the 36-character form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in either case.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("repository: invalid uuid %q", truncate(s))
	}
	hexs := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(hexs)); err != nil {
		return UUID{}, fmt.Errorf("repository: invalid uuid %q", truncate(s))
	}
	return u, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// String returns the lower-case 36-character form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Version returns the version nibble (7 for NewUUIDv7).
func (u UUID) Version() int { return int(u[6] >> 4) }

// Time returns the millisecond timestamp of a version 7 UUID.
func (u UUID) Time() time.Time {
	ms := int64(binary.BigEndian.Uint64(u[0:8]) >> 16)
	return time.UnixMilli(ms).UTC()
}

// MarshalText returns the 36-character form.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses the 36-character form.
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// Value returns the 36-character form, for database/sql.
func (u UUID) Value() (driver.Value, error) { return u.String(), nil }

// Scan reads a UUID from its text form or 16 raw bytes.
func (u *UUID) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return u.UnmarshalText([]byte(v))
	case []byte:
		if len(v) == 16 {
			copy(u[:], v)
			return nil
		}
		return u.UnmarshalText(v)
	case [16]byte:
		*u = v
		return nil
	}
	return fmt.Errorf("repository: cannot scan %T into UUID", src)
}
