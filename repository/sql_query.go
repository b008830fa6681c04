package repository

import (
	"context"
	"reflect"
	"strconv"
	"unsafe"
)

// inChunk is the most values FindIn, FindByIDs and LoadMany bind in one
// IN (...) list; longer lists run as several queries. 500 stays well under
// every driver's parameter limit (SQLite's default is 32766, PostgreSQL's
// 65535).
const inChunk = 500

// queryKey identifies the text of a generated SELECT, for the cache.
type queryKey struct {
	kind   byte   // 'm' FindMany, 'p' FindPage, 'c' Count
	order  int    // order column
	desc   bool   // direction
	after  bool   // keyset predicate present
	offset bool   // OFFSET present
	filter string // shape of the filter terms
}

// filterShape describes conds for queryKey; ok is false when the shape
// should not be cached (long IN lists would flood the cache).
func filterShape(conds []cond) (string, bool) {
	if len(conds) == 0 {
		return "", true
	}
	var b []byte
	for _, c := range conds {
		b = strconv.AppendInt(b, int64(c.col), 10)
		switch {
		case c.null:
			b = append(b, 'n')
		case c.in:
			if len(c.values) > 16 {
				return "", false
			}
			b = append(b, 'i')
			b = strconv.AppendInt(b, int64(len(c.values)), 10)
		default:
			b = append(b, '=')
		}
		b = append(b, ',')
	}
	return string(b), true
}

// text returns the cached statement for key, building it with build on a
// miss.
func (r *SQL[T, ID]) text(key queryKey, cacheable bool, build func() string) string {
	if !cacheable {
		return build()
	}
	r.mu.RLock()
	s, ok := r.cache[key]
	r.mu.RUnlock()
	if ok {
		return s
	}
	s = build()
	r.mu.Lock()
	if len(r.cache) < maxCachedQueries {
		r.cache[key] = s
	}
	r.mu.Unlock()
	return s
}

// appendWhere writes the filter terms and, for a keyset page, the position
// predicate, numbering placeholders from n+1. It returns the next n.
func (r *SQL[T, ID]) appendWhere(b []byte, conds []cond, ks *keyset, n int) ([]byte, int) {
	first := true
	and := func() {
		if first {
			b = append(b, " WHERE "...)
			first = false
		} else {
			b = append(b, " AND "...)
		}
	}
	for _, c := range conds {
		and()
		col := r.d.Quote(r.m.cols[c.col].name)
		switch {
		case c.null:
			b = append(b, col+" IS NULL"...)
		case c.in && len(c.values) == 0:
			b = append(b, "1 = 0"...)
		case c.in:
			b = append(b, col+" IN ("...)
			for i := range c.values {
				if i > 0 {
					b = append(b, ", "...)
				}
				n++
				b = r.d.AppendPlaceholder(b, n)
			}
			b = append(b, ')')
		default:
			b = append(b, col+" = "...)
			n++
			b = r.d.AppendPlaceholder(b, n)
		}
	}
	if ks != nil && ks.after {
		and()
		op := " > "
		if ks.desc {
			op = " < "
		}
		pk := r.d.Quote(r.m.cols[r.m.pk].name)
		if ks.col == r.m.pk {
			b = r.d.AppendPlaceholder(append(b, pk+op...), n+1)
			n++
		} else {
			// Expanded form of (col, pk) > (?, ?), which MySQL cannot use
			// an index for.
			col := r.d.Quote(r.m.cols[ks.col].name)
			b = r.d.AppendPlaceholder(append(b, "("+col+op...), n+1)
			b = r.d.AppendPlaceholder(append(b, " OR ("+col+" = "...), n+2)
			b = r.d.AppendPlaceholder(append(b, " AND "+pk+op...), n+3)
			b = append(b, "))"...)
			n += 3
		}
	}
	return b, n
}

// whereArgs returns the arguments appendWhere numbered, in the same order.
func (r *SQL[T, ID]) whereArgs(args []any, conds []cond, ks *keyset) []any {
	for _, c := range conds {
		for _, v := range c.values {
			args = append(args, bindValue(&r.m.cols[c.col], v))
		}
	}
	if ks != nil && ks.after {
		if ks.col != r.m.pk {
			v := bindValue(&r.m.cols[ks.col], ks.value)
			args = append(args, v, v)
		}
		args = append(args, ks.id.Interface())
	}
	return args
}

func (r *SQL[T, ID]) appendOrder(b []byte, col int, desc bool) []byte {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	b = append(b, " ORDER BY "+r.d.Quote(r.m.cols[col].name)+dir...)
	if col != r.m.pk {
		b = append(b, ", "+r.d.Quote(r.m.cols[r.m.pk].name)+dir...)
	}
	return b
}

// FindMany returns the rows matching o.Filter, ordered by o.OrderBy (ties
// broken by primary key) and paged by o.Limit and o.Offset. Unknown fields
// are a *FieldError.
func (r *SQL[T, ID]) FindMany(ctx context.Context, o FindOptions) ([]T, error) {
	col, conds, err := r.m.resolveFind(o)
	if err != nil {
		return nil, err
	}
	limit, offset := clampLimit(o.Limit), max(o.Offset, 0)
	shape, ok := filterShape(conds)
	key := queryKey{kind: 'm', order: col, desc: o.OrderDir == Desc, offset: offset > 0, filter: shape}
	text := r.text(key, ok, func() string {
		b := []byte("SELECT " + r.columns + " FROM " + r.table)
		b, n := r.appendWhere(b, conds, nil, 0)
		b = r.appendOrder(b, col, key.desc)
		b = r.d.AppendPlaceholder(append(b, " LIMIT "...), n+1)
		if key.offset {
			b = r.d.AppendPlaceholder(append(b, " OFFSET "...), n+2)
		}
		return string(b)
	})
	args := r.whereArgs(make([]any, 0, len(conds)+2), conds, nil)
	args = append(args, limit)
	if offset > 0 {
		args = append(args, offset)
	}
	return r.query(ctx, text, args, limit)
}

// FindPage returns the page of rows after o.Cursor in the order o.OrderBy
// (which must be a NOT NULL column), the primary key breaking ties. It
// fetches Limit+1 rows to know whether more follow. A cursor that does not
// verify, or was made for another ordering, returns ErrInvalidCursor.
func (r *SQL[T, ID]) FindPage(ctx context.Context, o PageOptions) (Page[T], error) {
	ks, conds, err := r.m.resolvePage(r.opts.CursorKey, o)
	if err != nil {
		return Page[T]{}, err
	}
	shape, ok := filterShape(conds)
	key := queryKey{kind: 'p', order: ks.col, desc: ks.desc, after: ks.after, filter: shape}
	text := r.text(key, ok, func() string {
		b := []byte("SELECT " + r.columns + " FROM " + r.table)
		b, n := r.appendWhere(b, conds, &ks, 0)
		b = r.appendOrder(b, ks.col, ks.desc)
		return string(r.d.AppendPlaceholder(append(b, " LIMIT "...), n+1))
	})
	args := r.whereArgs(make([]any, 0, len(conds)+4), conds, &ks)
	items, err := r.query(ctx, text, append(args, ks.limit+1), ks.limit+1)
	if err != nil {
		return Page[T]{}, err
	}
	return finishPage(r.m, r.opts.CursorKey, ks, items)
}

// finishPage trims the extra row and encodes the next cursor.
func finishPage[T any](m *mapping, key []byte, ks keyset, items []T) (Page[T], error) {
	p := Page[T]{Items: items}
	if len(items) <= ks.limit {
		return p, nil
	}
	p.Items, p.HasMore = items[:ks.limit], true
	next, err := m.nextCursor(key, ks, reflect.ValueOf(&p.Items[ks.limit-1]).Elem())
	if err != nil {
		return Page[T]{}, err
	}
	p.NextCursor = next
	return p, nil
}

// Count returns the number of rows matching filter.
func (r *SQL[T, ID]) Count(ctx context.Context, filter Filter) (int64, error) {
	conds, err := r.m.resolveFilter(filter)
	if err != nil {
		return 0, err
	}
	shape, ok := filterShape(conds)
	text := r.text(queryKey{kind: 'c', filter: shape}, ok, func() string {
		b, _ := r.appendWhere([]byte("SELECT COUNT(*) FROM "+r.table), conds, nil, 0)
		return string(b)
	})
	var n int64
	ctx, span := r.tel.start(ctx, opSelect)
	err = r.q(ctx).QueryRowContext(ctx, text, r.whereArgs(nil, conds, nil)...).Scan(&n)
	end(span, err)
	if err != nil {
		return 0, dbError("count", r.name, err)
	}
	return n, nil
}

// FindByIDs returns the rows with the ids in the order of ids, skipping
// missing and repeated ids, with one query per 500 distinct ids.
func (r *SQL[T, ID]) FindByIDs(ctx context.Context, ids []ID) ([]T, error) {
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = id
	}
	rows, err := r.findIn(ctx, r.m.pk, dedupe(values), "")
	if err != nil {
		return nil, err
	}
	return inIDOrder(r.m, ids, rows), nil
}

// FindIn returns the rows whose column holds one of values, in primary key
// order, with one query per 500 distinct values. column must be mapped
// (else a *FieldError); values are converted to its type.
func (r *SQL[T, ID]) FindIn(ctx context.Context, column string, values []any) ([]T, error) {
	col, vals, err := resolveIn(r.m, column, values)
	if err != nil {
		return nil, err
	}
	return r.findIn(ctx, col, vals, "")
}

func (r *SQL[T, ID]) findIn(ctx context.Context, col int, values []any, suffix string) ([]T, error) {
	var out []T
	for start := 0; start < len(values); start += inChunk {
		chunk := values[start:min(start+inChunk, len(values))]
		b := []byte("SELECT " + r.columns + " FROM " + r.table + " WHERE " + r.d.Quote(r.m.cols[col].name) + " IN (")
		for i := range chunk {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = r.d.AppendPlaceholder(b, i+1)
		}
		b = append(b, ')')
		b = append(r.appendOrder(b, r.m.pk, false), suffix...)
		rows, err := r.query(ctx, string(b), chunk, len(chunk))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// query runs a SELECT of r.columns and scans every row.
func (r *SQL[T, ID]) query(ctx context.Context, text string, args []any, hint int) (_ []T, err error) {
	ctx, span := r.tel.start(ctx, opSelect)
	defer func() { end(span, err) }()
	rows, err := r.q(ctx).QueryContext(ctx, text, args...)
	if err != nil {
		return nil, dbError("select from", r.name, err)
	}
	defer rows.Close()
	items := make([]T, 0, min(hint, 128))
	dest := make([]any, len(r.m.cols))
	var zero T
	for rows.Next() {
		items = append(items, zero)
		p := &items[len(items)-1]
		if err := rows.Scan(r.m.targets(unsafe.Pointer(p), dest)...); err != nil {
			return nil, dbError("scan", r.name, err)
		}
		r.m.utc(unsafe.Pointer(p))
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("select from", r.name, err)
	}
	return items, nil
}

// resolveIn validates an IN column and converts and dedupes its values.
func resolveIn(m *mapping, column string, values []any) (int, []any, error) {
	col, err := m.lookup("filter", column)
	if err != nil {
		return -1, nil, err
	}
	out := make([]any, 0, len(values))
	for _, v := range values {
		cv, err := convert("filter", &m.cols[col], v)
		if err != nil {
			return -1, nil, err
		}
		out = append(out, bindValue(&m.cols[col], cv))
	}
	return col, dedupe(out), nil
}

// dedupe drops repeated values (comparable ones), keeping the first.
func dedupe(values []any) []any {
	seen := make(map[any]struct{}, len(values))
	out := values[:0:0]
	for _, v := range values {
		if v != nil && reflect.TypeOf(v).Comparable() {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
		}
		out = append(out, v)
	}
	return out
}

// inIDOrder returns rows ordered as ids, each id once.
func inIDOrder[T any, ID comparable](m *mapping, ids []ID, rows []T) []T {
	byID := make(map[ID]int, len(rows))
	for i := range rows {
		id := m.field(reflect.ValueOf(&rows[i]).Elem(), m.pk).Interface().(ID)
		byID[id] = i
	}
	out := make([]T, 0, len(rows))
	for _, id := range ids {
		if i, ok := byID[id]; ok {
			out = append(out, rows[i])
			delete(byID, id)
		}
	}
	return out
}
