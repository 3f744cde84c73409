package database_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// refusedPort is a TCP port on the loopback that nothing listens on (it
// was just closed).
func refusedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// wantUnavailable fails the test unless err is an error Unavailable
// accepts; what says where it came from.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
	} else if !database.Unavailable(err) {
		t.Errorf("%s: Unavailable(%v) = false", what, err)
	}
}

// TestUnavailableReal: errors as pgx and the server really return them
// when the database cannot serve, and real errors that are not outages.
func TestUnavailableReal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		port := refusedPort(t)
		_, err := pgx.Connect(ctx, "host=127.0.0.1 port="+port+" user=someone password=s3cret-pw dbname=x sslmode=disable connect_timeout=5")
		if err == nil {
			t.Fatal("connected to a closed port")
		}
		wantUnavailable(t, "refused connection", err)
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("the error shows the password: %v", err)
		}
		// The same refusal through an HTTP client is another service's.
		resp, err := http.Get("http://127.0.0.1:" + port + "/")
		if err == nil {
			resp.Body.Close()
			t.Fatal("HTTP to a closed port answered")
		}
		if database.Unavailable(err) {
			t.Errorf("Unavailable(%v) = true for an HTTP call", err)
		}
	})

	t.Run("any failed connection", func(t *testing.T) {
		t.Parallel()
		// Whatever the server said: here, that there is no such database.
		cfg, err := pgx.ParseConfig(dbtest.ConnString(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Database = "idfusion_no_such_database"
		_, err = pgx.ConnectConfig(ctx, cfg)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "3D000" {
			t.Fatalf("connecting to a missing database: %v, want SQLSTATE 3D000", err)
		}
		wantUnavailable(t, "missing database", err)
	})

	t.Run("closed pool", func(t *testing.T) {
		t.Parallel()
		pool, err := pgxpool.New(ctx, dbtest.ConnString(t))
		if err != nil {
			t.Fatal(err)
		}
		pool.Close()
		_, err = pool.Exec(ctx, "SELECT 1")
		wantUnavailable(t, "query on a closed pool", err)
	})

	t.Run("terminated", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		var pid int
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1, 10000)", pid); err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, "SELECT 1")
		wantUnavailable(t, "query on a terminated connection", err)
		// pgx closed the connection: using it again fails differently.
		_, err = conn.Exec(ctx, "SELECT 1")
		wantUnavailable(t, "query on a closed connection", err)
	})

	t.Run("too many connections", func(t *testing.T) {
		t.Parallel()
		cs := dbtest.ConnString(t)
		owner, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		defer owner.Close(ctx)
		if _, err := owner.Exec(ctx, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 0', current_database()); END $$"); err != nil {
			t.Fatal(err)
		}
		// The limit binds everyone but superusers: a member of the
		// service's role.
		_, err = pgx.Connect(ctx, dbtest.MemberConnString(t, cs, "idfusion_authsvc"))
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "53300" {
			t.Fatalf("connecting over the limit: %v, want SQLSTATE 53300", err)
		}
		wantUnavailable(t, "over the connection limit", err)
		wantUnavailable(t, "the bare 53300", fmt.Errorf("wrapped: %w", pe))
	})

	t.Run("acquire timeout", func(t *testing.T) {
		t.Parallel()
		cfg, err := pgxpool.ParseConfig(dbtest.ConnString(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		held, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Release()
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err = pool.Exec(short, "SELECT 1")
		wantUnavailable(t, "waiting for a connection of a busy pool", err)
	})

	t.Run("not outages", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		_, err := pool.Exec(ctx, "SELECT 1/0")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Fatalf("SELECT 1/0: %v", err)
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		_, errCanceled := pool.Exec(canceled, "SELECT 1")
		if errCanceled == nil {
			t.Fatal("a canceled query ran")
		}
		var n int
		errNone := database.Translate(pool.QueryRow(ctx, "SELECT 1 WHERE false").Scan(&n))
		for _, err := range []error{nil, err, errCanceled, errNone, errors.New("something else")} {
			if database.Unavailable(err) {
				t.Errorf("Unavailable(%v) = true", err)
			}
		}
	})
}

// TestUnavailableCodes: the SQLSTATEs that mean "not now", however
// wrapped, and their neighbours that do not.
func TestUnavailableCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"08000": true, "08003": true, "08006": true, "08P01": true,
		"57P01": true, "57P02": true, "57P03": true, "53300": true,
		"57014": false, // query_canceled (statement_timeout)
		"53200": false, // out_of_memory
		"23505": false, "40001": false, "42501": false,
	} {
		err := fmt.Errorf("database.Transact: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
		if got := database.Unavailable(err); got != want {
			t.Errorf("Unavailable(SQLSTATE %s) = %v, want %v", code, got, want)
		}
	}
	// One outage among other errors (a failed statement and its failed
	// rollback) is an outage.
	joined := errors.Join(&pgconn.PgError{Code: "23505"}, &pgconn.PgError{Code: "57P01"})
	if !database.Unavailable(joined) {
		t.Errorf("Unavailable(%v) = false", joined)
	}
}
