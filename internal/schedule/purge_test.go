package schedule

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestPurgeRejectsJob: the purge_rejects job, run by a scheduler connected
// as a member of the importer's role, clears the personal data of rejected
// rows of runs finished before the period and deletes the inbox folders
// the scheduler wrote before it; newer runs and folders, and what is not
// the scheduler's, stay. The purge is recorded.
func TestPurgeRejectsJob(t *testing.T) {
	t.Parallel()
	b := setup(t, 3000, "gongan", "renshe")
	b.cfg = writeConfig(t, b.dir, "mapping_dir: mappings\nsettle: 1m\ndepartments:\n"+
		"  - {code: gongan, inbox: inbox/gongan, schedule: \"@every 10m\"}\n"+
		"  - {code: renshe, inbox: inbox/renshe, schedule: \"@every 10m\"}\n"+
		"housekeeping:\n  - {job: purge_rejects, schedule: \"@daily\", older_than: 180d}\n")
	importer, err := pgxpool.New(context.Background(), dbtest.MemberConnString(t, b.url, "idfusion_import"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(importer.Close)
	s := b.scheduler(t, importer)
	ctx := context.Background()

	b.drop(t, b.export(t, "gongan"), "gongan", "gongan.csv", b.settled())
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	b.drop(t, b.export(t, "renshe"), "renshe", "renshe.csv", b.settled())
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Run 1 (gongan) finished 200 days before the clock, run 2 (renshe) a
	// day before; their folders alike.
	old, recent := b.clock.Now().Add(-200*24*time.Hour), b.clock.Now().Add(-24*time.Hour)
	if _, err := b.pool.Exec(ctx, `UPDATE import_run SET finished_at = CASE id WHEN 1 THEN $1::timestamptz ELSE $2 END`, old, recent); err != nil {
		t.Fatal(err)
	}
	gongan, renshe := b.inbox("gongan"), b.inbox("renshe")
	mkdirOld := func(dir string, mtime time.Time, files ...string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mkdirOld(filepath.Join(gongan, "rejected", "2025-08-01"), old, "bad.csv", "gongan-feedback.xlsx")
	mkdirOld(filepath.Join(gongan, "archive", "notes"), old, "keep.txt")    // not the scheduler's
	mkdirOld(filepath.Join(b.dir, "outside", "run-7"), old, "precious.csv") // a symlink's target
	if err := os.Symlink(filepath.Join(b.dir, "outside", "run-7"), filepath.Join(gongan, "archive", "run-7")); err != nil {
		t.Fatal(err)
	}
	for dir, mtime := range map[string]time.Time{filepath.Join(gongan, "archive", "run-1"): old, filepath.Join(renshe, "archive", "run-2"): recent} {
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	personal := func(run int) int64 {
		return count(t, b.pool, `SELECT count(*) FROM import_reject WHERE run_id = $1 AND (source_key <> '' OR value <> '')`, run)
	}
	rejects1, rejects2 := count(t, b.pool, `SELECT count(*) FROM import_reject WHERE run_id = 1`), personal(2)
	if personal(1) == 0 || rejects2 == 0 {
		t.Fatalf("the sample has no rejects with personal data: run 1 %d, run 2 %d", personal(1), rejects2)
	}
	filesRun1 := int64(len(tree(t, filepath.Join(gongan, "archive", "run-1"))))

	if err := s.RunOnce(ctx); err != nil { // no new files: only the purge does something
		t.Fatal(err)
	}
	if n := personal(1); n != 0 {
		t.Errorf("run 1 keeps %d rejects with personal data", n)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_reject WHERE run_id = 1`); n != rejects1 {
		t.Errorf("run 1 has %d rejects after the purge, want %d (kept, cleared)", n, rejects1)
	}
	if n := personal(2); n != rejects2 {
		t.Errorf("run 2 keeps %d rejects with personal data, want %d", n, rejects2)
	}
	if diff := cmp.Diff([]string{"archive/notes/keep.txt", "archive/run-7"}, tree(t, gongan)); diff != "" {
		t.Errorf("gongan's inbox after the purge (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "outside", "run-7", "precious.csv")); err != nil {
		t.Errorf("the symlink's target: %v", err)
	}
	if len(tree(t, filepath.Join(renshe, "archive", "run-2"))) == 0 {
		t.Error("run 2's archive was deleted")
	}
	type audit struct {
		Trigger                  string
		RejectRows, Runs         int64
		Files, Folders           int64
		OlderThan, CutoffAtClock bool
	}
	var got audit
	if err := b.pool.QueryRow(ctx, `SELECT trigger, reject_rows, runs, files, folders, older_than = interval '180 days', cutoff = $1
		FROM purge_audit ORDER BY id DESC LIMIT 1`, b.clock.Now().Add(-180*24*time.Hour)).Scan(
		&got.Trigger, &got.RejectRows, &got.Runs, &got.Files, &got.Folders, &got.OlderThan, &got.CutoffAtClock); err != nil {
		t.Fatal(err)
	}
	want := audit{Trigger: "schedule", RejectRows: rejects1, Runs: 1, Files: filesRun1 + 2, Folders: 2, OlderThan: true, CutoffAtClock: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("purge_audit (-want +got):\n%s", diff)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM purge_audit`); n != 3 {
		t.Errorf("%d purges recorded, want 3 (one per run of the job)", n)
	}
}
