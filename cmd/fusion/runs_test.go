package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/merge"
)

// wantRun is the run fusion runs must list for an import's ledger.
func wantRun(led merge.Ledger, forced bool) report.Run {
	r := report.Run{ID: led.RunID, Trigger: "manual", Forced: forced, Files: int64(len(led.Files)),
		Persons: led.Persons, New: led.New, Updated: led.Updated, Unchanged: led.Unchanged, Conflicts: led.Conflicts, Balanced: true}
	for _, f := range led.Files {
		r.Read += f.Read
		r.Accepted += f.Accepted
		r.Rejected += f.Rejected
		r.Lineage += f.Lineage
	}
	return r
}

// wantRunFiles are the file ledgers fusion runs --run must show.
func wantRunFiles(led merge.Ledger) []report.RunFile {
	var out []report.RunFile
	for _, f := range led.Files {
		out = append(out, report.RunFile{FileLedger: f, LineageNow: f.Accepted, RejectsStored: f.Rejected, Balanced: true})
	}
	slices.SortFunc(out, func(a, b report.RunFile) int { return strings.Compare(a.Dept+"\x00"+a.Name, b.Dept+"\x00"+b.Name) })
	return out
}

var ignoreRunTimes = cmpopts.IgnoreFields(report.Run{}, "Started", "Finished")

// TestRunsMatchImport: fusion runs lists the import with the numbers of
// the import's own JSON output, and runs --run shows its files' ledgers,
// balanced; a forced re-import is listed first, every person unchanged.
func TestRunsMatchImport(t *testing.T) {
	t.Parallel()
	im := importSample(t, 2000)
	led := im.result.Ledger
	if led.Persons != im.truth.Persons || led.New != im.truth.Persons {
		t.Errorf("import: %d persons, %d new; truth %d persons", led.Persons, led.New, im.truth.Persons)
	}

	first := wantRun(led, false)
	checkRuns(t, im, []report.Run{first})
	checkRun(t, im, first, wantRunFiles(led))

	// The same files again, forced: a second run that changes no account.
	files, _ := filepath.Glob(filepath.Join(im.dir, "exports", "*"))
	args := append([]string{"import", "--json", "--force", "--mapping-dir", filepath.Join(im.dir, "mappings"),
		"--data-dir", im.dataDir, "--out", t.TempDir()}, files...)
	code, stdout, _ := im.cli(t, args...)
	if code != exitOK {
		t.Fatalf("forced import exit code %d", code)
	}
	var res struct{ Ledger merge.Ledger }
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	again := res.Ledger
	if again.New != 0 || again.Updated != 0 || again.Unchanged != led.Persons || again.Conflicts != 0 {
		t.Errorf("forced re-import: %d new, %d updated, %d unchanged, %d conflicts; want 0, 0, %d, 0",
			again.New, again.Updated, again.Unchanged, again.Conflicts, led.Persons)
	}
	second := wantRun(again, true)
	checkRuns(t, im, []report.Run{second, first})
	checkRun(t, im, second, wantRunFiles(again))

	code, stdout, _ = im.cli(t, "runs", "--json", "--limit", "1")
	var one struct{ Runs []report.Run }
	if err := json.Unmarshal([]byte(stdout), &one); code != exitOK || err != nil {
		t.Fatalf("runs --limit 1: exit code %d, %v", code, err)
	}
	if diff := cmp.Diff([]report.Run{second}, one.Runs, ignoreRunTimes); diff != "" {
		t.Errorf("runs --limit 1 mismatch (-want +got):\n%s", diff)
	}
}

// checkRuns checks fusion runs, JSON and text.
func checkRuns(t *testing.T, im *imported, want []report.Run) {
	t.Helper()
	code, stdout, _ := im.cli(t, "runs", "--json")
	if code != exitOK {
		t.Fatalf("runs --json exit code %d", code)
	}
	var got struct{ Runs []report.Run }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("runs --json output: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(want, got.Runs, ignoreRunTimes); diff != "" {
		t.Errorf("runs --json mismatch (-want +got):\n%s", diff)
	}
	for _, r := range got.Runs {
		if r.Started.IsZero() || r.Finished.Before(r.Started) {
			t.Errorf("run %d: started %v, finished %v", r.ID, r.Started, r.Finished)
		}
	}
	code, stdout, _ = im.cli(t, "runs")
	if code != exitOK {
		t.Fatalf("runs exit code %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("runs printed %d lines, want a header and %d runs:\n%s", len(lines), len(want), stdout)
	}
	for i, r := range want {
		fields := strings.Fields(lines[i+1])
		if fields[0] != strconv.FormatInt(r.ID, 10) || fields[len(fields)-1] != "yes" {
			t.Errorf("runs line %d = %q, want run %d, balanced", i+1, lines[i+1], r.ID)
		}
	}
}

// checkRun checks fusion runs --run, JSON and text.
func checkRun(t *testing.T, im *imported, want report.Run, files []report.RunFile) {
	t.Helper()
	id := strconv.FormatInt(want.ID, 10)
	code, stdout, _ := im.cli(t, "runs", "--json", "--run", id)
	if code != exitOK {
		t.Fatalf("runs --run %s exit code %d", id, code)
	}
	var got report.RunDetail
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("runs --run output: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(report.RunDetail{Run: want, FileLedgers: files}, got, ignoreRunTimes); diff != "" {
		t.Errorf("runs --run %s mismatch (-want +got):\n%s", id, diff)
	}
	code, stdout, _ = im.cli(t, "runs", "--run", id)
	if code != exitOK || !strings.Contains(stdout, "ledger balances") {
		t.Errorf("runs --run %s: exit code %d, output:\n%s", id, code, stdout)
	}
	for _, f := range files {
		if !strings.Contains(stdout, f.Name) || !strings.Contains(stdout, f.SHA256[:12]) {
			t.Errorf("runs --run %s does not show %s (%s)", id, f.Name, f.SHA256[:12])
		}
	}
}

// TestRunUnbalanced: a run whose stored ledger does not match the store
// (here, a lineage row gone) is reported as not balancing, exit code 1.
func TestRunUnbalanced(t *testing.T) {
	t.Parallel()
	im := importSample(t, 300)
	if _, err := im.pool.Exec(t.Context(), `DELETE FROM account_lineage WHERE id = (SELECT min(id) FROM account_lineage)`); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(im.result.Ledger.RunID, 10)
	code, stdout, _ := im.cli(t, "runs", "--run", id)
	if code != exitRejects || !strings.Contains(stdout, "DOES NOT balance") {
		t.Errorf("runs --run %s: exit code %d (want %d), output:\n%s", id, code, exitRejects, stdout)
	}
	code, stdout, _ = im.cli(t, "runs", "--json", "--run", id)
	var got report.RunDetail
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	var unbalanced []string
	for _, f := range got.FileLedgers {
		if !f.Balanced {
			unbalanced = append(unbalanced, f.Name)
		}
	}
	if code != exitRejects || got.Balanced || len(unbalanced) != 1 {
		t.Errorf("runs --json --run %s: exit code %d, balanced %v, unbalanced files %v; want one", id, code, got.Balanced, unbalanced)
	}
}
