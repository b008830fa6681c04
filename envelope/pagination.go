package envelope

import (
	"math"
	"net/url"
	"strconv"
)

// NewPagination returns the meta.pagination of an offset page. A page below
// 1 counts as 1 and a pageSize below 1 as 1. TotalPages is Total divided by
// PageSize rounded up, so 0 items give 0 pages. A page past the last one is
// not an error: it is an empty page with the same totals.
func NewPagination(page, pageSize, total int) Pagination {
	page, pageSize = max(page, 1), max(pageSize, 1)
	total = max(total, 0)
	pages := total / pageSize
	if total%pageSize != 0 {
		pages++
	}
	return Pagination{Page: page, PageSize: pageSize, Total: total, TotalPages: pages}
}

// Offset returns the number of rows to skip for a 1-based page of pageSize
// rows (the limit is pageSize). Pages and sizes below 1 count as 1; a
// product too large for an int gives math.MaxInt, which selects no rows.
func Offset(page, pageSize int) int {
	page, pageSize = max(page, 1), max(pageSize, 1)
	if page-1 > math.MaxInt/pageSize {
		return math.MaxInt
	}
	return (page - 1) * pageSize
}

// NewCursor returns the meta.cursor of a cursor page: next is the opaque
// cursor of the following page, "" on the last page (rendered as
// "next": null, "hasMore": false).
func NewCursor(next string) Cursor {
	if next == "" {
		return Cursor{}
	}
	return Cursor{Next: &next, HasMore: true}
}

// PageQuery reads the offset page parameters "page" and "pageSize" from q.
// A missing page is 1 and a missing pageSize is defaultSize. A page that is
// not a positive integer, or a pageSize outside 1..maxSize, is a 400
// VALIDATION_ERROR naming the parameter.
func PageQuery(q url.Values, defaultSize, maxSize int) (page, pageSize int, err error) {
	page, pageSize = 1, defaultSize
	var fields FieldErrors
	if s := q.Get("page"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 {
			fields.Add("page", "must be a positive integer")
		} else {
			page = n
		}
	}
	if s := q.Get("pageSize"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > maxSize {
			fields.Add("pageSize", "must be an integer from 1 to "+strconv.Itoa(maxSize))
		} else {
			pageSize = n
		}
	}
	if err := fields.Err(); err != nil {
		return 0, 0, err
	}
	return page, pageSize, nil
}
