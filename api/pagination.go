package api

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Page is one page of a list: Items, and NextCursor to pass as ?cursor=
// for the next page ("" on the last page).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Paging limits.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// pageRequest is a request for a page: after the item whose key is in
// cursor, at most limit items.
type pageRequest struct {
	after string // decoded cursor; "" from the start
	limit int
}

// pageParams reads ?cursor= and ?limit= (1 to MaxPageSize; 400 otherwise).
func pageParams(c echo.Context) (pageRequest, error) {
	pr := pageRequest{limit: DefaultPageSize}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			return pr, badRequest(fmt.Sprintf("limit %q: want an integer from 1 to %d", l, MaxPageSize),
				FieldError{Field: "limit", Value: l, Reason: fmt.Sprintf("want an integer from 1 to %d", MaxPageSize)})
		}
		pr.limit = n
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(b) == 0 {
			return pr, badRequest("cursor: not a cursor this API gave", FieldError{Field: "cursor", Value: cur, Reason: "not a cursor this API gave"})
		}
		pr.after = string(b)
	}
	return pr, nil
}

// paginate returns the page of items (sorted by key, ascending) after
// pr.after, and the cursor of the next page. Keys are stable, so a page
// boundary survives items added or removed before it.
func paginate[T any](items []T, pr pageRequest, key func(T) string) ([]T, string, error) {
	prev := ""
	for i, it := range items { // each key made once: lists run to many thousands
		k := key(it)
		if i > 0 && k < prev {
			return nil, "", fmt.Errorf("api: paginate: items are not sorted by their key")
		}
		prev = k
	}
	start := 0
	if pr.after != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > pr.after })
	}
	end := min(start+pr.limit, len(items))
	page := items[start:end]
	next := ""
	if end < len(items) && len(page) > 0 {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(page[len(page)-1])))
	}
	return page, next, nil
}
