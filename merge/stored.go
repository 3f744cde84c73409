package merge

// Reading and writing what the store already has for a run: the stored
// accounts (through internal/account, which owns them), the lineage of a
// re-imported file, and the conflicts for review.

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// existing loads the accounts that already exist for the run's persons,
// with the sources of their surviving values.
func (l *loader) existing(ctx context.Context) (map[string]*existing, error) {
	out := map[string]*existing{}
	if l.noAccounts {
		return out, nil
	}
	persons := l.persons
	err := account.ReadStored(ctx, l.tx, len(persons), func(i int) []byte { return persons[i].Key[:] }, func(s *account.Stored) {
		out[string(s.Key)] = newExisting(s)
	})
	return out, err
}

// countStored counts, by file, the lineage rows the store already has for
// the run's files (only a file imported again with --force has any).
func (l *loader) countStored(ctx context.Context, files map[fileKey]int32) error {
	l.storedCount = map[int32]int{}
	ids := make([]int32, 0, len(files))
	for _, id := range files {
		ids = append(ids, id)
	}
	rows, err := l.tx.Query(ctx, `SELECT file_id, count(*) FROM account_lineage WHERE file_id = ANY($1) GROUP BY file_id`, ids)
	if err != nil {
		return err
	}
	var id int32
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		l.storedCount[id] = n
		return nil
	})
	return err
}

// lineageIDs returns the lineage rows the store already has for the rows
// of the batch (a forced re-import), by file and row, and keeps the
// account of each in l.storedAccount: a batch at a time, so that a run
// never holds the lineage of whole files.
func (l *loader) lineageIDs(ctx context.Context) (map[lineageKey]int64, error) {
	out := map[lineageKey]int64{}
	l.storedAccount = map[lineageKey]Key{}
	if len(l.storedCount) == 0 {
		return out, nil
	}
	byFile := map[int32][]int64{}
	for i := range l.persons {
		for _, r := range l.persons[i].Rows {
			if id := l.fileID(r.Dept, r.File); l.storedCount[id] > 0 {
				byFile[id] = append(byFile[id], r.Row)
			}
		}
	}
	for id, nums := range byFile {
		rows, err := l.tx.Query(ctx, `SELECT row_num, id, account_bidx FROM account_lineage WHERE file_id = $1 AND row_num = ANY($2)`, id, nums)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var row, lid int64
			var account []byte
			if err := rows.Scan(&row, &lid, &account); err != nil {
				rows.Close()
				return nil, err
			}
			out[lineageKey{id, row}] = lid
			l.storedAccount[lineageKey{id, row}] = Key(account)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applyUpdates writes the changes to existing accounts.
func (l *loader) applyUpdates(ctx context.Context, updates []account.Update) error {
	for _, u := range updates {
		l.updated = append(l.updated, u.ID)
	}
	return account.ApplyUpdates(ctx, l.tx, l.cfg.Keyring, l.runID, updates)
}

// insertConflicts stores the run's conflicts; a conflict already recorded
// (the same candidates) is not recorded again.
func (l *loader) insertConflicts(ctx context.Context, cs []conflict) (int64, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_conflict (account_id bigint, account_bidx bytea, field text, candidates text, reps text) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if err := database.CopyAll(ctx, l.tx, "stage_conflict", []string{"account_id", "account_bidx", "field", "candidates", "reps"}, cs, func(r *database.CopyRow, c *conflict) {
		r.Int64(c.account)
		r.Bytea(c.key[:])
		r.Text(string(c.field))
		r.Text(c.candidates)
		if c.reps == "" {
			r.Null()
		} else {
			r.Text(c.reps)
		}
	}); err != nil {
		return 0, err
	}
	tag, err := l.tx.Exec(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, reps, run_id)
		SELECT account_id, account_bidx, field, candidates::jsonb, reps::jsonb, $1 FROM stage_conflict
		ON CONFLICT (account_bidx, field, md5(candidates::text)) DO NOTHING`, l.runID)
	if err != nil {
		return 0, err
	}
	// A run loading in batches stages each batch's conflicts anew.
	if _, err := l.tx.Exec(ctx, `DROP TABLE stage_conflict`); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
