package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/sample"
)

// runOf returns the id of the run that imported dept's files.
func runOf(t *testing.T, b *testBundle, dept string) int64 {
	t.Helper()
	return count(t, b.pool, `SELECT max(run_id) FROM import_file WHERE dept = $1`, dept)
}

// TestRunOnceImportsInboxes: files dropped into two inboxes (one settled,
// one fresh but with its .done marker) are imported by one RunOnce, one
// run per department with trigger schedule, and moved with their marker to
// archive/run-<id>/ beside the run report and the feedback workbook.
func TestRunOnceImportsInboxes(t *testing.T) {
	t.Parallel()
	b := setup(t, 600, "gongan", "weijian")
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_2026-03.csv", b.settled())
	b.drop(t, b.export(t, "weijian"), "weijian", "users.xlsx", b.clock.Now())
	if err := os.WriteFile(filepath.Join(b.inbox("weijian"), "users.xlsx.done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}

	for dept, file := range map[string]string{"gongan": "gongan_2026-03.csv", "weijian": "users.xlsx"} {
		run := runOf(t, b, dept)
		dir := fmt.Sprintf("archive/run-%d/", run)
		want := []string{dir + dept + "-feedback.xlsx", dir + file, dir + fmt.Sprintf("run-%d.json", run)}
		if dept == "weijian" {
			want = append(want, dir+file+".done")
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, tree(t, b.inbox(dept))); diff != "" {
			t.Errorf("%s inbox mismatch (-want +got):\n%s", dept, diff)
		}
		var report pipeline.ImportResult
		raw, err := os.ReadFile(filepath.Join(b.inbox(dept), dir, fmt.Sprintf("run-%d.json", run)))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &report); err != nil {
			t.Fatal(err)
		}
		if report.Ledger.RunID != run || len(report.Ledger.Files) != 1 || report.Ledger.Files[0].Name != file {
			t.Errorf("%s: run report %+v, want run %d of %s", dept, report.Ledger, run, file)
		}
		if got := summaryFiles(t, filepath.Join(b.inbox(dept), dir, dept+"-feedback.xlsx")); got[file] != "" || len(got) != 1 {
			t.Errorf("%s feedback summary %v, want %s read without a problem", dept, got, file)
		}
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run WHERE trigger = 'schedule'`); n != 2 {
		t.Errorf("%d scheduled runs, want 2 (one per department)", n)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run`); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM account`); n != b.truth.Persons || n == 0 {
		t.Errorf("%d accounts, want %d", n, b.truth.Persons)
	}

	// The next tick finds nothing to do and changes nothing.
	before := tree(t, filepath.Join(b.dir, "inbox"))
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, tree(t, filepath.Join(b.dir, "inbox"))); diff != "" {
		t.Errorf("an empty tick moved files (-before +after):\n%s", diff)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run`); n != 2 {
		t.Errorf("%d runs after an empty tick, want 2", n)
	}
}

// TestHalfWrittenFileWaits: a file modified just now without a marker is
// left untouched until it is older than settle, or until its marker
// appears; dotfiles, partial uploads and stray markers are never taken.
func TestHalfWrittenFileWaits(t *testing.T) {
	t.Parallel()
	b := setup(t, 300, "gongan")
	src := b.export(t, "gongan")
	// Half of the file, as an uploader leaves it mid-way.
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(b.inbox("gongan"), "gongan_a.csv")
	if err := os.WriteFile(half, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(half, b.clock.Now(), b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".gongan_b.csv.part", "gongan_c.csv.filepart", "orphan.csv.done"} {
		b.drop(t, src, "gongan", name, b.settled())
	}
	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantWaiting := []string{".gongan_b.csv.part", "gongan_a.csv", "gongan_c.csv.filepart", "orphan.csv.done"}
	if diff := cmp.Diff(wantWaiting, tree(t, b.inbox("gongan"))); diff != "" {
		t.Fatalf("inbox after the first tick mismatch (-want +got):\n%s", diff)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run`); n != 0 {
		t.Fatalf("%d runs, want none", n)
	}
	if !strings.Contains(b.logs.String(), `"msg":"file_waiting","dept":"gongan","file":"gongan_a.csv"`) {
		t.Errorf("no file_waiting logged:\n%s", b.logs.String())
	}

	// The upload finishes (the file is modified again) 30 s later: still
	// within settle at the next tick.
	b.clock.Add(30 * time.Second)
	copyTo(t, src, half)
	if err := os.Chtimes(half, b.clock.Now(), b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(59 * time.Second)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantWaiting, tree(t, b.inbox("gongan"))); diff != "" {
		t.Fatalf("inbox 59 s after the last write mismatch (-want +got):\n%s", diff)
	}
	// A minute after the last write it is taken, whole.
	b.clock.Add(time.Second)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := runOf(t, b, "gongan")
	dir := fmt.Sprintf("archive/run-%d/", run)
	want := []string{".gongan_b.csv.part", dir + "gongan-feedback.xlsx", dir + "gongan_a.csv", dir + fmt.Sprintf("run-%d.json", run), "gongan_c.csv.filepart", "orphan.csv.done"}
	if diff := cmp.Diff(want, tree(t, b.inbox("gongan"))); diff != "" {
		t.Fatalf("inbox after settle mismatch (-want +got):\n%s", diff)
	}
	var tf sample.TruthFile
	for _, f := range b.truth.Files {
		tf = f
	}
	if n := count(t, b.pool, `SELECT rows_read FROM import_file`); n != tf.Rows {
		t.Errorf("imported %d rows, want the whole file's %d", n, tf.Rows)
	}

	// A fresh file with its marker is taken at once.
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_b.csv", b.clock.Now())
	if err := os.WriteFile(filepath.Join(b.inbox("gongan"), "gongan_b.csv.done"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Same bytes as gongan_a.csv: imported before, so archived by date.
	for _, p := range []string{"archive/" + baseDay + "/gongan_b.csv", "archive/" + baseDay + "/gongan_b.csv.done"} {
		if _, err := os.Stat(filepath.Join(b.inbox("gongan"), p)); err != nil {
			t.Errorf("marked file not archived: %v", err)
		}
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run`); n != 1 {
		t.Errorf("%d runs, want 1 (the second file was imported before)", n)
	}
}

// TestUnusableFiles: a workbook that is not a zip and a CSV without the
// mapping's ID column land in rejected/<date>/ with the feedback workbook
// saying why; the good file of the same tick and the other department's
// file are imported.
func TestUnusableFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, 400, "gongan", "weijian")
	old := b.settled()
	b.drop(t, b.export(t, "weijian"), "weijian", "weijian_good.xlsx", old)
	bad := filepath.Join(b.inbox("weijian"), "weijian_broken.xlsx")
	if err := os.WriteFile(bad, []byte("this is not a zip archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(bad, old, old)
	missing := filepath.Join(b.inbox("gongan"), "gongan_missing.csv")
	if err := os.WriteFile(missing, []byte("人员编号,姓名\nGA1,张三\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(missing, old, old)

	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatalf("RunOnce: %v (an unusable file is the department's problem, not a failed tick)", err)
	}

	// gongan: nothing usable, no run; the file and the why in rejected/.
	rej := "rejected/" + baseDay + "/"
	if diff := cmp.Diff([]string{rej + "gongan-feedback.xlsx", rej + "gongan_missing.csv"}, tree(t, b.inbox("gongan"))); diff != "" {
		t.Errorf("gongan inbox mismatch (-want +got):\n%s", diff)
	}
	why := summaryFiles(t, filepath.Join(b.inbox("gongan"), rej, "gongan-feedback.xlsx"))
	if p := why["gongan_missing.csv"]; !strings.Contains(p, "文件缺少约定的列") || !strings.Contains(p, "公民身份号码") {
		t.Errorf("gongan feedback says %q, want the missing column named", p)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_file WHERE dept = 'gongan'`); n != 0 {
		t.Errorf("gongan has %d imported files, want 0", n)
	}

	// weijian: the good file imported, the broken one rejected; the
	// workbook is in both places.
	run := runOf(t, b, "weijian")
	arc := fmt.Sprintf("archive/run-%d/", run)
	want := []string{arc + fmt.Sprintf("run-%d.json", run), arc + "weijian-feedback.xlsx", arc + "weijian_good.xlsx",
		rej + "weijian-feedback.xlsx", rej + "weijian_broken.xlsx"}
	if diff := cmp.Diff(want, tree(t, b.inbox("weijian"))); diff != "" {
		t.Errorf("weijian inbox mismatch (-want +got):\n%s", diff)
	}
	why = summaryFiles(t, filepath.Join(b.inbox("weijian"), rej, "weijian-feedback.xlsx"))
	if p := why["weijian_broken.xlsx"]; !strings.Contains(p, "文件无法读取") || why["weijian_good.xlsx"] != "" {
		t.Errorf("weijian feedback %v, want the broken file explained and the good one without a problem", why)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM account`); n == 0 {
		t.Error("no accounts imported")
	}
	m := metricLines(t, s)
	for series, want := range map[string]float64{
		`fusion_schedule_files_total{dept="gongan",outcome="rejected"}`:  1,
		`fusion_schedule_files_total{dept="gongan",outcome="imported"}`:  0,
		`fusion_schedule_files_total{dept="weijian",outcome="rejected"}`: 1,
		`fusion_schedule_files_total{dept="weijian",outcome="imported"}`: 1,
		`fusion_schedule_runs_total{dept="gongan",outcome="ok"}`:         1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
}

// TestConcurrentSchedulers: two schedulers on their own pools (as two
// processes would be) run RunOnce at the same time over the same inboxes,
// round after round with new files and a file imported before: no file is
// imported twice and every file ends in exactly one place.
func TestConcurrentSchedulers(t *testing.T) {
	t.Parallel()
	depts := []string{"gongan", "renshe"}
	b := setup(t, 200, depts...)
	s1, s2 := b.scheduler(t, b.pool), b.scheduler(t, b.newPool(t))
	dropped := map[string]string{} // dept/name → sha of content dropped
	distinct := map[string]bool{}  // dept/sha
	for round := range 4 {
		gen := t.TempDir()
		truth, err := sample.Generate(context.Background(), sample.Config{Dir: gen, Rows: 150, Seed: uint64(100 + round), Depts: depts})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range truth.Files {
			name := fmt.Sprintf("%s_round%d%s", f.Dept, round, filepath.Ext(f.Path))
			b.drop(t, filepath.Join(gen, f.Path), f.Dept, name, b.settled())
			dropped[f.Dept+"/"+name] = ""
			distinct[f.Dept+"/"+sha(t, filepath.Join(gen, f.Path))] = true
		}
		if round == 2 { // again, under another name: imported before
			b.drop(t, b.export(t, "gongan"), "gongan", "gongan_again.csv", b.settled())
			dropped["gongan/gongan_again.csv"] = ""
		}
		if round == 0 {
			b.drop(t, b.export(t, "gongan"), "gongan", "gongan_first.csv", b.settled())
			dropped["gongan/gongan_first.csv"] = ""
			distinct["gongan/"+sha(t, b.export(t, "gongan"))] = true
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*Scheduler{s1, s2} {
			wg.Go(func() { errs[i] = s.RunOnce(context.Background()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		b.clock.Add(time.Hour)
	}

	// Every dropped file is in exactly one place, and not in the inbox.
	seen := map[string][]string{}
	for _, d := range depts {
		for _, p := range tree(t, b.inbox(d)) {
			name := filepath.Base(p)
			if _, ok := dropped[d+"/"+name]; ok {
				seen[d+"/"+name] = append(seen[d+"/"+name], p)
			}
		}
	}
	for k := range dropped {
		if len(seen[k]) != 1 || !strings.HasPrefix(seen[k][0], "archive/") {
			t.Errorf("%s is at %v, want exactly one place under archive/", k, seen[k])
		}
	}
	rows, err := b.pool.Query(context.Background(), `SELECT dept || '/' || sha256, count(*) FROM import_file GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for k := range distinct {
		want[k] = 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("import_file rows per file mismatch (-want +got):\n%s", diff)
	}
	// Both schedulers took part, and what one held the other skipped.
	m1, m2 := metricLines(t, s1), metricLines(t, s2)
	var ok, skipped float64
	for _, m := range []map[string]float64{m1, m2} {
		for _, d := range depts {
			ok += m[fmt.Sprintf(`fusion_schedule_runs_total{dept=%q,outcome="ok"}`, d)]
			skipped += m[fmt.Sprintf(`fusion_schedule_runs_total{dept=%q,outcome="skipped"}`, d)]
		}
	}
	if ok+skipped != 16 || ok < 8 {
		t.Errorf("ticks: %v ok + %v skipped, want 16 with at least 8 ok", ok, skipped)
	}
	t.Logf("%v ticks ok, %v skipped for the other scheduler's lock", ok, skipped)
}

// TestLockedDepartmentSkipped: while another session holds a department's
// lock, the tick is skipped (logged and counted) and the files stay.
func TestLockedDepartmentSkipped(t *testing.T) {
	t.Parallel()
	b := setup(t, 200, "gongan")
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_x.csv", b.settled())
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext('gongan'))`, lockSchedule); err != nil {
		t.Fatal(err)
	}
	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gongan_x.csv"}, tree(t, b.inbox("gongan"))); diff != "" {
		t.Errorf("inbox mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(b.logs.String(), `"msg":"tick_skipped","dept":"gongan"`) {
		t.Errorf("no tick_skipped logged:\n%s", b.logs.String())
	}
	if v := metricLines(t, s)[`fusion_schedule_runs_total{dept="gongan",outcome="skipped"}`]; v != 1 {
		t.Errorf("skipped ticks %v, want 1", v)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext('gongan'))`, lockSchedule); err != nil {
		t.Fatal(err)
	}
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_file`); n != 1 {
		t.Errorf("%d files imported once the lock is free, want 1", n)
	}
}

// TestImportFailureMovesNothing: an import cancelled while its transaction
// waits inside PostgreSQL rolls back, moves nothing and leaves no pending
// folder; the next tick imports the files.
func TestImportFailureMovesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, 300, "gongan")
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_x.csv", b.settled())
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE merge_conflict IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	s := b.scheduler(t, b.pool)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.RunOnce(runCtx) }()
	waitForLockWait(t, b, "merge_conflict")
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunOnce: %v, want cancelled", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gongan_x.csv"}, tree(t, b.inbox("gongan"))); diff != "" {
		t.Errorf("inbox after the failed import mismatch (-want +got):\n%s", diff)
	}
	for _, tb := range []string{"import_run", "import_file", "account", "account_lineage"} {
		if n := count(t, b.pool, `SELECT count(*) FROM `+tb); n != 0 {
			t.Errorf("%s has %d rows after the cancelled import, want 0", tb, n)
		}
	}
	if v := metricLines(t, s)[`fusion_schedule_runs_total{dept="gongan",outcome="error"}`]; v != 1 {
		t.Errorf("error ticks %v, want 1", v)
	}
	archive := filepath.Join(b.inbox("gongan"), "archive")
	if left, _ := os.ReadDir(archive); len(left) != 0 {
		t.Errorf("archive/ holds %v after the failed import, want nothing", left)
	}
	// What a scheduler killed mid-import leaves is cleared by the next one.
	stale := filepath.Join(archive, ".pending-123")
	if err := os.MkdirAll(stale, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "gongan-feedback.xlsx"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b.pool, `SELECT count(*) FROM account`); n != b.truth.Persons {
		t.Errorf("%d accounts after the next tick, want %d", n, b.truth.Persons)
	}
	run := runOf(t, b, "gongan")
	dir := fmt.Sprintf("archive/run-%d/", run)
	if diff := cmp.Diff([]string{dir + "gongan-feedback.xlsx", dir + "gongan_x.csv", dir + fmt.Sprintf("run-%d.json", run)}, tree(t, b.inbox("gongan"))); diff != "" {
		t.Errorf("inbox after the next tick mismatch (-want +got):\n%s", diff)
	}
}

// waitForLockWait waits until a session of the bundle's database waits for
// a lock in a statement that names table.
func waitForLockWait(t *testing.T, b *testBundle, table string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n := count(t, b.pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE '%' || $1 || '%'`, table)
		if n > 0 {
			return
		}
	}
	t.Fatalf("no statement ever waited on %s; log:\n%s", table, b.logs.String())
}

// TestRunTicksAndStops: Run takes files on the cron schedule (every
// second here) and returns once ctx is done.
func TestRunTicksAndStops(t *testing.T) {
	t.Parallel()
	b := setup(t, 200, "gongan")
	cfg := writeConfig(t, b.dir, "mapping_dir: mappings\ntime_zone: UTC\nsettle: 0s\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"@every 1s\"}\n")
	s, err := New(b.pool, cfg, Options{Keyring: testKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_x.csv", time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	imported := false
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && !imported; time.Sleep(50 * time.Millisecond) {
		_, err := os.Stat(filepath.Join(b.inbox("gongan"), "gongan_x.csv"))
		imported = errors.Is(err, os.ErrNotExist)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if !imported {
		t.Fatal("the file was never taken")
	}
	if n := count(t, b.pool, `SELECT count(*) FROM import_run WHERE trigger = 'schedule'`); n != 1 {
		t.Errorf("%d scheduled runs, want 1", n)
	}
}

// TestOverlappingTickSkipped: a cron tick that comes while the entry's
// previous run is still going is skipped, logged and counted, not queued.
func TestOverlappingTickSkipped(t *testing.T) {
	t.Parallel()
	b := setup(t, 100, "gongan")
	cfg := writeConfig(t, b.dir, "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"@hourly\"}\n"+
		"housekeeping:\n  - {job: slow, schedule: \"@every 1m\"}\n")
	started, release := make(chan struct{}), make(chan struct{})
	runs := 0
	s, err := New(b.pool, cfg, Options{Keyring: testKeyring(t), Logger: slog.New(slog.NewJSONHandler(b.logs, nil)),
		Housekeeping: map[string]func(context.Context) error{"slow": func(context.Context) error {
			runs++
			close(started)
			<-release
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	entry := s.cronJob(context.Background(), s.jobs[1])
	done := make(chan struct{})
	go func() { entry.Run(); close(done) }()
	<-started
	entry.Run() // the next tick, while the first still runs: returns at once
	close(release)
	<-done
	if runs != 1 {
		t.Errorf("the job ran %d times, want 1", runs)
	}
	if !strings.Contains(b.logs.String(), `"msg":"tick_skipped","job":"slow"`) {
		t.Errorf("no tick_skipped logged:\n%s", b.logs.String())
	}
	m := metricLines(t, s)
	for series, want := range map[string]float64{
		`fusion_schedule_housekeeping_runs_total{job="slow",outcome="ok"}`:      1,
		`fusion_schedule_housekeeping_runs_total{job="slow",outcome="skipped"}`: 1,
		`fusion_schedule_job_duration_seconds_count{job="slow"}`:                1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
}

// TestSymlinkedInboxFolder: an archive/ or rejected/ that the sender made
// a symlink to a folder outside the inbox fails the tick before anything
// is imported; nothing is written outside the inbox and the files stay.
func TestSymlinkedInboxFolder(t *testing.T) {
	t.Parallel()
	for _, folder := range []string{archiveDir, rejectedDir} {
		t.Run(folder, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 100, "gongan")
			b.drop(t, b.export(t, "gongan"), "gongan", "gongan_x.csv", b.settled())
			broken := filepath.Join(b.inbox("gongan"), "gongan_broken.csv")
			if err := os.WriteFile(broken, []byte("人员编号,姓名\nGA1,张三\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(broken, b.settled(), b.settled())
			outside := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(b.inbox("gongan"), folder)); err != nil {
				t.Fatal(err)
			}
			s := b.scheduler(t, b.pool)
			if err := s.RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "not a folder") {
				t.Errorf("RunOnce: %v, want the symlinked %s refused", err, folder)
			}
			if got := tree(t, outside); len(got) != 0 {
				t.Errorf("written outside the inbox: %v", got)
			}
			if n := count(t, b.pool, `SELECT count(*) FROM import_run`); n != 0 {
				t.Errorf("%d runs, want none", n)
			}
			for _, f := range []string{"gongan_x.csv", "gongan_broken.csv"} {
				if _, err := os.Lstat(filepath.Join(b.inbox("gongan"), f)); err != nil {
					t.Errorf("%s left the inbox: %v", f, err)
				}
			}
		})
	}
}

// TestReportCopyIsThisRun: when archive/run-<id>/ already holds a
// run-<id>.json (the database was recreated or restored, and run ids start
// again), the report is moved beside it under a free name, and out_dir gets
// this run's report, not the old one.
func TestReportCopyIsThisRun(t *testing.T) {
	t.Parallel()
	b := setup(t, 100, "gongan")
	b.cfg = writeConfig(t, b.dir, "mapping_dir: mappings\nout_dir: out\ndepartments:\n  - {code: gongan, inbox: inbox/gongan, schedule: \"@hourly\"}\n")
	for id := 1; id <= 5; id++ {
		dir := filepath.Join(b.inbox("gongan"), archiveDir, fmt.Sprintf("run-%d", id))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("run-%d.json", id)), []byte(`{"ledger":{"run_id":-1}}`), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	b.drop(t, b.export(t, "gongan"), "gongan", "gongan_x.csv", b.settled())
	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := runOf(t, b, "gongan")
	if run > 5 {
		t.Fatalf("run id %d: the test's old reports do not collide", run)
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("run-%d.json", run)}, tree(t, filepath.Join(b.dir, "out"))); diff != "" {
		t.Fatalf("out_dir mismatch (-want +got):\n%s", diff)
	}
	raw, err := os.ReadFile(filepath.Join(b.dir, "out", fmt.Sprintf("run-%d.json", run)))
	if err != nil {
		t.Fatal(err)
	}
	var report pipeline.ImportResult
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	if report.Ledger.RunID != run {
		t.Errorf("out_dir's report is of run %d, want %d", report.Ledger.RunID, run)
	}
}

// TestInboxPathWithGlobCharacters: a pending folder left by a scheduler
// that died is removed even when the inbox's path holds characters that
// are special to filepath.Glob.
func TestInboxPathWithGlobCharacters(t *testing.T) {
	t.Parallel()
	b := setup(t, 100, "gongan")
	inbox := filepath.Join(b.dir, "inbox", "gongan[1]")
	if err := os.MkdirAll(filepath.Join(inbox, archiveDir, ".pending-123"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, archiveDir, ".pending-123", "gongan-feedback.xlsx"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	b.cfg = writeConfig(t, b.dir, "mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: \"inbox/gongan[1]\", schedule: \"@hourly\"}\n")
	copyTo(t, b.export(t, "gongan"), filepath.Join(inbox, "gongan_x.csv"))
	os.Chtimes(filepath.Join(inbox, "gongan_x.csv"), b.settled(), b.settled())
	s := b.scheduler(t, b.pool)
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	run := runOf(t, b, "gongan")
	dir := fmt.Sprintf("archive/run-%d/", run)
	want := []string{dir + "gongan-feedback.xlsx", dir + "gongan_x.csv", dir + fmt.Sprintf("run-%d.json", run)}
	if diff := cmp.Diff(want, tree(t, inbox)); diff != "" {
		t.Errorf("inbox mismatch (-want +got):\n%s", diff)
	}
}
