package envelope

import (
	"math"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPagination(t *testing.T) {
	tests := []struct {
		name                  string
		page, pageSize, total int
		want                  Pagination
	}{
		{"no items, no pages", 1, 20, 0, Pagination{1, 20, 0, 0}},
		{"exact fit", 1, 10, 20, Pagination{1, 10, 20, 2}},
		{"rounds up", 1, 10, 21, Pagination{1, 10, 21, 3}},
		{"one item", 1, 10, 1, Pagination{1, 10, 1, 1}},
		{"page past the end is kept", 9, 10, 21, Pagination{9, 10, 21, 3}},
		{"page below 1", 0, 10, 5, Pagination{1, 10, 5, 1}},
		{"size below 1", 1, 0, 5, Pagination{1, 1, 5, 5}},
		{"negative total", 1, 10, -3, Pagination{1, 10, 0, 0}},
		{"huge total", 1, 1, math.MaxInt, Pagination{1, 1, math.MaxInt, math.MaxInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, NewPagination(tt.page, tt.pageSize, tt.total), "pagination")
		})
	}
}

func TestOffset(t *testing.T) {
	tests := []struct {
		page, pageSize, want int
	}{
		{1, 20, 0}, {2, 20, 20}, {3, 7, 14}, {0, 20, 0}, {-5, 20, 0}, {2, 0, 1},
		{math.MaxInt, 2, math.MaxInt}, {math.MaxInt/10 + 2, 10, math.MaxInt},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Offset(tt.page, tt.pageSize), "Offset(%d, %d)", tt.page, tt.pageSize)
	}
}

func TestNewCursor(t *testing.T) {
	last := NewCursor("")
	assert.Nil(t, last.Next, "no next cursor on the last page")
	assert.False(t, last.HasMore, "no more on the last page")

	more := NewCursor("abc")
	require.NotNil(t, more.Next, "next cursor set")
	assert.Equal(t, "abc", *more.Next, "next cursor value")
	assert.True(t, more.HasMore, "has more")
}

func TestPageQuery(t *testing.T) {
	tests := []struct {
		query          string
		page, pageSize int
		fields         map[string]any
	}{
		{"", 1, 20, nil},
		{"page=3&pageSize=100", 3, 100, nil},
		{"pageSize=1", 1, 1, nil},
		{"page=0", 0, 0, map[string]any{"page": "must be a positive integer"}},
		{"page=abc", 0, 0, map[string]any{"page": "must be a positive integer"}},
		{"pageSize=101", 0, 0, map[string]any{"pageSize": "must be an integer from 1 to 100"}},
		{"pageSize=0&page=-1", 0, 0, map[string]any{"page": "must be a positive integer", "pageSize": "must be an integer from 1 to 100"}},
		{"pageSize=99999999999999999999", 0, 0, map[string]any{"pageSize": "must be an integer from 1 to 100"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err, "query parses")
			page, size, err := PageQuery(q, 20, 100)
			if tt.fields == nil {
				require.NoError(t, err, "valid query")
				assert.Equal(t, tt.page, page, "page")
				assert.Equal(t, tt.pageSize, size, "page size")
				return
			}
			var fe FieldErrors
			require.ErrorAs(t, err, &fe, "invalid query is a validation error")
			assert.Equal(t, tt.fields, fe.ErrorDetails(), "per-field details")
		})
	}
}
