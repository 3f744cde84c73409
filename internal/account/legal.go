package account

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/schemas"
)

// Representative returns the natural account of a legal account's
// representative: the citizen whose ID number's blind index is the legal
// account's rep_id_bidx; 0 when the representative has no account (or
// none is on record).
func Representative(ctx context.Context, q Querier, legalID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT n.id FROM account l JOIN account n ON n.id_bidx = l.rep_id_bidx AND n.kind = $2
		WHERE l.id = $1 AND l.kind = $3`, legalID, schemas.KindNatural, schemas.KindLegal).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// RepresentedBy returns the legal accounts a citizen's natural account
// represents, by id.
func RepresentedBy(ctx context.Context, q Querier, naturalID int64) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT l.id FROM account n JOIN account l ON l.rep_id_bidx = n.id_bidx AND l.kind = $3
		WHERE n.id = $1 AND n.kind = $2 ORDER BY l.id`, naturalID, schemas.KindNatural, schemas.KindLegal)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
