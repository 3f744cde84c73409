package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/retention"
)

// TestPurge: fusion purge, run as the importer's role, clears the personal
// data of the rejected rows of runs older than the period and deletes the
// old outputs in the folders named; newer runs and outputs keep theirs, a
// dry run changes and records nothing, the purge is recorded, and the
// ledger checks of fusion runs and of a later import still pass.
func TestPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im := &imported{dir: t.TempDir(), dataDir: t.TempDir(), url: dbtest.ConnString(t)}
	if code, _, _ := im.cli(t, "gen", "--out", im.dir, "--rows", "3000", "--depts", "gongan,renshe,minzheng"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	var err error
	if im.pool, err = pgxpool.New(ctx, im.url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.pool.Close)
	role := []string{"--db-role", "idfusion_import", "--data-dir", im.dataDir}
	outs := map[string]string{}
	load := func(dept string) {
		t.Helper()
		outs[dept] = t.TempDir()
		files, _ := filepath.Glob(filepath.Join(im.dir, "exports", dept+"_*"))
		args := append(append([]string{"import", "--mapping-dir", filepath.Join(im.dir, "mappings"), "--out", outs[dept],
			"--keep-stages", outs[dept]}, role...), files...)
		if code, _, _ := im.cli(t, args...); code != exitOK {
			t.Fatalf("import %s: exit code %d", dept, code)
		}
	}
	load("gongan") // run 1: 200 days old
	load("renshe") // run 2: 10 days old
	old, recent := time.Now().Add(-200*24*time.Hour), time.Now().Add(-10*24*time.Hour)
	if _, err := im.pool.Exec(ctx, `UPDATE import_run SET finished_at = CASE id WHEN 1 THEN $1::timestamptz ELSE $2 END`, old, recent); err != nil {
		t.Fatal(err)
	}
	for dept, mtime := range map[string]time.Time{"gongan": old, "renshe": recent} {
		entries, _ := os.ReadDir(outs[dept])
		for _, e := range entries {
			if err := os.Chtimes(filepath.Join(outs[dept], e.Name()), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	rejects := func() string { // every reject's personal fields, in order
		t.Helper()
		var s string
		if err := im.pool.QueryRow(ctx, `SELECT coalesce(string_agg(concat_ws('|', run_id, file_id, row_num, code, field, source_key, value), E'\n'
			ORDER BY run_id, file_id, row_num), '') FROM import_reject`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	personal := func(run int) (n int64) {
		t.Helper()
		if err := im.pool.QueryRow(ctx, `SELECT count(*) FROM import_reject WHERE run_id = $1 AND (source_key <> '' OR value <> '')`, run).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	listing := func(dept string) []string {
		entries, _ := os.ReadDir(outs[dept])
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	before, run1, run2 := rejects(), personal(1), personal(2)
	if run1 == 0 || run2 == 0 {
		t.Fatalf("no rejects with personal data: run 1 %d, run 2 %d", run1, run2)
	}
	gonganBefore, rensheBefore := listing("gongan"), listing("renshe")
	purge := append([]string{"purge", "--older-than", "180d", "--json", "--dir", outs["gongan"], "--dir", outs["renshe"]}, role...)

	// The dry run lists what would go and changes nothing.
	code, stdout, _ := im.cli(t, append(purge, "--dry-run")...)
	if code != exitOK {
		t.Fatalf("purge --dry-run: exit code %d", code)
	}
	var dry retention.Result
	if err := json.Unmarshal([]byte(stdout), &dry); err != nil {
		t.Fatal(err)
	}
	gonganDoomed := []string{"clean.parquet", "findings.parquet", "gongan-feedback.xlsx"}
	var wantPaths []string
	for _, f := range gonganDoomed {
		wantPaths = append(wantPaths, filepath.Join(outs["gongan"], f))
	}
	want := retention.Result{Cutoff: dry.Cutoff, RejectRows: run1, Runs: 1, Files: 3, Paths: wantPaths, DryRun: true}
	if diff := cmp.Diff(want, dry); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if rejects() != before || !slices.Equal(listing("gongan"), gonganBefore) {
		t.Error("the dry run changed the rejects or the files")
	}
	var audits int64
	if err := im.pool.QueryRow(ctx, `SELECT count(*) FROM purge_audit`).Scan(&audits); err != nil || audits != 0 {
		t.Errorf("the dry run recorded %d purges (%v)", audits, err)
	}

	// The purge.
	code, stdout, _ = im.cli(t, purge...)
	if code != exitOK {
		t.Fatalf("purge: exit code %d", code)
	}
	var res retention.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.AuditID == 0 || res.RejectRows != run1 || res.Files != 3 {
		t.Errorf("purge result %+v, want run 1's %d rejects and 3 files", res, run1)
	}
	if n := personal(1); n != 0 {
		t.Errorf("run 1 keeps %d rejects with personal data", n)
	}
	if n := personal(2); n != run2 {
		t.Errorf("run 2 keeps %d rejects with personal data, want %d", n, run2)
	}
	if diff := cmp.Diff(slices.DeleteFunc(gonganBefore, func(n string) bool { return slices.Contains(gonganDoomed, n) }), listing("gongan")); diff != "" {
		t.Errorf("gongan's outputs after the purge (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rensheBefore, listing("renshe")); diff != "" {
		t.Errorf("renshe's outputs after the purge (-want +got):\n%s", diff)
	}
	type audit struct {
		Trigger                          string
		RejectRows, Runs, Files, Folders int64
	}
	var got audit
	if err := im.pool.QueryRow(ctx, `SELECT trigger, reject_rows, runs, files, folders FROM purge_audit WHERE id = $1`, res.AuditID).Scan(
		&got.Trigger, &got.RejectRows, &got.Runs, &got.Files, &got.Folders); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(audit{Trigger: "manual", RejectRows: run1, Runs: 1, Files: 3}, got); diff != "" {
		t.Errorf("purge_audit (-want +got):\n%s", diff)
	}

	// Again: nothing left to clear, and recorded as such.
	if code, stdout, _ = im.cli(t, purge...); code != exitOK {
		t.Fatalf("second purge: exit code %d", code)
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.RejectRows != 0 || res.Files != 0 {
		t.Errorf("second purge %+v %v, want nothing", res, err)
	}

	// The ledgers still balance, and a later import checks its own.
	for _, run := range []string{"1", "2"} {
		if code, _, _ := im.cli(t, append([]string{"runs", "--run", run}, role...)...); code != exitOK {
			t.Errorf("fusion runs --run %s: exit code %d, want a balanced ledger", run, code)
		}
	}
	load("minzheng")
	if code, _, _ := im.cli(t, append([]string{"runs", "--run", "3"}, role...)...); code != exitOK {
		t.Errorf("fusion runs --run 3: exit code %d", code)
	}
}

// TestPurgeUsage: a missing or bad period exits 2.
func TestPurgeUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"purge"}, {"purge", "--older-than", "soon"}, {"purge", "--older-than", "0d"}} {
		if code, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d", args, code, exitUsage)
		}
	}
}
