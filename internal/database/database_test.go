package database_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

func departments(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM department").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func insertDepartment(tx pgx.Tx, code string) error {
	_, err := tx.Exec(context.Background(), "INSERT INTO department (code, name, priority) VALUES ($1, $1, 1)", code)
	return err
}

func TestTransact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	errBoom := errors.New("boom")

	t.Run("commits", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		if err := database.Transact(ctx, pool, func(tx pgx.Tx) error { return insertDepartment(tx, "ga") }); err != nil {
			t.Fatal(err)
		}
		if n := departments(t, pool); n != 1 {
			t.Errorf("%d departments after commit, want 1", n)
		}
	})

	t.Run("rolls back on error", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
			if err := insertDepartment(tx, "ga"); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Transact() = %v, want %v", err, errBoom)
		}
		if n := departments(t, pool); n != 0 {
			t.Errorf("%d departments after rollback, want 0", n)
		}
	})

	t.Run("rolls back on panic", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v, want the panic to go on", p)
				}
			}()
			database.Transact(ctx, pool, func(tx pgx.Tx) error {
				if err := insertDepartment(tx, "ga"); err != nil {
					t.Fatal(err)
				}
				panic("boom")
			})
		}()
		if n := departments(t, pool); n != 0 {
			t.Errorf("%d departments after panic, want 0", n)
		}
		// The connection went back to the pool usable.
		if err := database.Transact(ctx, pool, func(tx pgx.Tx) error { return insertDepartment(tx, "rs") }); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("retries serialization failures", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		calls := 0
		err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
			calls++
			if err := insertDepartment(tx, "ga"); err != nil {
				return err
			}
			switch calls {
			case 1:
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			case 2:
				return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 3 {
			t.Errorf("fn called %d times, want 3", calls)
		}
		if n := departments(t, pool); n != 1 {
			t.Errorf("%d departments, want 1: a failed attempt was kept", n)
		}
	})

	t.Run("gives up", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		calls := 0
		err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
			calls++
			return &pgconn.PgError{Code: "40001"}
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
			t.Fatalf("Transact() = %v, want the serialization failure", err)
		}
		if calls != 5 {
			t.Errorf("fn called %d times, want 5", calls)
		}
	})

	t.Run("does not retry other errors", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		calls := 0
		err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
			calls++
			_, err := tx.Exec(ctx, "INSERT INTO department (code) VALUES ('x')") // NOT NULL violation
			return err
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23502" {
			t.Fatalf("Transact() = %v, want a not_null_violation", err)
		}
		if calls != 1 {
			t.Errorf("fn called %d times, want 1", calls)
		}
	})

	// Two serializable transactions that each read what the other writes:
	// one fails at the server with 40001 and is run again.
	t.Run("real serialization conflict", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		opts := pgx.TxOptions{IsoLevel: pgx.Serializable}
		inFirst, release := make(chan struct{}), make(chan struct{})
		firstDone := make(chan error, 1)
		calls := 0
		go func() {
			firstDone <- database.TransactWith(ctx, pool, opts, func(tx pgx.Tx) error {
				calls++
				var n int
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM department").Scan(&n); err != nil {
					return err
				}
				if calls == 1 {
					close(inFirst)
					<-release
				}
				return insertDepartment(tx, fmt.Sprintf("a%d", n))
			})
		}()
		<-inFirst
		err := database.TransactWith(ctx, pool, opts, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM department").Scan(&n); err != nil {
				return err
			}
			return insertDepartment(tx, fmt.Sprintf("b%d", n))
		})
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-firstDone; err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("first transaction ran %d times, want 2 (one serialization failure)", calls)
		}
		if n := departments(t, pool); n != 2 {
			t.Errorf("%d departments, want 2", n)
		}
	})
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.NewTx(t)
	var code string
	err := tx.QueryRow(ctx, "SELECT code FROM department WHERE code = 'none'").Scan(&code)
	if got := database.Translate(err); got != database.ErrNotFound {
		t.Errorf("Translate(%v) = %v, want ErrNotFound", err, got)
	}
	if got := database.Translate(fmt.Errorf("get: %w", pgx.ErrNoRows)); !errors.Is(got, database.ErrNotFound) {
		t.Errorf("Translate(wrapped ErrNoRows) = %v, want ErrNotFound", got)
	}
	other := errors.New("other")
	if got := database.Translate(other); got != other {
		t.Errorf("Translate(other) = %v, want it unchanged", got)
	}
	if got := database.Translate(nil); got != nil {
		t.Errorf("Translate(nil) = %v, want nil", got)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := database.Open(ctx, dbtest.ConnString(t), slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var name string
	if err := pool.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "idfusion" {
		t.Errorf("application_name = %q, want idfusion", name)
	}

	_, err = database.Open(ctx, "postgres://u:secret@[bad", nil)
	if err == nil {
		t.Fatal("Open with a bad connection string succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestOpenDefaultURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.ConnString(t)
	pool, closeFn, err := database.OpenDefault(ctx, database.OpenConfig{URL: url, NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	// The test database is migrated already; NoMigrate only skips the run.
	if pending, err := database.Pending(ctx, pool); err != nil || len(pending) != 0 {
		t.Errorf("Pending = %v, %v; want none", pending, err)
	}
	if err := closeFn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := database.OpenDefault(ctx, database.OpenConfig{}); err == nil || !strings.Contains(err.Error(), "OpenConfig.DataDir") {
		t.Errorf("OpenDefault without URL and DataDir: %v, want an error naming OpenConfig.DataDir", err)
	}
}

// TestOpenDefaultEmbedded opens the embedded cluster in a data folder
// twice: the first opener starts and migrates it, the second attaches, and
// only the first one's close stops it.
func TestOpenDefaultEmbedded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := database.OpenConfig{DataDir: dataDir(t), Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}

	first, closeFirst, err := database.OpenDefault(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFirst(ctx)
	if pending, err := database.Pending(ctx, first); err != nil || len(pending) != 0 {
		t.Errorf("Pending after OpenDefault = %v, %v; want none", pending, err)
	}
	var db string
	if err := first.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "idfusion" {
		t.Errorf("current_database() = %q, %v; want idfusion", db, err)
	}

	second, closeSecond, err := database.OpenDefault(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeSecond(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Ping(ctx); err == nil {
		t.Error("pool usable after its close")
	}
	if err := first.Ping(ctx); err != nil {
		t.Fatalf("the attached opener's close stopped the server: %v", err)
	}
	if err := closeFirst(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pg", "data", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server still running after the starter's close (%v)", err)
	}
}

// dataDir returns a new data folder that the server's user can reach when
// the test runs as root.
func dataDir(t *testing.T) string {
	t.Helper()
	base := ""
	if os.Geteuid() == 0 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "database-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}
