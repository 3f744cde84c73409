package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pipeline"
)

// TestImportMapping: import --mapping takes one department's mapping, as
// check does, so a file need not be named after its department.
func TestImportMapping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "200", "--depts", "gongan,renshe"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	file := filepath.Join(dir, "公安导出2026.csv")
	if err := os.Rename(filepath.Join(dir, "exports", "gongan_users.csv"), file); err != nil {
		t.Fatal(err)
	}
	mapping := filepath.Join(dir, "mappings", "gongan.yaml")
	im := &imported{dataDir: t.TempDir(), outDir: t.TempDir(), url: dbtest.ConnString(t)}
	code, stdout, stderr := im.cli(t, "import", "--json", "--mapping", mapping, "--data-dir", im.dataDir, "--out", im.outDir, file)
	if code != exitOK {
		t.Fatalf("import --mapping exit code %d: %s", code, stderr)
	}
	var res pipeline.ImportResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Ledger.Files) != 1 || res.Ledger.Files[0].Dept != "gongan" || res.Ledger.Files[0].Name != "公安导出2026.csv" || res.Ledger.Files[0].Accepted == 0 {
		t.Errorf("ledger files = %+v, want the one gongan file with accepted rows", res.Ledger.Files)
	}

	for _, args := range [][]string{
		{"--mapping", mapping, "--mapping-dir", filepath.Join(dir, "mappings"), file},
		{"--mapping", mapping, "--manifest", filepath.Join(dir, "run.yaml")},
		{"--mapping", mapping},
	} {
		if code, _, _ := im.cli(t, append([]string{"import"}, args...)...); code != exitUsage {
			t.Errorf("import %v: exit code %d, want %d", args, code, exitUsage)
		}
	}
}
