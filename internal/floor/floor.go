// Package floor measures PostgreSQL's own floor for loading the rows an
// import wrote: the same rows, dumped with COPY … TO a binary file, loaded
// back with a server-side COPY … FROM into copies of the same tables (same
// columns, constraints and indexes) in one transaction, commit included,
// on PostgreSQL's fastest path: each table truncated in that transaction
// and loaded with FREEZE (no WAL on a wal_level=minimal server). The load
// benchmark quotes the import's load as a ratio to this floor.
//
// The server writes and reads the files itself, so it must run on this
// machine (the embedded cluster) and the connecting role must be allowed to
// (a superuser, or pg_read_server_files and pg_write_server_files).
package floor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is the scratch schema the copies live in; it is dropped after.
const Schema = "fusion_floor"

// Table is the floor of one table.
type Table struct {
	Name    string  `json:"name"`
	Rows    int64   `json:"rows"`
	Bytes   int64   `json:"file_bytes"`
	Seconds float64 `json:"seconds"`
}

// Result is the floor of a set of tables.
type Result struct {
	Tables []Table `json:"tables"`
	// CommitSeconds is the commit of the transaction that loaded them.
	CommitSeconds float64 `json:"commit_seconds"`
	// Seconds is every COPY FROM and the commit: the floor.
	Seconds float64 `json:"seconds"`
	// WALBytes is the WAL the cluster inserted from the transaction's
	// start to its commit.
	WALBytes int64 `json:"wal_bytes"`
}

// Measure dumps the rows of each of tables (schema public) that holds
// rows and times loading them back into copies of the tables. Tables
// without rows are left out. The scratch schema and files are removed
// whatever happens.
func Measure(ctx context.Context, pool *pgxpool.Pool, tables []string) (res Result, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	c := conn.Conn()

	dir, err := scratchDir(ctx, c)
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	defer func() {
		// A failed transaction has been rolled back by now; drop on a
		// context of its own so Ctrl-C still cleans up.
		_, derr := c.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+Schema+` CASCADE`)
		err = errors.Join(err, derr)
	}()

	if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+Schema+` CASCADE; CREATE SCHEMA `+Schema); err != nil {
		return res, fmt.Errorf("create the scratch schema: %w", err)
	}
	var loaded []Table
	for _, t := range tables {
		id := pgx.Identifier{"public", t}.Sanitize()
		var n int64
		if err := c.QueryRow(ctx, `SELECT count(*) FROM `+id).Scan(&n); err != nil {
			return res, fmt.Errorf("count %s: %w", t, err)
		}
		if n == 0 {
			continue
		}
		file := filepath.Join(dir, t+".bin")
		if _, err := c.Exec(ctx, `COPY `+id+` TO `+quote(file)+` (FORMAT binary)`); err != nil {
			return res, fmt.Errorf("dump %s: %w", t, err)
		}
		// LIKE … INCLUDING ALL: columns, defaults, NOT NULL and CHECK
		// constraints, primary keys, unique and other indexes; not
		// FOREIGN KEYs nor triggers. The tables of the run's rows carry no
		// FOREIGN KEY (migration 004); only the run's few file rows do.
		if _, err := c.Exec(ctx, `CREATE TABLE `+pgx.Identifier{Schema, t}.Sanitize()+` (LIKE `+id+` INCLUDING ALL)`); err != nil {
			return res, fmt.Errorf("copy the table %s: %w", t, err)
		}
		st, err := os.Stat(file)
		if err != nil {
			return res, err
		}
		loaded = append(loaded, Table{Name: t, Rows: n, Bytes: st.Size()})
	}
	// Start from a clean slate: the dumps' dirty pages are not the load's.
	if _, err := c.Exec(ctx, `CHECKPOINT`); err != nil {
		return res, fmt.Errorf("checkpoint: %w", err)
	}

	var walStart string
	if err := c.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&walStart); err != nil {
		return res, err
	}
	start := time.Now()
	tx, err := c.Begin(ctx)
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// PostgreSQL's best path for loading into empty tables: truncated in
	// the loading transaction, so that COPY writes frozen rows and, with
	// wal_level=minimal, no WAL (as the import does for the tables it may
	// truncate).
	for _, t := range loaded {
		if _, err := tx.Exec(ctx, `TRUNCATE `+pgx.Identifier{Schema, t.Name}.Sanitize()); err != nil {
			return res, fmt.Errorf("truncate %s: %w", t.Name, err)
		}
	}
	for i := range loaded {
		t := &loaded[i]
		t0 := time.Now()
		tag, err := tx.Exec(ctx, `COPY `+pgx.Identifier{Schema, t.Name}.Sanitize()+` FROM `+quote(filepath.Join(dir, t.Name+".bin"))+` (FORMAT binary, FREEZE)`)
		if err != nil {
			return res, fmt.Errorf("load %s: %w", t.Name, err)
		}
		t.Seconds = time.Since(t0).Seconds()
		if tag.RowsAffected() != t.Rows {
			return res, fmt.Errorf("load %s: %d rows, dumped %d", t.Name, tag.RowsAffected(), t.Rows)
		}
	}
	t0 := time.Now()
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	res.CommitSeconds = time.Since(t0).Seconds()
	res.Seconds = time.Since(start).Seconds()
	if err := c.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint`, walStart).Scan(&res.WALBytes); err != nil {
		return res, err
	}
	res.Tables = loaded
	return res, nil
}

// scratchDir makes a folder next to the server's data directory that the
// server's user owns, for the dumps.
func scratchDir(ctx context.Context, c *pgx.Conn) (string, error) {
	var data string
	if err := c.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&data); err != nil {
		return "", fmt.Errorf("the server's data directory (the floor needs a superuser): %w", err)
	}
	st, err := os.Stat(data)
	if err != nil {
		return "", fmt.Errorf("the server's data directory %s is not on this machine (the floor needs the embedded cluster): %w", data, err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(data), "floor-")
	if err != nil {
		return "", err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		if err := os.Chown(dir, int(sys.Uid), int(sys.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// quote makes a SQL string literal.
func quote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
