package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// frameVersion is the first byte of a framed Entry. It is not a byte JSON
// or MessagePack output of an Entry starts with, so a store meeting bytes
// written in another form reports them as undecodable rather than misreading
// them.
const frameVersion = 0xE1

// errFrame is wrapped by the errors of UnmarshalFrame on malformed input.
var errFrame = errors.New("cache: malformed entry frame")

// Framer is implemented by *Entry[V] for every V. A remote store whose
// values implement it (rediscache does) keeps an entry as a frame: its
// header in a few bytes of its own, and only the value through the store's
// codec. Decoding a hit then decodes the value alone, without an enclosing
// object, and another program can read the value as plain codec output
// after the header.
type Framer interface {
	// AppendFrame appends the entry's frame to b, encoding the value
	// with c.
	AppendFrame(b []byte, c Codec) ([]byte, error)
	// UnmarshalFrame sets the entry from a frame, decoding the value with
	// c.
	UnmarshalFrame(data []byte, c Codec) error
}

// Codec turns values into bytes and back, for stores that hold bytes.
// rediscache.Codec has the same methods.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

var _ Framer = (*Entry[int])(nil)

// AppendFrame appends e's frame to b: the version byte, Missing, RefreshAt
// as a signed varint, then, for a value (Missing zero), the value as c
// encodes it. A placeholder's frame ends after the header.
func (e Entry[V]) AppendFrame(b []byte, c Codec) ([]byte, error) {
	b = append(b, frameVersion, e.Missing)
	b = binary.AppendVarint(b, e.RefreshAt)
	if e.Missing != 0 {
		return b, nil
	}
	v, err := c.Marshal(e.Value)
	if err != nil {
		return nil, err
	}
	return append(b, v...), nil
}

// UnmarshalFrame sets e from a frame written by AppendFrame, decoding the
// value with c. Malformed headers and placeholders followed by data are
// errors; c's errors are returned wrapped.
func (e *Entry[V]) UnmarshalFrame(data []byte, c Codec) error {
	if len(data) < 3 || data[0] != frameVersion {
		return fmt.Errorf("%w: bad header", errFrame)
	}
	refreshAt, n := binary.Varint(data[2:])
	if n <= 0 {
		return fmt.Errorf("%w: bad refresh time", errFrame)
	}
	missing, rest := data[1], data[2+n:]
	var zero V
	*e = Entry[V]{Value: zero, Missing: missing, RefreshAt: refreshAt}
	if missing != 0 {
		if len(rest) != 0 {
			return fmt.Errorf("%w: placeholder with a value", errFrame)
		}
		return nil
	}
	if err := c.Unmarshal(rest, &e.Value); err != nil {
		return fmt.Errorf("cache: decode entry value: %w", err)
	}
	return nil
}
