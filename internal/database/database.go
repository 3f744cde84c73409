// Package database is the PostgreSQL plumbing shared by the fusion pipeline
// and the login service: opening a connection pool (on DATABASE_URL or on the
// embedded local cluster), running a function in a transaction with retries,
// translating pgx errors, and applying the embedded schema migrations.
//
// The SQL of each domain lives in the package that owns it (merge, authsvc);
// this package holds no queries of its own beyond the migration bookkeeping.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned by Translate for a query that found no row. Code
// outside this package tests for it with errors.Is and never sees
// pgx.ErrNoRows.
var ErrNotFound = errors.New("not found")

// Translate maps pgx errors onto this package's: pgx.ErrNoRows becomes
// ErrNotFound. Other errors, and nil, are returned unchanged.
func Translate(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Open connects a pool to the database named by connString (a URL or
// keyword/value string as libpq accepts, plus pgxpool's pool_* settings)
// and checks that it answers. The application_name defaults to "idfusion".
// A nil logger discards. The connection string is never logged.
func Open(ctx context.Context, connString string, logger *slog.Logger) (*pgxpool.Pool, error) {
	return OpenAs(ctx, connString, "", logger)
}

// OpenAs is Open with every connection of the pool acting as role (see
// SetRole); an empty role is Open.
func OpenAs(ctx context.Context, connString, role string, logger *slog.Logger) (_ *pgxpool.Pool, err error) {
	defer wrap(&err, "database.Open")
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "idfusion"
	}
	SetRole(cfg, role)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	logger.InfoContext(ctx, "opened database",
		slog.String("host", cfg.ConnConfig.Host), slog.String("database", cfg.ConnConfig.Database),
		slog.String("role", role), slog.Int("max_conns", int(cfg.MaxConns)))
	return pool, nil
}

// SetRole makes every connection cfg's pool opens run SET ROLE role before
// it is used, so that its statements have the privileges of that role (such
// as idfusion_authsvc or idfusion_import, migration 012) rather than the
// connecting user's; the user must be a member of the role. An empty role
// changes nothing.
//
// This keeps a process started with the owner's DATABASE_URL (the
// embedded cluster, a development setup) within the role's grants. It is
// no boundary against the process itself, which could RESET ROLE: in
// production the process connects as a user that is a member of the role
// and nothing more.
func SetRole(cfg *pgxpool.Config, role string) {
	if role == "" {
		return
	}
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if prev != nil {
			if err := prev(ctx, conn); err != nil {
				return err
			}
		}
		if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
			return fmt.Errorf("set role %s (the database user must be a member of it): %w", role, err)
		}
		return nil
	}
}

// Beginner starts transactions: *pgxpool.Pool and *pgx.Conn are Beginners.
type Beginner interface {
	BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error)
}

// maxAttempts is how many times Transact runs a transaction that keeps
// failing on serialization or deadlock.
const maxAttempts = 5

// Transact runs fn in a transaction with the server's default isolation
// level (read committed), like TransactWith.
func Transact(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return TransactWith(ctx, db, pgx.TxOptions{}, fn)
}

// TransactWith runs fn in a transaction started with opts and commits it if
// fn returns nil. If fn returns an error or panics, the transaction is
// rolled back (and the panic goes on). A transaction that fails with a
// serialization failure (SQLSTATE 40001) or a deadlock (40P01), in fn or at
// commit, is run again from the start, up to 5 times in all, after a short
// random pause: fn must therefore have no effects outside the transaction.
// Errors returned by fn come back unwrapped.
func TransactWith(ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := transactOnce(ctx, db, opts, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("database.Transact: giving up after %d attempts: %w", attempt, err)
		}
		pause := time.Duration(attempt)*10*time.Millisecond + rand.N(20*time.Millisecond)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

func transactOnce(ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("database.Transact: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			rollback(ctx, tx)
			panic(p)
		}
		if err != nil {
			if rbErr := rollback(ctx, tx); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("database.Transact: commit: %w", err)
	}
	return nil
}

// rollback rolls tx back even if ctx is done, so that the connection goes
// back to the pool clean.
func rollback(ctx context.Context, tx pgx.Tx) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("database.Transact: rollback: %w", err)
	}
	return nil
}

// retryable reports whether err is a serialization failure or a deadlock.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// wrap prefixes a non-nil *errp with the formatted context.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
