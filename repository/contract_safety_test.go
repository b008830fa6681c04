package repository_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/repository"
)

// member is the safety suite's row type: an application-generated id, a
// unique handle, a secret marked private, a json:"-" token (private by
// default) and a json:"-" tenant marked public.
type member struct {
	ID     string  `db:"id,pk" json:"id"`
	Handle string  `db:"handle,unique" json:"handle"`
	Name   string  `db:"name" json:"name"`
	Nick   *string `db:"nick" json:"nick"`
	Hash   string  `db:"hash,private" json:"hash"`
	Token  string  `db:"token" json:"-"`
	Tenant string  `db:"tenant,public" json:"-"`
}

// country has a natural key: the caller chooses it.
type country struct {
	Code string `db:"code,pk,natural" json:"code"`
	Name string `db:"name" json:"name"`
}

// memberPatch is a PATCH body decoded straight into Optional fields.
type memberPatch struct {
	Name repository.Optional[string]  `db:"name" json:"name"`
	Nick repository.Optional[*string] `db:"nick" json:"nick"`
}

// renamePatch names its field differently in JSON and in the table.
type renamePatch struct {
	Name repository.Optional[string] `db:"name" json:"displayName"`
}

// The patches' mappings, built once.
var (
	memberPatches = repository.NewPatch[memberPatch]()
	renamePatches = repository.NewPatch[renamePatch]()
)

// safetySchema is plain enough to run unchanged on every engine.
var safetySchema = []string{
	`CREATE TABLE members (id VARCHAR(40) PRIMARY KEY, handle VARCHAR(100) NOT NULL UNIQUE,
		name VARCHAR(100) NOT NULL, nick VARCHAR(100) NULL, hash VARCHAR(100) NOT NULL,
		token VARCHAR(100) NOT NULL, tenant VARCHAR(100) NOT NULL)`,
	`CREATE TABLE countries (code VARCHAR(8) PRIMARY KEY, name VARCHAR(100) NOT NULL)`,
}

// safetyRepos builds repositories over the members and countries tables; each
// call to members is a separate instance (its own statement cache, its own
// generated cursor key unless opts has one) over the same rows, in SQL.
type safetyRepos struct {
	members   func(opts repository.Options[string]) repository.Repository[member, string]
	countries func() repository.Repository[country, string]
}

func memorySafety(*testing.T) safetyRepos {
	return safetyRepos{
		members: func(opts repository.Options[string]) repository.Repository[member, string] {
			return repository.NewMemory[member, string](repository.MemoryOptions[string]{Name: "members", Options: opts})
		},
		countries: func() repository.Repository[country, string] {
			return repository.NewMemory[country, string](repository.MemoryOptions[string]{Name: "countries"})
		},
	}
}

func sqlSafety(t *testing.T, db *testdb.DB) safetyRepos {
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err, "testdb dialect must parse")
	return safetyRepos{
		members: func(opts repository.Options[string]) repository.Repository[member, string] {
			return repository.NewSQL[member, string](db.DB, d, "members", opts)
		},
		countries: func() repository.Repository[country, string] {
			return repository.NewSQL[country, string](db.DB, d, "countries", repository.Options[string]{})
		},
	}
}

// seqIDs generates ids "prefix-1", "prefix-2", ...
func seqIDs(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%d", prefix, n.Add(1)) }
}

// TestContractSafety runs the defaults that must not leak (issue 19 item 9)
// against memory and SQL on SQLite, PostgreSQL and MySQL/MariaDB.
func TestContractSafety(t *testing.T) {
	t.Run("memory", func(t *testing.T) { safety(t, nil, memorySafety(t)) })
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		for _, stmt := range safetySchema {
			_, err := db.DB.ExecContext(context.Background(), stmt)
			require.NoError(t, err, "schema statement must run on %s", db.Dialect)
		}
		safety(t, db, sqlSafety(t, db))
	})
}

func safety(t *testing.T, db *testdb.DB, mk safetyRepos) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, mk safetyRepos)
	}{
		{"CursorsSignedByDefault", testCursorsSignedByDefault},
		{"PrivateColumns", testPrivateColumns},
		{"CreateOwnsGeneratedIDs", testCreateOwnsGeneratedIDs},
		{"NaturalKeys", testNaturalKeys},
		{"PatchNull", testPatchNull},
		{"ConflictHidesTheSchema", testConflictHidesTheSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if db != nil {
				for _, table := range []string{"members", "countries"} {
					_, err := db.DB.ExecContext(context.Background(), "DELETE FROM "+table)
					require.NoError(t, err, "tables must empty between subtests")
				}
			}
			tc.run(t, mk)
		})
	}
}

func seedMembers(t *testing.T, r repository.Repository[member, string], n int, prefix string) []member {
	t.Helper()
	out := make([]member, 0, n)
	for i := range n {
		m := member{Handle: fmt.Sprintf("%s%02d", prefix, i), Name: fmt.Sprintf("n%02d", (i*7)%n),
			Hash: fmt.Sprintf("hash%02d", (i*3)%n), Token: "t", Tenant: "acme"}
		require.NoError(t, r.Create(context.Background(), &m), "seed member %d", i)
		out = append(out, m)
	}
	return out
}

// testCursorsSignedByDefault: without Options.CursorKey a repository still
// signs its cursors (with a key of its own), so another instance, or a
// client editing the cursor, is refused; instances sharing a key accept
// each other's cursors.
func testCursorsSignedByDefault(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	a := mk.members(repository.Options[string]{NewID: seqIDs("a")})
	seedMembers(t, a, 5, "a")
	first, err := a.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 2})
	require.NoError(t, err, "first page")
	require.True(t, first.HasMore, "more rows follow")
	body, mac, signed := strings.Cut(first.NextCursor, ".")
	require.True(t, signed, "a cursor made without a configured key is signed all the same")
	payload, err := base64.RawURLEncoding.DecodeString(body)
	require.NoError(t, err, "the payload is base64url")
	altered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"n0`, `"n9`, 1)))
	require.NotEqual(t, body, altered, "the alteration changes the payload")

	key := []byte("a key of 32 bytes shared by both")
	shared1 := mk.members(repository.Options[string]{NewID: seqIDs("s1"), CursorKey: key})
	shared2 := mk.members(repository.Options[string]{NewID: seqIDs("s2"), CursorKey: key})
	seedMembers(t, shared1, 3, "s")
	sharedFirst, err := shared1.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 2})
	require.NoError(t, err, "first page with a shared key")
	require.True(t, sharedFirst.HasMore, "more rows follow")

	for _, tc := range []struct {
		name   string
		repo   repository.Repository[member, string]
		cursor string
		ok     bool
	}{
		{"the issuing instance", a, first.NextCursor, true},
		{"the issuing instance, unchanged cursor again", a, first.NextCursor, true},
		{"another instance without a shared key", mk.members(repository.Options[string]{NewID: seqIDs("b")}), first.NextCursor, false},
		{"the payload without its MAC", a, body, false},
		{"an altered payload with the old MAC", a, altered + "." + mac, false},
		{"another instance sharing the key", shared2, sharedFirst.NextCursor, true},
		{"a key-less instance given a shared-key cursor", a, sharedFirst.NextCursor, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.repo.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 2, Cursor: tc.cursor})
			if !tc.ok {
				assert.ErrorIs(t, err, repository.ErrInvalidCursor, "the cursor must be refused")
				return
			}
			require.NoError(t, err, "the cursor must be accepted")
			if tc.repo != a {
				return // in memory, instances do not share rows
			}
			require.NotEmpty(t, p.Items, "the next page has rows")
			assert.GreaterOrEqual(t, p.Items[0].Name, "n01", "the page continues after the cursor")
		})
	}
}

// testPrivateColumns: private columns (by tag, or by json:"-") answer every
// filter, order and cursor exactly as a column that does not exist; they are
// still written and read.
func testPrivateColumns(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	r := mk.members(repository.Options[string]{NewID: seqIDs("p")})
	rows := seedMembers(t, r, 3, "p")
	const unknown = "no_such_column"
	for _, op := range []struct {
		name string
		run  func(field string) error
	}{
		{"FindMany orderBy", func(f string) error {
			_, err := r.FindMany(ctx, repository.FindOptions{OrderBy: f})
			return err
		}},
		{"FindMany filter", func(f string) error {
			_, err := r.FindMany(ctx, repository.FindOptions{Filter: repository.Filter{f: "hash01"}})
			return err
		}},
		{"Count filter", func(f string) error {
			_, err := r.Count(ctx, repository.Filter{f: "hash01"})
			return err
		}},
		{"FindPage orderBy", func(f string) error {
			_, err := r.FindPage(ctx, repository.PageOptions{OrderBy: f})
			return err
		}},
		{"FindPage filter", func(f string) error {
			_, err := r.FindPage(ctx, repository.PageOptions{Filter: repository.Filter{f: "hash01"}})
			return err
		}},
		{"FindIn", func(f string) error {
			_, err := r.FindIn(ctx, f, []any{"hash01"})
			return err
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			want := op.run(unknown)
			require.ErrorIs(t, want, repository.ErrInvalidField, "an unknown column is an invalid field")
			for _, field := range []string{"hash", "token", "-"} {
				err := op.run(field)
				require.ErrorIs(t, err, repository.ErrInvalidField, "private column %q must be refused", field)
				var got, ref *repository.FieldError
				require.ErrorAs(t, err, &got, "a *FieldError for %q", field)
				require.ErrorAs(t, want, &ref, "a *FieldError for the unknown column")
				assert.Equal(t, ref.Param, got.Param, "same param as an unknown column")
				assert.Equal(t, ref.Reason, got.Reason, "same reason as an unknown column: existence is not confirmed")
				assert.Equal(t, strings.ReplaceAll(want.Error(), unknown, field), err.Error(), "the same error as an unknown column")
			}
			for _, field := range []string{"tenant", "name"} {
				assert.NoError(t, op.run(field), "column %q may be used", field)
			}
		})
	}
	got, err := r.Update(ctx, rows[0].ID, repository.Set{"hash": "rotated", "token": "t2"})
	require.NoError(t, err, "private columns are still written by Update")
	assert.Equal(t, "rotated", got.Hash, "the hash is written")
	again, err := r.FindByID(ctx, rows[0].ID)
	require.NoError(t, err, "find by id")
	assert.Equal(t, "rotated", again.Hash, "private columns are read")
	assert.Equal(t, "t2", again.Token, "json:\"-\" columns are read")
}

// testCreateOwnsGeneratedIDs: with Options.NewID the repository chooses
// the id, whatever the caller (or a decoded request body) set.
func testCreateOwnsGeneratedIDs(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	r := mk.members(repository.Options[string]{NewID: seqIDs("g")})
	victim := member{Handle: "victim", Name: "V", Hash: "x", Token: "t", Tenant: "acme"}
	require.NoError(t, r.Create(ctx, &victim), "the victim's row")
	for _, tc := range []struct {
		name string
		body string
	}{
		{"a fresh id", `{"id":"mine","handle":"c1","name":"C"}`},
		{"the id of an existing row", `{"id":"` + victim.ID + `","handle":"c2","name":"C"}`},
		{"an id like a generated one", `{"id":"g-99","handle":"c3","name":"C"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m member
			require.NoError(t, json.Unmarshal([]byte(tc.body), &m), "the body decodes")
			chosen := m.ID
			m.Hash, m.Token, m.Tenant = "x", "t", "acme"
			require.NoError(t, r.Create(ctx, &m), "create ignores the caller's id rather than fail")
			assert.NotEqual(t, chosen, m.ID, "the id is generated, not the caller's")
			assert.True(t, strings.HasPrefix(m.ID, "g-"), "the id comes from NewID")
			stored, err := r.FindByID(ctx, m.ID)
			require.NoError(t, err, "the row is under the generated id")
			assert.Equal(t, m.Handle, stored.Handle, "the row as created")
		})
	}
	got, err := r.FindByID(ctx, victim.ID)
	require.NoError(t, err, "the victim's row is still there")
	assert.Equal(t, "victim", got.Handle, "and untouched")
	_, err = r.FindByID(ctx, "mine")
	assert.ErrorIs(t, err, repository.ErrNotFound, "no row has a caller-chosen id")
}

// testNaturalKeys: a pk tagged natural is the caller's; a zero one is
// refused, a repeated one conflicts.
func testNaturalKeys(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	r := mk.countries()
	for _, tc := range []struct {
		name string
		row  country
		want error
	}{
		{"a given key", country{Code: "NO", Name: "Norway"}, nil},
		{"another key", country{Code: "SE", Name: "Sweden"}, nil},
		{"a zero key", country{Name: "Nowhere"}, repository.ErrInvalidField},
		{"a repeated key", country{Code: "NO", Name: "Again"}, repository.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := tc.row
			err := r.Create(ctx, &row)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want, "create must fail")
				return
			}
			require.NoError(t, err, "create with a natural key")
			assert.Equal(t, tc.row.Code, row.Code, "the key is kept")
			got, err := r.FindByID(ctx, tc.row.Code)
			require.NoError(t, err, "found by its key")
			assert.Equal(t, tc.row.Name, got.Name, "the row as created")
		})
	}
}

// testPatchNull: a JSON null for a NOT NULL field is a *FieldError naming
// the field, never a silent "" written to the row; for a nullable field it
// means NULL.
func testPatchNull(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	r := mk.members(repository.Options[string]{NewID: seqIDs("n")})
	nick := "adi"
	for _, tc := range []struct {
		name      string
		body      string
		set       bool // decode into a Set instead of a patch struct
		renamed   bool // decode into renamePatch
		badField  string
		wantName  string
		wantNick  *string
		nickGiven bool
	}{
		{name: "null name", body: `{"name":null}`, badField: "name"},
		{name: "null name beside a valid nick", body: `{"name":null,"nick":"x"}`, badField: "name"},
		{name: "null name in a Set", body: `{"name":null}`, set: true, badField: "name"},
		{name: "null name under its json name", body: `{"displayName":null}`, renamed: true, badField: "displayName"},
		{name: "null nick", body: `{"nick":null}`, wantName: "Ada", wantNick: nil},
		{name: "a new name", body: `{"name":"Bea"}`, wantName: "Bea", wantNick: &nick},
		{name: "empty body", body: `{}`, wantName: "Ada", wantNick: &nick},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := member{Handle: "p-" + strings.ReplaceAll(tc.name, " ", "-"), Name: "Ada", Nick: &nick, Hash: "x", Token: "t", Tenant: "acme"}
			require.NoError(t, r.Create(ctx, &m), "create")
			var changes repository.Changes
			switch {
			case tc.renamed:
				var p renamePatch
				require.NoError(t, json.Unmarshal([]byte(tc.body), &p), "the body decodes into a patch")
				changes = renamePatches.Of(p)
			case tc.set:
				var s repository.Set
				require.NoError(t, json.Unmarshal([]byte(tc.body), &s), "the body decodes into a Set")
				changes = s
			default:
				var p memberPatch
				require.NoError(t, json.Unmarshal([]byte(tc.body), &p), "the body decodes into a patch")
				changes = memberPatches.Of(p)
			}
			got, err := r.Update(ctx, m.ID, changes)
			stored, ferr := r.FindByID(ctx, m.ID)
			require.NoError(t, ferr, "the row is still there")
			if tc.badField != "" {
				require.ErrorIs(t, err, repository.ErrInvalidField, "a null for a NOT NULL field is refused")
				var fe *repository.FieldError
				require.ErrorAs(t, err, &fe, "a *FieldError")
				assert.Equal(t, tc.badField, fe.Field, "the error names the field")
				assert.Equal(t, "null not allowed", fe.Reason, "and says why")
				rec := httptest.NewRecorder()
				require.NoError(t, envelope.WriteError(rec, httptest.NewRequest(http.MethodPatch, "/v1/members/x", nil), err), "rendered")
				var body struct {
					Error struct {
						Code    string         `json:"code"`
						Message string         `json:"message"`
						Details map[string]any `json:"details"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "an envelope")
				assert.Equal(t, fmt.Sprintf("field %q: null not allowed", tc.badField), body.Error.Message, "the client's message names the field")
				assert.Equal(t, map[string]any{"field": tc.badField, "reason": "null not allowed"}, body.Error.Details,
					"the details name the field, not the repository's internal \"set\"")
				assert.Equal(t, "Ada", stored.Name, "nothing is written")
				assert.Equal(t, &nick, stored.Nick, "not even the other fields")
				return
			}
			require.NoError(t, err, "update")
			assert.Equal(t, tc.wantName, got.Name, "name returned")
			assert.Equal(t, tc.wantName, stored.Name, "name stored")
			assert.Equal(t, tc.wantNick, stored.Nick, "nick stored")
		})
	}
}

// testConflictHidesTheSchema: the client sees 409 CONFLICT and nothing of
// the table, column or constraint; the application still reads the column.
func testConflictHidesTheSchema(t *testing.T, mk safetyRepos) {
	ctx := context.Background()
	r := mk.members(repository.Options[string]{NewID: seqIDs("c")})
	first := member{Handle: "taken", Name: "A", Hash: "x", Token: "t", Tenant: "acme"}
	require.NoError(t, r.Create(ctx, &first), "first create")
	second := member{Handle: "other", Name: "B", Hash: "x", Token: "t", Tenant: "acme"}
	require.NoError(t, r.Create(ctx, &second), "second create")
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"create", func() error {
			dup := member{Handle: "taken", Name: "C", Hash: "x", Token: "t", Tenant: "acme"}
			return r.Create(ctx, &dup)
		}},
		{"update", func() error {
			_, err := r.Update(ctx, second.ID, repository.Set{"handle": "taken"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			require.ErrorIs(t, err, repository.ErrConflict, "a unique violation")
			var ce *repository.ConflictError
			require.ErrorAs(t, err, &ce, "the application reads the conflict")
			assert.Equal(t, "handle", ce.Field, "the application still knows the column")
			rec := httptest.NewRecorder()
			require.NoError(t, envelope.WriteError(rec, httptest.NewRequest(http.MethodPost, "/v1/members", nil), err), "rendered")
			assert.Equal(t, http.StatusConflict, rec.Code, "409")
			var out struct {
				Error struct {
					Code    string         `json:"code"`
					Details map[string]any `json:"details"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), "an envelope")
			assert.Equal(t, "CONFLICT", out.Error.Code, "code")
			assert.Empty(t, out.Error.Details, "no details name the column")
			for _, secret := range []string{"handle", "members", "taken"} {
				assert.NotContains(t, rec.Body.String(), secret, "the body must not contain %q", secret)
			}
			assert.False(t, errors.Is(err, repository.ErrNotFound), "a conflict is only a conflict")
		})
	}
}
