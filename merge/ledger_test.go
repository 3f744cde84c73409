package merge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestCheckLedger: each way the database can disagree with a run's ledger
// is found, and named, before the run commits.
func TestCheckLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.NewTx(t)
	var run, a, b, own, other int64
	var file int32
	scan := func(dst any, sql string, args ...any) {
		t.Helper()
		if err := tx.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	scan(&run, `INSERT INTO import_run (started_at, ledger) VALUES (now(), '{}') RETURNING id`)
	if _, err := tx.Exec(ctx, `INSERT INTO department (code, name, priority) VALUES ('ga', '公安', 1)`); err != nil {
		t.Fatal(err)
	}
	scan(&file, `INSERT INTO source_file (dept, sha256) VALUES ('ga', 'f1') RETURNING id`)
	account := `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, updated_run)
		VALUES ($1, '\x00', '1*****1', 'resident', '张三', 'pending_completion', 'fused', $2) RETURNING id`
	scan(&a, account, "a", run)
	scan(&b, account, "b", run)
	lineage := `INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, priority) VALUES ($1, $2, $3, $4, 1) RETURNING id`
	scan(&own, lineage, "a", run, file, 2)
	scan(&other, lineage, "b", run, file, 3)
	var orphan int64
	scan(&orphan, lineage, "z", run, file, 4) // no such account
	// A conflict whose key is a's but whose id is b's names no account.
	if _, err := tx.Exec(ctx, `INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id) VALUES ($1, 'a', 'name', '[]', $2)`, b, run); err != nil {
		t.Fatal(err)
	}
	// b's name comes from a's row.
	if _, err := tx.Exec(ctx, `UPDATE account SET name_source = $1 WHERE id = $2`, own, b); err != nil {
		t.Fatal(err)
	}
	// b's foreign source counts, and so do two found in earlier batches.
	l := &loader{tx: tx, runID: run, updated: []int64{a, b}, foreign: 2}
	led := Ledger{
		Files:   []FileLedger{{Dept: "ga", SHA256: "f1", Name: "ga.csv", Read: 4, Accepted: 2, Rejected: 1}},
		Persons: 2, New: 1,
	}
	err := l.checkLedger(ctx, &led, map[fileKey]int32{{"ga", "f1"}: file})
	if !errors.Is(err, ErrLedger) {
		t.Fatalf("err = %v, want ErrLedger", err)
	}
	for _, want := range []string{
		"ga.csv: read 4 != accepted 2 + rejected 1",
		"ga.csv: lineage rows 3 != accepted 2",
		"ga.csv: stored rejects 0 != rejected 1",
		"persons 2 != new 1 + updated 0 + unchanged 0",
		"2 of the run's lineage rows and conflicts have no account",
		"3 accounts have a value whose source is not their own lineage",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}
