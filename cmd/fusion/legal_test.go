package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/internal/pipeline"
)

// TestGenCheckLegal: fusion gen --legal writes the legal departments'
// exports and mappings; fusion check reads them with the legal rules.
func TestGenCheckLegal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out := runCLI(t, "gen", "--out", dir, "--rows", "300", "--legal", "200", "--depts", "gongan,scjg,swj")
	if code != exitOK || !strings.Contains(out, "legal persons") {
		t.Fatalf("gen exit code %d: %s", code, out)
	}
	files := []string{filepath.Join(dir, "exports", "scjg_legal.xlsx"), filepath.Join(dir, "exports", "swj_legal.csv")}
	code, out = runCLI(t, append([]string{"check", "--json", "--mapping-dir", filepath.Join(dir, "mappings"), "--out", filepath.Join(dir, "out")}, files...)...)
	if code != exitRejects {
		t.Fatalf("check exit code %d, want %d (rows with bad credit codes): %s", code, exitRejects, out)
	}
	var res pipeline.CheckResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || len(res.Feedback) != 2 {
		t.Fatalf("check result %+v: want two files and two workbooks", res)
	}
	for _, f := range res.Files {
		if f.Error != "" || f.Accepted == 0 || f.Rejects["USCC_BAD_CHECKSUM"] == 0 {
			t.Errorf("%s: %+v", f.Path, f)
		}
	}
	// Without --legal, no legal files: imports of fusion gen's output stay
	// as they were.
	plain := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", plain, "--rows", "100", "--depts", "gongan,scjg"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	if _, err := os.Stat(filepath.Join(plain, "exports", "scjg_legal.xlsx")); !os.IsNotExist(err) {
		t.Errorf("gen without --legal wrote a legal file (%v)", err)
	}
}
