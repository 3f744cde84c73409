package merge

// Reserving blocks of account and lineage ids.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
)

type reservation struct {
	first int64
	err   error
}

// reserveAccounts takes a block of n consecutive ids of the account
// sequence and returns the first. The login service takes ids from the
// same sequence (registrations), one nextval at a time: the database
// function reserve_account_ids (migration 012) holds their nextval with
// ALTER SEQUENCE for the few milliseconds of this short transaction (the
// increment it sets is the one the sequence has), so the block can be
// taken with one setval instead of n nextvals. It runs as the sequence's
// owner: only the owner may alter it, and the importer's role is not the
// owner. Like nextval, the block is not given back if the run rolls back.
func reserveAccounts(ctx context.Context, pool *pgxpool.Pool, n int64) (first int64, err error) {
	if n == 0 {
		return 0, nil
	}
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT reserve_account_ids($1)`, n).Scan(&first)
	})
	if err != nil {
		return 0, fmt.Errorf("reserve account ids: %w", err)
	}
	return first, nil
}

// reserveLineage takes a block of n lineage ids and returns the first.
// Only imports insert lineage, under the import lock, so one setval is
// safe.
func (l *loader) reserveLineage(ctx context.Context, n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	var last int64
	err := l.tx.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence('account_lineage', 'id'),
		nextval(pg_get_serial_sequence('account_lineage', 'id')) + $1 - 1)`, n).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("reserve lineage ids: %w", err)
	}
	return last - n + 1, nil
}
