package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

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

	// The text report names every table and the total.
	code, stdout, _ = im.cli(t, "bench-floor", "--data-dir", im.dataDir)
	if code != exitOK || !strings.Contains(stdout, "account_lineage") || !strings.Contains(stdout, "total") {
		t.Errorf("bench-floor text: exit %d\n%s", code, stdout)
	}
}
