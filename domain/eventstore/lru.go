package eventstore

import (
	"container/list"
	"sync"
)

// lru keeps the latest state of a bounded number of streams, the least
// recently used dropped first. The states it holds are never changed: a
// newer state replaces an older one. It is safe for concurrent use.
type lru[A any] struct {
	mu    sync.Mutex
	max   int
	order *list.List               // of *lruEntry, most recently used first
	index map[string]*list.Element // by stream
}

type lruEntry[A any] struct {
	stream  string
	state   A
	version uint64
}

func newLRU[A any](max int) *lru[A] {
	return &lru[A]{max: max, order: list.New(), index: map[string]*list.Element{}}
}

// get returns the state of stream kept and its version, and whether one
// is kept.
func (c *lru[A]) get(stream string) (A, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[stream]
	if !ok {
		var zero A
		return zero, 0, false
	}
	c.order.MoveToFront(el)
	e := el.Value.(*lruEntry[A])
	return e.state, e.version, true
}

// put keeps state as that of stream at version, unless a later version
// is kept already (a concurrent load or write got further). Version 0 (no
// stream) is not kept.
func (c *lru[A]) put(stream string, state A, version uint64) {
	if version == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[stream]; ok {
		c.order.MoveToFront(el)
		if e := el.Value.(*lruEntry[A]); e.version < version {
			e.state, e.version = state, version
		}
		return
	}
	c.index[stream] = c.order.PushFront(&lruEntry[A]{stream: stream, state: state, version: version})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.(*lruEntry[A]).stream)
	}
}
