package repository

import (
	"context"
	"fmt"
	"reflect"
)

// Loader is what LoadMany needs from the child repository: *SQL and *Memory
// implement it. It is sealed (it has an unexported method), because LoadMany
// reads the foreign key through the repository's struct mapping. A
// Repository interface value holding either converts with a type assertion:
// repo.(repository.Loader[C]).
type Loader[T any] interface {
	FindIn(ctx context.Context, column string, values []any) ([]T, error)
	mapping() *mapping
}

var (
	_ Loader[struct{ ID int64 }] = (*SQL[struct{ ID int64 }, int64])(nil)
	_ Loader[struct{ ID int64 }] = (*Memory[struct{ ID int64 }, int64])(nil)
)

// LoadMany loads a has-many relation for a page of parents without N+1
// queries: the children whose column fk holds one of the parents' keys, in
// one IN (...) query per 500 distinct keys, grouped by key. Parents with no
// children have no entry in the map. Children keep the child repository's
// primary key order within each group.
//
//	users, _ := users.FindMany(ctx, repository.FindOptions{Limit: 100})
//	orders, err := repository.LoadMany(ctx, orders, "user_id", users,
//		func(u User) int64 { return u.ID })
//	// orders[u.ID] holds u's orders: two queries in all.
//
// The fk field may be a pointer (a nullable column) or any type convertible
// to K; fk must be a mapped column of C, else a *FieldError.
func LoadMany[P, C any, K comparable](ctx context.Context, children Loader[C], fk string, parents []P, parentKey func(P) K) (map[K][]C, error) {
	m := children.mapping()
	col, err := m.lookup("filter", fk)
	if err != nil {
		return nil, err
	}
	keys := make([]any, 0, len(parents))
	seen := make(map[K]bool, len(parents))
	for _, p := range parents {
		k := parentKey(p)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	out := make(map[K][]C, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := children.FindIn(ctx, fk, keys)
	if err != nil {
		return nil, err
	}
	kt := reflect.TypeFor[K]()
	for i := range rows {
		f := m.field(reflect.ValueOf(&rows[i]).Elem(), col)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Type() != kt {
			if !f.Type().ConvertibleTo(kt) {
				return nil, fmt.Errorf("repository: LoadMany: %s is %s, parent key is %s", fk, f.Type(), kt)
			}
			f = f.Convert(kt)
		}
		k := f.Interface().(K)
		out[k] = append(out[k], rows[i])
	}
	return out, nil
}
