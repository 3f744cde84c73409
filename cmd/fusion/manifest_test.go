package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pipeline"
)

// TestImportManifest: a run manifest names files whose names do not say
// their department; the run imports them as one.
func TestImportManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "300", "--depts", "gongan,renshe"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	// Departments send files named as they like.
	if err := os.Rename(filepath.Join(dir, "exports", "gongan_users.csv"), filepath.Join(dir, "公安导出2026.csv")); err != nil {
		t.Fatal(err)
	}
	man := filepath.Join(dir, "run.yaml")
	body := "mapping_dir: mappings\nfiles:\n  - {path: 公安导出2026.csv, dept: gongan}\n  - {path: exports/renshe_users.csv}\n"
	if err := os.WriteFile(man, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	im := &imported{dataDir: t.TempDir(), outDir: t.TempDir(), url: dbtest.ConnString(t)}
	code, stdout, stderr := im.cli(t, "import", "--json", "--manifest", man, "--data-dir", im.dataDir, "--out", im.outDir)
	if code != exitOK {
		t.Fatalf("import --manifest exit code %d: %s", code, stderr)
	}
	var res pipeline.ImportResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range res.Ledger.Files {
		got[f.Dept] = f.Name
	}
	if fmt.Sprint(got) != "map[gongan:公安导出2026.csv renshe:renshe_users.csv]" {
		t.Errorf("files by department = %v", got)
	}
	if code, _, _ := im.cli(t, "import", "--manifest", man, "--mapping-dir", "x"); code != exitUsage {
		t.Errorf("--manifest with --mapping-dir: exit code %d, want %d", code, exitUsage)
	}
}
