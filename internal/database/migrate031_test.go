package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestMigrateLineageKeys: migration 031 gives lineage and conflicts their
// account's blind index, and refuses, saying why, a store whose lineage
// names an account that does not exist (lineage has no foreign key).
func TestMigrateLineageKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, orphan := range []bool{false, true} {
		pool := dbtest.NewBefore(t, 31)
		if _, err := pool.Exec(ctx, `
			INSERT INTO import_run (id, started_at, ledger) OVERRIDING SYSTEM VALUE VALUES (1, now(), '{}');
			INSERT INTO department (code, name, priority) VALUES ('ga', '公安', 1);
			INSERT INTO source_file (id, dept, sha256) OVERRIDING SYSTEM VALUE VALUES (1, 'ga', 'f1');
			INSERT INTO account (id, id_bidx, id_sealed, id_hint, id_type, name, status, origin, updated_run)
				VALUES (7, '\x07', '\x00', '1*****1', 'resident', '张三', 'pending_completion', 'fused', 1);
			INSERT INTO account_lineage (account_id, run_id, file_id, row_num, priority) VALUES (7, 1, 1, 2, 1);
			INSERT INTO merge_conflict (account_id, field, candidates, run_id) VALUES (7, 'name', '[]', 1)`); err != nil {
			t.Fatal(err)
		}
		if orphan {
			if _, err := pool.Exec(ctx, `INSERT INTO account_lineage (account_id, run_id, file_id, row_num, priority) VALUES (8, 1, 1, 3, 1)`); err != nil {
				t.Fatal(err)
			}
		}
		err := database.Migrate(ctx, pool, nil)
		if orphan {
			if err == nil || !strings.Contains(err.Error(), "1 lineage rows name an account that does not exist") {
				t.Errorf("an orphan lineage row: err %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var lineage, conflicts string
		if err := pool.QueryRow(ctx, `SELECT (SELECT encode(account_bidx, 'hex') FROM account_lineage), (SELECT encode(account_bidx, 'hex') FROM merge_conflict)`).Scan(&lineage, &conflicts); err != nil {
			t.Fatal(err)
		}
		if lineage != "07" || conflicts != "07" {
			t.Errorf("keys after 031: lineage %q, conflict %q, want the account's 07", lineage, conflicts)
		}
	}
}
