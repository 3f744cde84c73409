package merge

// The ledger check of a run against the database.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
)

// checkLedger checks the run against the database: every file balances,
// every accepted row has its lineage, every lineage row its account, every
// surviving value its lineage row, and the new accounts are the ones
// counted.
func (l *loader) checkLedger(ctx context.Context, led *Ledger, files map[fileKey]int32) error {
	// Set-based checks: hash joins, not millions of index probes.
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
		return err
	}
	ids := make([]int32, len(led.Files))
	for i, f := range led.Files {
		ids[i] = files[fileKey{f.Dept, f.SHA256}]
	}
	lineage, rejects := map[int32]int64{}, map[int32]int64{}
	rows, err := l.tx.Query(ctx, `SELECT file_id, count(*), 'lineage' FROM account_lineage WHERE file_id = ANY($1) GROUP BY file_id
		UNION ALL SELECT file_id, count(*), 'reject' FROM import_reject WHERE run_id = $2 GROUP BY file_id`, ids, l.runID)
	if err != nil {
		return err
	}
	var id int32
	var n int64
	var kind string
	if _, err := pgx.ForEachRow(rows, []any{&id, &n, &kind}, func() error {
		if kind == "lineage" {
			lineage[id] = n
		} else {
			rejects[id] = n
		}
		return nil
	}); err != nil {
		return err
	}
	var problems []string
	for i := range led.Files {
		f := &led.Files[i]
		f.Lineage = lineage[ids[i]]
		if f.Read != f.Accepted+f.Rejected {
			problems = append(problems, fmt.Sprintf("%s: read %d != accepted %d + rejected %d", f.Name, f.Read, f.Accepted, f.Rejected))
		}
		if f.Lineage != f.Accepted {
			problems = append(problems, fmt.Sprintf("%s: lineage rows %d != accepted %d", f.Name, f.Lineage, f.Accepted))
		}
		if r := rejects[ids[i]]; r != f.Rejected {
			problems = append(problems, fmt.Sprintf("%s: stored rejects %d != rejected %d", f.Name, r, f.Rejected))
		}
	}
	if l := led.Legal; l != nil && l.Persons != l.New+l.Updated+l.Unchanged {
		problems = append(problems, fmt.Sprintf("legal persons %d != new %d + updated %d + unchanged %d", l.Persons, l.New, l.Updated, l.Unchanged))
	}
	if led.Persons != led.New+led.Updated+led.Unchanged {
		problems = append(problems, fmt.Sprintf("persons %d != new %d + updated %d + unchanged %d", led.Persons, led.New, led.Updated, led.Unchanged))
	}
	// Every lineage row and conflict of the run points at an account. (The
	// new accounts are the ones counted: COPY reported as many rows as
	// were new.)
	var orphans int64
	if err := l.tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM account_lineage l WHERE l.run_id = $1 AND NOT `+account.KeyExistsSQL("l.account_bidx", "")+`) +
		(SELECT count(*) FROM merge_conflict c WHERE c.run_id = $1 AND NOT `+account.KeyExistsSQL("c.account_bidx", "c.account_id")+`)`,
		l.runID).Scan(&orphans); err != nil {
		return err
	}
	if orphans > 0 {
		problems = append(problems, fmt.Sprintf("%d of the run's lineage rows and conflicts have no account", orphans))
	}
	// Every surviving value of the existing accounts the run changed comes
	// from a lineage row of that same account: their sources mix rows of
	// earlier runs with this one's. (A new account's sources are found
	// among the rows written with it, and nowhere else.) Few accounts:
	// index probes.
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_nestloop = on`); err != nil {
		return err
	}
	foreign, err := l.foreignSources(ctx)
	if err != nil {
		return err
	}
	foreign += l.foreign
	if foreign > 0 {
		problems = append(problems, fmt.Sprintf("%d accounts have a value whose source is not their own lineage", foreign))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %v", ErrLedger, problems)
	}
	return nil
}

// foreignSources counts the accounts among l.updated (changed by the batch
// just written) with a value whose source is not their own lineage, and
// forgets them: a batch's accounts and their lineage are all written with
// it, so each batch is checked on its own and no run holds the ids of
// every account it changed.
func (l *loader) foreignSources(ctx context.Context) (int64, error) {
	if len(l.updated) == 0 {
		return 0, nil
	}
	n, err := account.ForeignSources(ctx, l.tx, l.updated)
	l.updated = l.updated[:0]
	return n, err
}

// Imported reports whether a file (department + sha256) has been imported
// by a committed run.
func Imported(ctx context.Context, pool *pgxpool.Pool, dept, sha256 string) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_file WHERE dept = $1 AND sha256 = $2)`, dept, sha256).Scan(&ok)
	return ok, err
}
