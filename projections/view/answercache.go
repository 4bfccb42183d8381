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

// keepable is an answer the cache can keep: it embeds kept.
type keepable interface{ keep(v any) }

// answer returns the kept answer of kind and query in st, or computes it
// (compute) and keeps it, with its JSON to be encoded on first use,
// unless it failed. Concurrent first requests of one answer may each
// compute it; the computations share the reconciled analysis
// (analysisCache), so what they repeat is the cheap part.
func answer[T keepable](c *answerCache, st *State, kind string, query any, compute func() (T, error)) (T, error) {
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
	if el, ok := c.index[k]; ok {
		return el.Value.(*keptAnswer).v.(T), nil // computed beside this call and kept first
	}
	v.keep(v)
	c.index[k] = c.lru.PushFront(&keptAnswer{key: k, v: v})
	for c.lru.Len() > keptAnswers {
		last := c.lru.Back()
		delete(c.index, last.Value.(*keptAnswer).key)
		c.lru.Remove(last)
	}
	return v, nil
}

// kept is embedded in the answers the cache keeps (Variance, Rolling):
// once kept, the answer's JSON, encoded on first use (JSON) — a
// dashboard's refresh, or many users reading the same plan, write the
// same bytes instead of encoding the answer again (about 1 ms for a
// rolling plan of the Realistic company, and the CPU-bound stretch that
// made 8 clients on 2 cores queue behind one another). It has no exported
// field, so it adds nothing to the answer's JSON.
type kept struct{ enc *encoding }

func (k *kept) keep(v any) { k.enc = &encoding{v: v} }

// encodedJSON returns the kept answer's JSON, and false for an answer
// the cache did not keep.
func (k *kept) encodedJSON() ([]byte, bool, error) {
	if k.enc == nil {
		return nil, false, nil
	}
	b, err := k.enc.bytes()
	return b, true, err
}

// encoding is the JSON encoding of v, made once.
type encoding struct {
	v    any
	once sync.Once
	b    []byte
	err  error
}

func (e *encoding) bytes() ([]byte, error) {
	e.once.Do(func() {
		var buf bytes.Buffer
		e.err = json.NewEncoder(&buf).Encode(e.v)
		e.b = buf.Bytes()
	})
	return e.b, e.err
}

// JSON returns v encoded as json.Encoder encodes it (a newline after the
// value, HTML escaped), the bytes a kept answer keeps when it has them.
func JSON(v any) ([]byte, error) {
	if e, ok := v.(interface{ encodedJSON() ([]byte, bool, error) }); ok {
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
