package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/models"
)

// list is the shape of every list answer: {items, nextCursor}; nextCursor is null on the last
// page.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// pageOf reads ?limit= and ?cursor=.
func pageOf(c *fiber.Ctx) (models.Page, error) {
	var p models.Page
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > models.MaxPageLimit {
			return p, fieldError("limit", "must be a whole number from 1 to 200")
		}
		p.Limit = n
	}
	p.Limit = models.NormalLimit(p.Limit)
	if cur := c.Query("cursor"); cur != "" {
		if len(cur) > 512 {
			return p, fieldError("cursor", "is not a cursor this server issued")
		}
		p.Cursor = utils.CopyString(cur)
	}
	return p, nil
}

// mapItems converts a page of store values into answer values.
func mapItems[S, T any](in []S, f func(S) T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
