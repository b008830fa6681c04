package repository

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// Memory is a Repository that keeps rows in memory, for tests and
// prototypes. It behaves like SQL: ErrNotFound for missing rows,
// ErrConflict on fields tagged unique (NULLs never conflict), the same
// filters, ordering (strings bytewise, as the binary collations the tests
// use), offset and keyset pages and cursors. It does not take part in
// transactions.
//
// Create Memory values with NewMemory. Rows are stored and returned as
// shallow copies. Memory is safe for concurrent use and holds nothing to
// close.
type Memory[T any, ID comparable] struct {
	name string
	m    *mapping
	opts Options[ID]

	mu     sync.RWMutex
	rows   map[ID]T
	seq    int64
	unique map[int]map[any]ID // unique column -> value -> owner
}

var _ Repository[struct{}, int64] = (*Memory[struct{}, int64])(nil)

// MemoryOptions configure NewMemory: the Options a SQL repository takes
// too, and the name that stands for the table in errors. The zero value
// works for integer ids.
type MemoryOptions[ID comparable] struct {
	// Name appears in errors where SQL names its table, as in
	// "repository: users 42: not found". Empty means the name of the row
	// type T.
	Name string
	// Options are read as NewSQL reads them; TracerProvider is unused, as
	// a Memory runs no statement.
	Options[ID]
}

// NewMemory returns an empty in-memory repository. T maps as for NewSQL.
// It panics if T does not map, or if ID is not an integer type and
// opts.NewID is nil.
func NewMemory[T any, ID comparable](opts MemoryOptions[ID]) *Memory[T, ID] {
	name := opts.Name
	if name == "" {
		name = reflect.TypeFor[T]().Name()
	}
	m, err := newMapping(reflect.TypeFor[T]())
	if err != nil {
		panic(err.Error())
	}
	idType := reflect.TypeFor[ID]()
	if m.cols[m.pk].typ != idType {
		panic(fmt.Sprintf("repository: NewMemory: pk field is %s, ID is %s", m.cols[m.pk].typ, idType))
	}
	natural := m.cols[m.pk].natural
	if natural && opts.NewID != nil {
		panic("repository: NewMemory: a natural pk is chosen by the caller; Options.NewID must be nil")
	}
	if !natural && opts.NewID == nil && !isInt(idType.Kind()) && !isUint(idType.Kind()) {
		panic("repository: NewMemory: non-integer ids need Options.NewID")
	}
	opts.CursorKey = cursorKey(opts.CursorKey)
	r := &Memory[T, ID]{name: name, m: m, opts: opts.Options, rows: map[ID]T{}, unique: map[int]map[any]ID{}}
	for i, c := range m.cols {
		if c.unique && !c.pk {
			r.unique[i] = map[any]ID{}
		}
	}
	return r
}

func (r *Memory[T, ID]) mapping() *mapping { return r.m }

func (r *Memory[T, ID]) notFound(id ID) error {
	return fmt.Errorf("repository: %s %v: %w", r.name, id, ErrNotFound)
}

// uniqueKey returns the index key of a unique field, false for NULL or a
// type that cannot be a map key.
func uniqueKey(f reflect.Value) (any, bool) {
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return nil, false
		}
		f = f.Elem()
	}
	if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8 {
		return string(f.Bytes()), true
	}
	if !f.Type().Comparable() {
		return nil, false
	}
	return f.Interface(), true
}

// checkUnique returns a *ConflictError when row would collide with a row
// other than id on a unique field. Callers hold mu.
func (r *Memory[T, ID]) checkUnique(row reflect.Value, id ID) error {
	for col, index := range r.unique {
		k, ok := uniqueKey(r.m.field(row, col))
		if !ok {
			continue
		}
		if owner, taken := index[k]; taken && owner != id {
			return &ConflictError{Table: r.name, Field: r.m.cols[col].name}
		}
	}
	return nil
}

func (r *Memory[T, ID]) index(row reflect.Value, id ID, add bool) {
	for col, index := range r.unique {
		if k, ok := uniqueKey(r.m.field(row, col)); ok {
			if add {
				index[k] = id
			} else {
				delete(index, k)
			}
		}
	}
}

// FindByID returns the row with the id, or an error matching ErrNotFound.
func (r *Memory[T, ID]) FindByID(_ context.Context, id ID) (T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.rows[id]
	if !ok {
		return v, r.notFound(id)
	}
	return v, nil
}

// FindByIDs returns the rows with the ids, in the order of ids, skipping
// missing and repeated ids.
func (r *Memory[T, ID]) FindByIDs(_ context.Context, ids []ID) ([]T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]T, 0, len(ids))
	seen := make(map[ID]bool, len(ids))
	for _, id := range ids {
		if v, ok := r.rows[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// Create inserts *v; see Repository.Create. A duplicate id or unique field
// returns a *ConflictError.
func (r *Memory[T, ID]) Create(_ context.Context, v *T) error {
	rv := reflect.ValueOf(v).Elem()
	var row T // only mapped fields are stored, as in SQL
	rowv := reflect.ValueOf(&row).Elem()
	for i := range r.m.cols {
		r.m.field(rowv, i).Set(r.m.field(rv, i))
	}
	r.m.stampCreate(rowv, r.opts.now())
	pk, err := stampID(r.m, rowv, r.opts.NewID)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.NewID == nil && !r.m.cols[r.m.pk].natural {
		r.seq++
		if isInt(pk.Kind()) {
			pk.SetInt(r.seq)
		} else {
			pk.SetUint(uint64(r.seq))
		}
	}
	id := pk.Interface().(ID)
	if _, dup := r.rows[id]; dup {
		return &ConflictError{Table: r.name, Field: r.m.cols[r.m.pk].name}
	}
	if err := r.checkUnique(rowv, id); err != nil {
		return err
	}
	r.rows[id] = row
	r.index(rowv, id, true)
	for i := range r.m.cols {
		r.m.field(rv, i).Set(r.m.field(rowv, i))
	}
	return nil
}

// Update applies changes to the row with the id and returns it; see
// Repository.Update.
func (r *Memory[T, ID]) Update(_ context.Context, id ID, changes Changes) (T, error) {
	var zero T
	set, err := r.m.resolveSet(changes, r.opts.now())
	if err != nil {
		return zero, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.rows[id]
	if !ok {
		return zero, r.notFound(id)
	}
	row := old
	rowv := reflect.ValueOf(&row).Elem()
	for _, a := range set {
		r.m.field(rowv, a.col).Set(a.value)
	}
	if err := r.checkUnique(rowv, id); err != nil {
		return zero, err
	}
	r.index(reflect.ValueOf(&old).Elem(), id, false)
	r.index(rowv, id, true)
	r.rows[id] = row
	return row, nil
}

// Delete removes the row with the id, or returns ErrNotFound.
func (r *Memory[T, ID]) Delete(_ context.Context, id ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.rows[id]
	if !ok {
		return r.notFound(id)
	}
	r.index(reflect.ValueOf(&old).Elem(), id, false)
	delete(r.rows, id)
	return nil
}

// Count returns the number of rows matching filter.
func (r *Memory[T, ID]) Count(_ context.Context, filter Filter) (int64, error) {
	conds, err := r.m.resolveFilter(filter)
	if err != nil {
		return 0, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var n int64
	for _, v := range r.rows {
		if r.m.matches(reflect.ValueOf(&v).Elem(), conds) {
			n++
		}
	}
	return n, nil
}

// FindMany returns one offset page; see SQL.FindMany.
func (r *Memory[T, ID]) FindMany(_ context.Context, o FindOptions) ([]T, error) {
	col, conds, err := r.m.resolveFind(o)
	if err != nil {
		return nil, err
	}
	rows := r.sorted(conds, col, o.OrderDir == Desc, nil)
	offset := min(max(o.Offset, 0), len(rows))
	rows = rows[offset:]
	return rows[:min(clampLimit(o.Limit), len(rows))], nil
}

// FindPage returns one keyset page; see SQL.FindPage.
func (r *Memory[T, ID]) FindPage(_ context.Context, o PageOptions) (Page[T], error) {
	ks, conds, err := r.m.resolvePage(r.opts.CursorKey, o)
	if err != nil {
		return Page[T]{}, err
	}
	rows := r.sorted(conds, ks.col, ks.desc, &ks)
	return finishPage(r.m, r.opts.CursorKey, ks, rows[:min(ks.limit+1, len(rows))])
}

// FindIn returns the rows whose column holds one of values, in primary key
// order.
func (r *Memory[T, ID]) FindIn(_ context.Context, column string, values []any) ([]T, error) {
	conds, err := r.m.resolveFilter(Filter{column: values})
	if err != nil {
		return nil, err
	}
	return r.sorted(conds, r.m.pk, false, nil), nil
}

// sorted returns copies of the rows matching conds (and after the keyset
// position, if any) ordered by col then primary key.
func (r *Memory[T, ID]) sorted(conds []cond, col int, desc bool, ks *keyset) []T {
	r.mu.RLock()
	out := make([]T, 0, len(r.rows))
	for _, v := range r.rows {
		rv := reflect.ValueOf(&v).Elem()
		if !r.m.matches(rv, conds) {
			continue
		}
		if ks != nil && ks.after && !r.afterKeyset(rv, ks) {
			continue
		}
		out = append(out, v)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b T) int {
		c := r.compareRows(reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem(), col)
		if desc {
			return -c
		}
		return c
	})
	return out
}

func (r *Memory[T, ID]) compareRows(a, b reflect.Value, col int) int {
	if c := compareValues(r.m.field(a, col), r.m.field(b, col)); c != 0 || col == r.m.pk {
		return c
	}
	return compareValues(r.m.field(a, r.m.pk), r.m.field(b, r.m.pk))
}

func (r *Memory[T, ID]) afterKeyset(row reflect.Value, ks *keyset) bool {
	c := 0
	if ks.col != r.m.pk {
		c = compareValues(r.m.field(row, ks.col), ks.value)
	}
	if c == 0 {
		c = compareValues(r.m.field(row, r.m.pk), ks.id)
	}
	if ks.desc {
		return c < 0
	}
	return c > 0
}
