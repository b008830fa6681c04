// Package opt holds svckit's one rule for filling option defaults.
//
// Across svckit an options field left zero means its documented default.
// Where a negative value has no meaning of its own (a timeout, a size, a
// count), negative means the default too, and the field is filled with
// PositiveOr:
//
//	opts.Timeout = opt.PositiveOr(opts.Timeout, DefaultTimeout)
//
// Where a negative value does mean something (no negative caching, no
// retries), only zero is replaced, with the standard library's cmp.Or, and
// the negative case stays explicit beside it. Fields that clamp (a leeway
// bounded above, an idle count bounded by the open count) stay written out.
package opt

// Number is the kinds of option field PositiveOr fills; time.Duration is
// one.
type Number interface {
	~int | ~int32 | ~int64 | ~float64
}

// PositiveOr returns def if v is zero or negative, v otherwise. It is the
// statement "if v <= 0 { v = def }" as an expression, NaN included (NaN is
// kept).
func PositiveOr[T Number](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
