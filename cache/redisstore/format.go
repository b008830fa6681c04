package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/svckit/svckit/cache"
)

// The format of a key's value in Redis is this package's own, versioned by
// its first byte; users never handle it. Format 1:
//
//	entry: 0xE2, kind (0 value, 1 not found), version (8 bytes, big
//	       endian, never zero), refresh time (signed varint, Unix ns),
//	       then for a value its codec encoding; nothing for not found
//	lease: 0xE3, token (8 bytes, big endian, never zero)
//
// The Lua scripts read the first byte and the eight bytes after it (lease)
// or after the kind (entry); anything else in the key is treated as absent
// by them and as undecodable by Get. The refresh lease compares an entry's
// header up to its refresh time and rewrites that time in place. A later format takes another first
// byte, so processes running different versions treat each other's
// entries as misses and replace them, never misread them.
const (
	entryMagic   = 0xE2
	leaseMagic   = 0xE3
	kindValue    = 0
	kindNotFound = 1
	// minEntry is the shortest entry: magic, kind, version, a one-byte
	// refresh time.
	minEntry = 1 + 1 + 8 + 1
	leaseLen = 1 + 8
)

// errFormat is wrapped by the errors of decodeEntry on malformed input.
var errFormat = errors.New("redisstore: malformed entry")

// appendEntry appends e's encoding, with version, to b.
func appendEntry[V any](b []byte, e cache.Entry[V], version uint64, c Codec) ([]byte, error) {
	kind := byte(kindValue)
	if e.NotFound {
		kind = kindNotFound
	}
	b = appendHeader(b, kind, version, e.RefreshAt)
	if e.NotFound {
		return b, nil
	}
	v, err := c.Marshal(e.Value)
	if err != nil {
		return nil, err
	}
	return append(b, v...), nil
}

// appendHeader appends an entry's bytes up to its value: magic, kind,
// version, refresh time. The refresh lease compares a key's leading bytes
// with them.
func appendHeader(b []byte, kind byte, version uint64, refreshAt int64) []byte {
	b = append(b, entryMagic, kind)
	b = binary.BigEndian.AppendUint64(b, version)
	return binary.AppendVarint(b, refreshAt)
}

// decodeEntry decodes data written by appendEntry. lease is the token of a
// lease marker (zero otherwise, when e is set). Bytes in no known form are
// an error wrapping errFormat; a value its codec rejects, an error wrapping
// the codec's, with e.Version set so the caller can replace exactly it.
func decodeEntry[V any](data []byte, c Codec) (e cache.Entry[V], lease uint64, err error) {
	if len(data) == leaseLen && data[0] == leaseMagic {
		if t := binary.BigEndian.Uint64(data[1:]); t != 0 {
			return e, t, nil
		}
		return e, 0, fmt.Errorf("%w: zero lease token", errFormat)
	}
	if len(data) < minEntry || data[0] != entryMagic || data[1] > kindNotFound {
		return e, 0, fmt.Errorf("%w: bad header", errFormat)
	}
	version := binary.BigEndian.Uint64(data[2:])
	if version == 0 {
		return e, 0, fmt.Errorf("%w: zero version", errFormat)
	}
	refreshAt, n := binary.Varint(data[10:])
	if n <= 0 {
		return e, 0, fmt.Errorf("%w: bad refresh time", errFormat)
	}
	e.Version, e.RefreshAt, e.NotFound = version, refreshAt, data[1] == kindNotFound
	rest := data[10+n:]
	if e.NotFound {
		if len(rest) != 0 {
			return e, 0, fmt.Errorf("%w: placeholder with a value", errFormat)
		}
		return e, 0, nil
	}
	if err := c.Unmarshal(rest, &e.Value); err != nil {
		return e, 0, fmt.Errorf("redisstore: decode value: %w", err)
	}
	return e, 0, nil
}

// appendLease appends a lease marker for token to b.
func appendLease(b []byte, token uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, leaseMagic), token)
}

// tokenBytes is a token or version as the scripts compare it.
func tokenBytes(t uint64) []byte { return binary.BigEndian.AppendUint64(nil, t) }
