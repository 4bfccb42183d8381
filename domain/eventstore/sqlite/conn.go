package sqlite

import (
	"context"
	"errors"
	"fmt"
)

// conn is one SQLite connection, as the store uses it: statements run
// directly on the driver, without database/sql's per-row and per-column
// work (that work cost half of ReadAll's time; see BenchmarkReadAll). A conn
// is used by one goroutine at a time; it keeps the statements it prepared
// and reuses them.
type conn interface {
	// bind makes ctx the context of the calls that follow (cancelling it
	// interrupts them), until the next bind.
	bind(ctx context.Context)
	// exec runs one statement and returns the number of rows it changed and
	// the row id it last inserted.
	exec(query string, args ...any) (changed, lastID int64, err error)
	// query runs one statement and calls row for each result row, stopping
	// at row's first error, which it returns.
	query(query string, args []any, row func(r row) error) error
	// script runs several statements that take no arguments.
	script(sql string) error
	close() error
}

// Connections keep SQLite's default page cache (2 MB) and read the file
// with read calls, not mmap: the writer needs the pages it changes and the
// right edges of the indexes (event IDs are time-ordered, see
// eventstore.Repository). Bigger caches cost more than they save: every page
// a cache takes in is a fresh allocation until the cache is full, and with
// modernc's allocator that made a 64 MB cache a third of an append's time
// (BenchmarkAppendBatch1000) and slowed reads of the log's unmerged tail.
//
// The file is not mapped (mmap_size 0, SQLite's default) because a server
// reads its whole log once, at start: mapped, every page it read stayed in
// the server's resident set (on the Realistic company, 0.5-0.7 GB of the
// 1.0-1.5 GB RSS was the mapped store) for about 8% more read throughput
// (BenchmarkReadAll, pure driver: 1.19-1.27 M events/s mapped, 1.10-1.13 M
// with read calls; the fold from zero alike within the machine's noise).

// row is the current result row of a query, valid during the callback only.
type row interface {
	int64(col int) int64
	// blob returns column col's bytes in a slice the caller may keep; a is
	// where the bytes are copied if they must be.
	blob(col int, a *arena) []byte
	text(col int) string
	null(col int) bool
}

// arena hands out slices of shared blocks, so that a page of events costs a
// few allocations rather than one per event. A block stays alive while any
// event read into it does; blocks start small and grow to at most
// arenaBlock, so a short read allocates little and a consumer keeping a few
// events keeps little else. A nil *arena allocates each slice on its own.
type arena struct {
	free []byte
	next int // size of the next block
}

const arenaBlock = 64 << 10

// take returns a slice of n bytes with capacity n.
func (a *arena) take(n int) []byte {
	if a == nil || n > arenaBlock/4 {
		return make([]byte, n)
	}
	if n > len(a.free) {
		a.next = min(max(2*a.next, 4<<10), arenaBlock)
		a.free = make([]byte, max(a.next, n))
	}
	b := a.free[:n:n]
	a.free = a.free[n:]
	return b
}

// pool lends connections, opening up to cap(free) of them as needed.
type pool struct {
	open   func() (conn, error)
	free   chan conn
	tokens chan struct{} // one per connection that may still be opened
}

func newPool(size int, open func() (conn, error)) *pool {
	p := &pool{open: open, free: make(chan conn, size), tokens: make(chan struct{}, size)}
	for range size {
		p.tokens <- struct{}{}
	}
	return p
}

// take lends a connection bound to ctx; give it back with put.
func (p *pool) take(ctx context.Context) (conn, error) {
	var c conn
	select {
	case c = <-p.free:
	default:
		select {
		case c = <-p.free:
		case <-p.tokens:
			var err error
			if c, err = p.open(); err != nil {
				p.tokens <- struct{}{}
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.bind(ctx)
	return c, nil
}

func (p *pool) put(c conn) {
	c.bind(context.Background())
	p.free <- c
}

// close closes the pool's connections; none may be lent out.
func (p *pool) close() error {
	var errs []error
	for {
		select {
		case c := <-p.free:
			errs = append(errs, c.close())
		default:
			return errors.Join(errs...)
		}
	}
}

// with runs f on a connection from p.
func (p *pool) with(ctx context.Context, f func(c conn) error) error {
	c, err := p.take(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: take a connection: %w", err)
	}
	defer p.put(c)
	return f(c)
}

// queryRow runs a query expected to return at most one row, passing it to
// scan; it reports whether there was a row.
func queryRow(c conn, query string, args []any, scan func(r row)) (bool, error) {
	found := false
	err := c.query(query, args, func(r row) error {
		if !found {
			scan(r)
			found = true
		}
		return nil
	})
	return found, err
}
