// Package report holds the read side of the account store for data
// engineers and auditors: past import runs and their ledgers, the open
// merge conflicts, the golden records with the lineage of their values,
// and the audit trail of exports.
//
// Every function is plain SQL on a DB (a pool, a connection or a
// transaction) and wraps its errors with its name. Nothing here decrypts:
// the golden records carry sealed values only when asked, and the caller
// opens them with its keyring.
package report

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the queries run on: *pgxpool.Pool, *pgx.Conn and pgx.Tx
// satisfy it.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// limitArg turns a limit into a LIMIT parameter: 0 or less is no limit
// (LIMIT NULL).
func limitArg(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// wrap prefixes a non-nil *errp with the function's name and arguments.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
