package view

import (
	"bytes"
	"container/list"
	"encoding/json"
	"sync"
)

// keptAnswers is how many answers of live states an answerCache keeps:
// enough for the variance tables and rolling plans a dashboard shows at
// once, few enough that they stay a small part of the heap (a rolling
// plan of the Realistic company is about 380 KB of JSON once encoded, and
// about as much as a value).
const keptAnswers = 24

// answerCache keeps the latest answers of live states (variance tables
// and rolling plans) by the state they read and their query,
// so that the same question asked of the same state again (a dashboard's
// refresh, many users reading the same plan) costs a map probe instead of
// a walk of the reconciled plan. A state is immutable, so an answer kept
// is the answer; callers must not modify it. Answers as of a past state
// are not kept: they would keep their state, a fold of its own, alive.
// The least recently used answer leaves first. It is safe for concurrent
// use and holds its lock only to probe and update the list.
type answerCache struct {
	mu    sync.Mutex
	lru   *list.List // of *keptAnswer, most recently used first
	index map[answerKey]*list.Element
}

// answerKey names an answer: the state it read, the kind of answer and
// its query (a comparable value: the query struct or its arguments).
type answerKey struct {
	st    *State
	kind  string
	query any
}

type keptAnswer struct {
	key answerKey
	v   any
}

func newAnswerCache() *answerCache {
	return &answerCache{lru: list.New(), index: map[answerKey]*list.Element{}}
}

// answer returns the kept answer of kind and query in st, or computes it
// (compute) and keeps it unless it failed. Concurrent first requests of
// one answer may each compute it; the computations share the reconciled
// analysis (analysisCache), so what they repeat is the cheap part.
func answer[T any](c *answerCache, st *State, kind string, query any, compute func() (T, error)) (T, error) {
	k := answerKey{st: st, kind: kind, query: query}
	c.mu.Lock()
	if el, ok := c.index[k]; ok {
		c.lru.MoveToFront(el)
		v := el.Value.(*keptAnswer).v.(T)
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[k]; !ok {
		c.index[k] = c.lru.PushFront(&keptAnswer{key: k, v: v})
		for c.lru.Len() > keptAnswers {
			last := c.lru.Back()
			delete(c.index, last.Value.(*keptAnswer).key)
			c.lru.Remove(last)
		}
	}
	return v, nil
}

// encoding is the JSON encoding of a kept answer, made once, on first use
// (JSON): a dashboard's refresh, or many users reading the same
// plan, write the same bytes instead of encoding the answer again (about
// 1 ms for a rolling plan of the Realistic company, and the CPU-bound
// stretch that makes 8 clients on 2 cores queue behind one another).
type encoding struct {
	once sync.Once
	b    []byte
	err  error
}

// of returns the encoding of v, made by the first call.
func (e *encoding) of(v any) ([]byte, error) {
	e.once.Do(func() {
		var buf bytes.Buffer
		e.err = json.NewEncoder(&buf).Encode(v)
		e.b = buf.Bytes()
	})
	return e.b, e.err
}

// encoded is an answer that may keep its encoding: one the answer cache
// keeps.
type encoded interface {
	encodedJSON() ([]byte, bool, error)
}

func (v *Variance) encodedJSON() ([]byte, bool, error) {
	if v.enc == nil {
		return nil, false, nil
	}
	b, err := v.enc.of(v)
	return b, true, err
}

func (r *Rolling) encodedJSON() ([]byte, bool, error) {
	if r.enc == nil {
		return nil, false, nil
	}
	b, err := r.enc.of(r)
	return b, true, err
}

// JSON returns v encoded as json.Encoder encodes it (a newline after the
// value, HTML escaped), the bytes a kept answer keeps when it has them.
func JSON(v any) ([]byte, error) {
	if e, ok := v.(encoded); ok {
		if b, kept, err := e.encodedJSON(); kept {
			return b, err
		}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
