package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/floor"
	"github.com/idfusion/idfusion/merge"
)

// TestBenchFloor: after a small import, the floor reloads every table the
// run wrote rows into, the same number of rows, and leaves neither the
// scratch schema nor its dumps behind.
func TestBenchFloor(t *testing.T) {
	im := importSample(t, 300)
	ctx := context.Background()
	var dataDir string
	if err := im.pool.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	before, _ := filepath.Glob(filepath.Join(filepath.Dir(dataDir), "floor-*"))

	code, stdout, _ := im.cli(t, "bench-floor", "--json", "--data-dir", im.dataDir)
	if code != exitOK {
		t.Fatalf("bench-floor exit code %d", code)
	}
	var res floor.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("bench-floor --json: %v\n%s", err, stdout)
	}
	got := map[string]floor.Table{}
	for _, tb := range res.Tables {
		got[tb.Name] = tb
	}
	for _, name := range merge.LoadTables {
		var n int64
		if err := im.pool.QueryRow(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		tb, ok := got[name]
		switch {
		case n > 0 && !ok:
			t.Errorf("%s holds %d rows but has no floor", name, n)
		case n == 0 && ok:
			t.Errorf("%s holds no rows but has a floor", name)
		case ok && tb.Rows != n:
			t.Errorf("%s: floor loaded %d rows, the table holds %d", name, tb.Rows, n)
		}
	}
	for _, name := range []string{"account", "account_lineage", "import_reject", "merge_conflict"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no floor for %s: the sample should fill it", name)
		}
	}
	if res.Seconds <= 0 || res.WALBytes <= 0 {
		t.Errorf("floor %.3f s, WAL %d bytes: want both above zero", res.Seconds, res.WALBytes)
	}
	var schemas int
	if err := im.pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, floor.Schema).Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("the scratch schema %s is left behind", floor.Schema)
	}
	after, _ := filepath.Glob(filepath.Join(filepath.Dir(dataDir), "floor-*"))
	if len(after) != len(before) {
		t.Errorf("scratch folders left behind: %v (before: %v)", after, before)
	}

	// The import reports the WAL it wrote (a dry run writes some too).
	files, _ := filepath.Glob(filepath.Join(im.dir, "exports", "*"))
	code, stdout, _ = im.cli(t, append([]string{"import", "--json", "--dry-run", "--force", "--mapping-dir", filepath.Join(im.dir, "mappings"),
		"--data-dir", im.dataDir, "--out", t.TempDir()}, files...)...)
	var wal struct {
		WALBytes int64 `json:"wal_bytes"`
	}
	if err := json.Unmarshal([]byte(stdout), &wal); code != exitOK || err != nil || wal.WALBytes <= 0 {
		t.Errorf("import --json: exit %d, wal_bytes %d (%v)", code, wal.WALBytes, err)
	}

	// The text report names every table and the total.
	code, stdout, _ = im.cli(t, "bench-floor", "--data-dir", im.dataDir)
	if code != exitOK || !strings.Contains(stdout, "account_lineage") || !strings.Contains(stdout, "total") {
		t.Errorf("bench-floor text: exit %d\n%s", code, stdout)
	}
}

// TestLoadTablesComplete: every table an import writes rows into is in
// merge.LoadTables, so the floor reloads all of them.
func TestLoadTablesComplete(t *testing.T) {
	im := importSample(t, 300)
	empty := dbtest.New(t)
	ctx := context.Background()
	rows, err := empty.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	count := func(pool *pgxpool.Pool, table string) int64 {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range tables {
		if before, after := count(empty, table), count(im.pool, table); after != before && !slices.Contains(merge.LoadTables, table) {
			t.Errorf("the import wrote rows into %s (%d → %d), which merge.LoadTables does not list", table, before, after)
		}
	}
}
