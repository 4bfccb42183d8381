package sqlite

import (
	"context"
	"fmt"
	"time"

	zs "zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// pureConn is a connection through zombiezen.com/go/sqlite to
// modernc.org/sqlite's engine (pure Go). It opens the file without SQLite's
// per-connection mutex: a conn is used by one goroutine at a time anyway,
// and taking that mutex on every column read cost a fifth of a read.
type pureConn struct {
	c   *zs.Conn
	ctx context.Context
}

func openPure(path string, create bool, synchronous string) (conn, error) {
	flags := zs.OpenReadWrite | zs.OpenURI
	if create {
		flags |= zs.OpenCreate
	}
	c, err := zs.OpenConn(path, flags)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(10 * time.Second)
	pragmas := []string{"journal_mode=WAL", "synchronous=" + synchronous, "foreign_keys=1"}
	for _, p := range pragmas {
		if err := sqlitex.ExecuteTransient(c, "PRAGMA "+p, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("PRAGMA %s: %w", p, err)
		}
	}
	return &pureConn{c: c, ctx: context.Background()}, nil
}

func (c *pureConn) bind(ctx context.Context) {
	if ctx.Done() != c.ctx.Done() {
		c.c.SetInterrupt(ctx.Done())
	}
	c.ctx = ctx
}

func (c *pureConn) prepare(query string, args []any) (*zs.Stmt, error) {
	st, err := c.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	for i, a := range args {
		switch v := a.(type) {
		case int64:
			st.BindInt64(i+1, v)
		case uint64:
			st.BindInt64(i+1, int64(v))
		case int:
			st.BindInt64(i+1, int64(v))
		case string:
			st.BindText(i+1, v)
		case []byte:
			st.BindBytes(i+1, v)
		case nil:
			st.BindNull(i + 1)
		default:
			panic(fmt.Sprintf("sqlite: cannot bind %T", a))
		}
	}
	return st, nil
}

func (c *pureConn) exec(query string, args ...any) (int64, int64, error) {
	st, err := c.prepare(query, args)
	if err != nil {
		return 0, 0, err
	}
	_, err = st.Step()
	st.Reset()
	st.ClearBindings()
	if err != nil {
		return 0, 0, err
	}
	return int64(c.c.Changes()), c.c.LastInsertRowID(), nil
}

func (c *pureConn) query(query string, args []any, f func(r row) error) error {
	st, err := c.prepare(query, args)
	if err != nil {
		return err
	}
	defer func() {
		st.Reset()
		st.ClearBindings()
	}()
	r := pureRow{st}
	for {
		more, err := st.Step()
		if err != nil || !more {
			return err
		}
		if err := f(r); err != nil {
			return err
		}
	}
}

func (c *pureConn) script(sql string) error { return sqlitex.ExecuteScript(c.c, sql, nil) }

func (c *pureConn) close() error { return c.c.Close() }

type pureRow struct{ st *zs.Stmt }

func (r pureRow) int64(col int) int64 { return r.st.ColumnInt64(col) }
func (r pureRow) text(col int) string { return r.st.ColumnText(col) }
func (r pureRow) null(col int) bool   { return r.st.ColumnIsNull(col) }

func (r pureRow) blob(col int, a *arena) []byte {
	n := r.st.ColumnLen(col)
	if n == 0 {
		return nil
	}
	b := a.take(n)
	r.st.ColumnBytes(col, b)
	return b
}
