package repository

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type row struct {
	ID    int64     `db:"id,pk"`
	Name  string    `db:"name"`
	At    time.Time `db:"at"`
	Maybe *int      `db:"maybe"`
}

func rowMapping(t testing.TB) *mapping {
	m, err := newMapping(reflect.TypeFor[row]())
	require.NoError(t, err, "row must map")
	return m
}

func TestCursorRoundTrip(t *testing.T) {
	m := rowMapping(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	for _, key := range [][]byte{nil, []byte("k")} {
		for _, tc := range []struct {
			orderBy string
			dir     Direction
			want    any
		}{
			{"name", Asc, "bob"}, {"at", Desc, at}, {"", Asc, int64(7)}, {"id", Desc, int64(7)},
		} {
			ks, err := m.resolveKeyset(key, PageOptions{OrderBy: tc.orderBy, OrderDir: tc.dir})
			require.NoError(t, err, "resolve %q", tc.orderBy)
			r := row{ID: 7, Name: "bob", At: at}
			c, err := m.nextCursor(key, ks, reflect.ValueOf(r))
			require.NoError(t, err, "encode %q", tc.orderBy)
			assert.Equal(t, len(key) > 0, strings.Contains(c, "."), "signed cursors carry a MAC")
			back, err := m.resolveKeyset(key, PageOptions{OrderBy: tc.orderBy, OrderDir: tc.dir, Cursor: c})
			require.NoError(t, err, "decode %q", tc.orderBy)
			assert.True(t, back.after, "a cursor positions the page")
			assert.Equal(t, tc.want, back.value.Interface(), "order value round-trips for %q", tc.orderBy)
			assert.Equal(t, int64(7), back.id.Interface(), "id round-trips")
		}
	}
}

func TestCursorUnsignedTypes(t *testing.T) {
	m := rowMapping(t)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, c := range map[string]string{
		"value of the wrong type": enc(`{"o":"name","v":5,"i":1}`),
		"id of the wrong type":    enc(`{"o":"name","v":"a","i":"x"}`),
		"unknown field":           enc(`{"o":"name","v":"a","i":1,"x":1}`),
		"null value":              enc(`{"o":"name","v":null,"i":1}`),
		"missing id":              enc(`{"o":"name","v":"a"}`),
		"trailing data":           enc(`{"o":"name","v":"a","i":1}{}`),
		"other ordering":          enc(`{"o":"at","v":"a","i":1}`),
		"bad time":                enc(`{"o":"name","v":"a","i":1.5}`),
		"signature given":         enc(`{"o":"name","v":"a","i":1}`) + ".AAAA",
	} {
		_, err := m.resolveKeyset(nil, PageOptions{OrderBy: "name", Cursor: c})
		assert.ErrorIs(t, err, ErrInvalidCursor, "unsigned cursor with %s must be rejected", name)
	}
	ok := enc(`{"o":"name","v":"a","i":1}`)
	ks, err := m.resolveKeyset(nil, PageOptions{OrderBy: "name", Cursor: ok})
	require.NoError(t, err, "a well-formed unsigned cursor is accepted without a key")
	assert.Equal(t, "a", ks.value.Interface(), "its value is typed")
	_, err = m.resolveKeyset([]byte("key"), PageOptions{OrderBy: "name", Cursor: ok})
	assert.ErrorIs(t, err, ErrInvalidCursor, "with a key, an unsigned cursor is rejected")
}

func TestResolveKeysetRejectsNullable(t *testing.T) {
	_, err := rowMapping(t).resolveKeyset(nil, PageOptions{OrderBy: "maybe"})
	assert.ErrorIs(t, err, ErrInvalidField, "a nullable column cannot order cursor pages")
}

// FuzzDecodeCursor feeds arbitrary strings to the cursor decoder, signed and
// unsigned: it must never panic, and whatever it accepts must re-encode to
// a cursor that decodes to the same content.
func FuzzDecodeCursor(f *testing.F) {
	m := rowMapping(f)
	key := []byte("fuzz key")
	for _, k := range [][]byte{nil, key} {
		ks, _ := m.resolveKeyset(k, PageOptions{OrderBy: "name"})
		c, _ := m.nextCursor(k, ks, reflect.ValueOf(row{ID: 1, Name: "x"}))
		f.Add(c)
	}
	f.Add("")
	f.Add(".")
	f.Add("e30")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"o":"name","v":"a","i":1}`)))
	f.Add(strings.Repeat("A", 2000))
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range [][]byte{nil, key} {
			c, err := decodeCursor(k, s)
			if err != nil {
				if !errors.Is(err, ErrInvalidCursor) {
					t.Fatalf("decodeCursor(%q) error %v does not match ErrInvalidCursor", s, err)
				}
				continue
			}
			again, err := encodeCursor(k, c)
			if err != nil {
				t.Fatalf("re-encode of accepted cursor %q: %v", s, err)
			}
			back, err := decodeCursor(k, again)
			if err != nil || back.Order != c.Order || back.Desc != c.Desc {
				t.Fatalf("re-encoded cursor %q decodes to %+v, %v; want %+v", again, back, err, c)
			}
			_, err = m.resolveKeyset(k, PageOptions{OrderBy: c.Order, OrderDir: dirOf(c.Desc), Cursor: s})
			if err != nil && !errors.Is(err, ErrInvalidCursor) && !errors.Is(err, ErrInvalidField) {
				t.Fatalf("resolveKeyset(%q): unexpected error kind %v", s, err)
			}
		}
	})
}

func dirOf(desc bool) Direction {
	if desc {
		return Desc
	}
	return Asc
}
