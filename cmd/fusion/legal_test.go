package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/report"
)

// TestLegalCLI: gen --legal, import, runs, conflicts and export handle
// legal persons: the run's legal counts, the rep_name conflicts, the
// export's legal rows with the representative's ID masked.
func TestLegalCLI(t *testing.T) {
	t.Parallel()
	im := &imported{dir: t.TempDir(), dataDir: t.TempDir(), outDir: t.TempDir()}
	im.url = dbtest.ConnString(t)
	if code, _, _ := im.cli(t, "gen", "--out", im.dir, "--rows", "300", "--legal", "60"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	files, err := filepath.Glob(filepath.Join(im.dir, "exports", "*"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"import", "--mapping-dir", filepath.Join(im.dir, "mappings"), "--data-dir", im.dataDir, "--out", im.outDir}, files...)
	code, stdout, stderr := im.cli(t, args...)
	if code != exitOK || !strings.Contains(stdout, "legal persons = ") {
		t.Fatalf("import exit code %d:\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = im.cli(t, "runs", "--json")
	var got struct{ Runs []report.Run }
	err = json.Unmarshal([]byte(stdout), &got)
	runs := got.Runs
	if code != exitOK || err != nil || len(runs) != 1 || runs[0].Legal == nil ||
		runs[0].Legal.New == 0 || !runs[0].Balanced {
		t.Fatalf("runs --json: %d, %v: %s", code, err, stdout)
	}
	legal := runs[0].Legal.New
	if code, stdout, _ = im.cli(t, "runs", "--run", strconv.FormatInt(runs[0].ID, 10)); code != exitOK || !strings.Contains(stdout, "of which "+strconv.FormatInt(legal, 10)+" legal persons") {
		t.Errorf("runs --run: %d\n%s", code, stdout)
	}
	if code, _, stderr = im.cli(t, "conflicts", "--field", "rep_name"); code != exitOK {
		t.Errorf("conflicts --field rep_name: %d\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "golden.csv")
	if code, _, stderr = im.cli(t, "export", "--format", "csv", "--out", out, "--data-dir", im.dataDir); code != exitOK {
		t.Fatalf("export: %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var n int64
	for _, r := range recs[1:] {
		if r[col["kind"]] != "legal" {
			continue
		}
		n++
		if hint := r[col["rep_id_hint"]]; hint != "" && !strings.Contains(hint, "*") {
			t.Errorf("the representative's ID in clear in a masked export: %q", hint)
		}
		if r[col["legal_type"]] == "" || r[col["realname_status"]] != "unverified" {
			t.Errorf("legal row %v", r)
		}
	}
	if n != legal {
		t.Errorf("export has %d legal rows, the run made %d legal accounts", n, legal)
	}
}
