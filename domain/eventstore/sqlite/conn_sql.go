package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// sqlConn is a connection of a database/sql driver (github.com/mattn/go-sqlite3,
// when a program registers it). Statements run on the driver's own
// connection (sql.Conn.Raw), prepared once and kept, and rows are read with
// the driver's Next: database/sql's per-row locking and conversions are
// skipped.
type sqlConn struct {
	db    *sql.DB
	c     *sql.Conn
	ctx   context.Context
	stmts map[string]driver.Stmt
	args  []driver.NamedValue
	dest  []driver.Value
}

func openSQL(driverName, path, synchronous string) (conn, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", synchronous)
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "1")
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqlConn{db: db, c: c, ctx: context.Background(), stmts: map[string]driver.Stmt{}}, nil
}

func (c *sqlConn) bind(ctx context.Context) { c.ctx = ctx }

// stmt returns the driver's prepared statement for query and the arguments
// as the driver takes them.
func (c *sqlConn) stmt(dc any, query string, args []any) (driver.Stmt, []driver.NamedValue, error) {
	st, ok := c.stmts[query]
	if !ok {
		p, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return nil, nil, fmt.Errorf("driver connection %T cannot prepare with a context", dc)
		}
		var err error
		if st, err = p.PrepareContext(c.ctx, query); err != nil {
			return nil, nil, err
		}
		c.stmts[query] = st
	}
	c.args = c.args[:0]
	for i, a := range args {
		switch v := a.(type) {
		case uint64:
			a = int64(v)
		case int:
			a = int64(v)
		}
		c.args = append(c.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return st, c.args, nil
}

func (c *sqlConn) exec(query string, args ...any) (changed, lastID int64, err error) {
	err = c.c.Raw(func(dc any) error {
		st, nv, err := c.stmt(dc, query, args)
		if err != nil {
			return err
		}
		ex, ok := st.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("driver statement %T cannot execute with a context", st)
		}
		res, err := ex.ExecContext(c.ctx, nv)
		if err != nil {
			return err
		}
		if changed, err = res.RowsAffected(); err != nil {
			return err
		}
		lastID, err = res.LastInsertId()
		return err
	})
	return changed, lastID, err
}

func (c *sqlConn) query(query string, args []any, f func(r row) error) error {
	return c.c.Raw(func(dc any) error {
		st, nv, err := c.stmt(dc, query, args)
		if err != nil {
			return err
		}
		q, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("driver statement %T cannot query with a context", st)
		}
		rows, err := q.QueryContext(c.ctx, nv)
		if err != nil {
			return err
		}
		if n := len(rows.Columns()); cap(c.dest) < n {
			c.dest = make([]driver.Value, n)
		}
		r := sqlRow(c.dest[:len(rows.Columns())])
		for {
			if err := rows.Next(r); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return errors.Join(err, rows.Close())
			}
			if err := f(r); err != nil {
				return errors.Join(err, rows.Close())
			}
		}
	})
}

func (c *sqlConn) script(sql string) error {
	_, err := c.c.ExecContext(c.ctx, sql)
	return err
}

func (c *sqlConn) close() error {
	var errs []error
	c.c.Raw(func(any) error {
		for _, st := range c.stmts {
			errs = append(errs, st.Close())
		}
		return nil
	})
	return errors.Join(errors.Join(errs...), c.c.Close(), c.db.Close())
}

// sqlRow is a row as the driver returns it: each blob is a fresh slice.
type sqlRow []driver.Value

func (r sqlRow) int64(col int) int64 {
	v, _ := r[col].(int64)
	return v
}

func (r sqlRow) blob(col int, _ *arena) []byte {
	switch v := r[col].(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

func (r sqlRow) text(col int) string {
	switch v := r[col].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func (r sqlRow) null(col int) bool { return r[col] == nil }
