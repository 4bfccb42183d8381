package plan

import (
	"iter"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/concord-planning/concord/domain/fiscal"
)

// targetTable holds a plan's targets by key, in shards by metric and by
// the calendar year of the span's first month. Clone shares the shards
// and marks them shared; a shared shard is copied on its first change
// after that (copy on write), by whichever copy changes it. A read side
// that keeps a copy of every plan at each of its checkpoints keeps one
// shard for the years no event touched since, instead of a copy each,
// and an analysis of one metric and fiscal year visits the shards that
// can hold its targets, not the whole plan's.
type targetTable struct {
	shards map[shardKey]*targetShard
	n      int // targets in all shards
}

type shardKey struct {
	metric string
	year   int
}

type targetShard struct {
	m map[targetKey]*target
	// shared is set by clone (which may run beside other clones of the
	// same plan, never beside a change to it) and read by changes.
	shared atomic.Bool
}

func shardOf(k targetKey) shardKey { return shardKey{k.metric, k.span.First.Year()} }

// loadTargets returns the table of targets vals[i] at keys[i], each shard
// made at its size at once (a snapshot's millions of targets, inserted one
// by one, spent most of a restore growing the maps) and filled on its own
// goroutine, as many at a time as there are processors (a Large company's
// restore spent 2.3 s filling its nine shards one after the other).
func loadTargets(keys []targetKey, vals []target) targetTable {
	if len(keys) == 0 {
		return targetTable{}
	}
	// The keys' indices by shard (a few shards: a metric and a year each).
	groups := map[shardKey][]int32{}
	for i, k := range keys {
		sk := shardOf(k)
		groups[sk] = append(groups[sk], int32(i))
	}
	t := targetTable{shards: make(map[shardKey]*targetShard, len(groups))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for sk, idx := range groups {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			m := make(map[targetKey]*target, len(idx))
			for _, i := range idx {
				m[keys[i]] = &vals[i]
			}
			mu.Lock()
			t.shards[sk], t.n = &targetShard{m: m}, t.n+len(m)
			mu.Unlock()
		})
	}
	wg.Wait()
	return t
}

// get returns the target of k, nil when none is set.
func (t *targetTable) get(k targetKey) *target {
	if s := t.shards[shardOf(k)]; s != nil {
		return s.m[k]
	}
	return nil
}

// set sets the target of k. A target is replaced, never changed in place,
// so the pointers can be shared by copies of the table.
func (t *targetTable) set(k targetKey, v *target) {
	s := t.writable(shardOf(k))
	if _, ok := s.m[k]; !ok {
		t.n++
	}
	s.m[k] = v
}

// remove removes the target of k, if set.
func (t *targetTable) remove(k targetKey) {
	sk := shardOf(k)
	if s := t.shards[sk]; s == nil || s.m[k] == nil {
		return
	}
	s := t.writable(sk)
	delete(s.m, k)
	t.n--
	if len(s.m) == 0 {
		delete(t.shards, sk)
	}
}

// writable returns the shard of sk, created or copied so that changing it
// changes no other table.
func (t *targetTable) writable(sk shardKey) *targetShard {
	if t.shards == nil {
		t.shards = map[shardKey]*targetShard{}
	}
	s := t.shards[sk]
	switch {
	case s == nil:
		s = &targetShard{m: map[targetKey]*target{}}
		t.shards[sk] = s
	case s.shared.Load():
		s = &targetShard{m: maps.Clone(s.m)}
		t.shards[sk] = s
	}
	return s
}

// clone returns a copy of t that shares its shards until either changes.
func (t *targetTable) clone() targetTable {
	for _, s := range t.shards {
		s.shared.Store(true)
	}
	return targetTable{shards: maps.Clone(t.shards), n: t.n}
}

// len returns the number of targets.
func (t *targetTable) len() int { return t.n }

// all yields every target, in no order.
func (t *targetTable) all() iter.Seq2[targetKey, *target] {
	return func(yield func(targetKey, *target) bool) {
		for _, s := range t.shards {
			for k, v := range s.m {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// ofMetric yields the targets of metric, in no order.
func (t *targetTable) ofMetric(metric string) iter.Seq2[targetKey, *target] {
	return func(yield func(targetKey, *target) bool) {
		for sk, s := range t.shards {
			if sk.metric != metric {
				continue
			}
			for k, v := range s.m {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

// withinBound returns how many targets within(metric, span) can yield at
// most: those of the shards it visits.
func (t *targetTable) withinBound(metric string, span fiscal.Span) int {
	n := 0
	for y := span.First.Year(); y <= span.Last.Year(); y++ {
		if s := t.shards[shardKey{metric, y}]; s != nil {
			n += len(s.m)
		}
	}
	return n
}

// within yields the targets of metric whose span lies within span, in no
// order, visiting only the shards that can hold them.
func (t *targetTable) within(metric string, span fiscal.Span) iter.Seq2[targetKey, *target] {
	return func(yield func(targetKey, *target) bool) {
		for y := span.First.Year(); y <= span.Last.Year(); y++ {
			s := t.shards[shardKey{metric, y}]
			if s == nil {
				continue
			}
			for k, v := range s.m {
				if span.Covers(k.span) && !yield(k, v) {
					return
				}
			}
		}
	}
}
