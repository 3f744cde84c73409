package merge

// Reserving blocks of lineage ids (account ids: account.ReserveIDs).

import (
	"context"
	"fmt"
)

type reservation struct {
	first int64
	err   error
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
