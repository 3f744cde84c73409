package pipeline

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// storedRows is every row of a table as text, without the columns a run
// sets from the clock and the sealed ones (random nonces: accounts
// compares them decrypted), sorted.
func storedRows(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	ctx := context.Background()
	var cols []string
	rows, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 AND column_name NOT LIKE '%\_sealed'
		  AND column_name NOT IN ('created_at', 'updated_at', 'started_at', 'finished_at', 'imported_at')
		ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		t.Fatalf("columns of %s: %v", table, err)
	}
	for i, c := range cols {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	rows, err = pool.Query(ctx, `SELECT (`+strings.Join(cols, ", ")+`)::text FROM `+pgx.Identifier{table}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestImportSpilledSameAsHeld: the same files imported with every row held
// and with a budget so small that the rows go to disk and load in many
// batches give the same store, row for row (ids included); the spilled run
// is idempotent as the held one is. (That the spill files go is
// merge's TestSpillSamePersons.)
func TestImportSpilledSameAsHeld(t *testing.T) {
	t.Parallel()
	s := samples(t)
	held, spilled := dbtest.New(t), dbtest.New(t)
	heldRes := importInto(t, held, s.inputs, false)
	if heldRes.SpilledRows != 0 {
		t.Fatalf("held run spilled %d rows", heldRes.SpilledRows)
	}
	out := t.TempDir()
	imp := func(force bool) ImportResult {
		t.Helper()
		res, err := Import(context.Background(), spilled, s.inputs, ImportConfig{Keyring: testKeyring(t), OutDir: out, Force: force, HoldBytes: 48 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := imp(false)
	if res.SpilledRows == 0 {
		t.Fatal("the run did not spill")
	}
	if diff := cmp.Diff(heldRes.Ledger, res.Ledger); diff != "" {
		t.Errorf("ledgers differ (-held +spilled):\n%s", diff)
	}
	tables := append(slices.Clone(domainTables), runTables...)
	for _, tb := range tables {
		if diff := cmp.Diff(storedRows(t, held, tb), storedRows(t, spilled, tb)); diff != "" {
			t.Errorf("%s differs (-held +spilled):\n%s", tb, diff)
		}
	}
	if diff := cmp.Diff(accounts(t, held), accounts(t, spilled)); diff != "" {
		t.Errorf("accounts differ (-held +spilled):\n%s", diff)
	}
	// The feedback is the same too, cell by cell.
	if len(heldRes.Feedback) == 0 {
		t.Fatal("no feedback")
	}
	for _, f := range heldRes.Feedback {
		if diff := cmp.Diff(workbookCells(t, f), workbookCells(t, filepath.Join(out, filepath.Base(f)))); diff != "" {
			t.Errorf("feedback %s differs (-held +spilled):\n%s", filepath.Base(f), diff)
		}
	}

	before := checksums(t, spilled, tables...)
	if res := imp(false); len(res.Skipped) != len(s.inputs) {
		t.Errorf("second run skipped %d of %d files", len(res.Skipped), len(s.inputs))
	}
	res = imp(true)
	if res.SpilledRows == 0 || res.Ledger.Unchanged != s.truth.Persons || res.Ledger.New+res.Ledger.Updated+res.Ledger.Conflicts != 0 {
		t.Errorf("forced spilled run: spilled %d, ledger %+v", res.SpilledRows, res.Ledger)
	}
	after := checksums(t, spilled, domainTables...)
	for _, tb := range domainTables {
		if before[tb] != after[tb] {
			t.Errorf("forced spilled run changed %s", tb)
		}
	}
}

// workbookCells is every sheet's rows of a feedback workbook.
func workbookCells(t *testing.T, path string) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		out[sheet] = rows
	}
	return out
}
