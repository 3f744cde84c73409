package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// scheduleDir writes a schedule configuration over gen's mappings with
// inboxes holding a copy of gen's exports, each with its .done marker, and
// returns the configuration's path.
func scheduleDir(t *testing.T, gen string, depts []string) string {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "mapping_dir: %s\nhousekeeping:\n  - {job: purge_auth, schedule: \"@hourly\"}\ndepartments:\n", filepath.Join(gen, "mappings"))
	for _, d := range depts {
		inbox := filepath.Join(dir, "inbox", d)
		if err := os.MkdirAll(inbox, 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(gen, "exports", d+"_*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(inbox, filepath.Base(f))
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst+".done", nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&cfg, "  - {code: %s, inbox: inbox/%s, schedule: \"*/15 * * * *\"}\n", d, d)
	}
	p := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(p, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// inboxFiles lists the files under the inboxes of a schedule
// configuration, relative to them.
func inboxFiles(t *testing.T, config string) []string {
	t.Helper()
	root := filepath.Join(filepath.Dir(config), "inbox")
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return err
	})
	slices.Sort(out)
	return out
}

// TestScheduleOnceInterrupted: `fusion schedule --once` receives SIGTERM
// while its import waits inside its transaction: it exits 3 with nothing
// in the database and the files still in the inboxes; run again, it
// reaches the end state of an uninterrupted run and archives the files.
func TestScheduleOnceInterrupted(t *testing.T) {
	t.Parallel()
	bin := buildFusion(t)
	gen := t.TempDir()
	// A legal department's inbox too: the schedule imports legal persons
	// by the same run.
	if code, _ := runCLI(t, "gen", "--out", gen, "--rows", "4000", "--seed", "9", "--depts", "gongan,renshe,scjg"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	depts := []string{"gongan", "renshe", "scjg"}
	keyFile := writeKeyFile(t)
	scheduleCmd := func(url, config string) *exec.Cmd {
		cmd := exec.Command(bin, "schedule", "--once", "--config", config, "--data-dir", t.TempDir())
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "IDFUSION_KEY_FILE="+keyFile)
		return cmd
	}
	ctx := context.Background()

	// The uninterrupted run, for comparison.
	cleanURL := dbtest.ConnString(t)
	if out, err := scheduleCmd(cleanURL, scheduleDir(t, gen, depts)).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted schedule --once: %v\n%s", err, out)
	}
	clean, err := pgx.Connect(ctx, cleanURL)
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close(ctx)
	wantPrint, wantAccounts, _ := storeContent(t, clean)

	url := dbtest.ConnString(t)
	config := scheduleDir(t, gen, depts)
	dropped := inboxFiles(t, config)
	output, holder, err := interruptLoad(t, url, scheduleCmd(url, config), syscall.SIGTERM)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInternal {
		t.Errorf("exit: %v, want code %d; output:\n%s", err, exitInternal, output)
	}
	if !strings.Contains(output, "interrupted") {
		t.Errorf("output does not say it was interrupted:\n%s", output)
	}
	assertEmpty(t, holder, "after SIGTERM", output, "account", "account_lineage", "import_run", "import_file", "import_reject", "merge_conflict", "source_file")
	if diff := cmp.Diff(dropped, inboxFiles(t, config)); diff != "" {
		t.Errorf("files moved although nothing committed (-dropped +now):\n%s", diff)
	}

	// Run again: the uninterrupted end state, and the files archived.
	if out, err := scheduleCmd(url, config).CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	gotPrint, gotAccounts, _ := storeContent(t, holder)
	if gotPrint != wantPrint || gotAccounts != wantAccounts || wantAccounts == 0 {
		t.Errorf("re-run store %s (%d accounts), uninterrupted %s (%d accounts)", gotPrint, gotAccounts, wantPrint, wantAccounts)
	}
	var legal int
	if err := holder.QueryRow(ctx, `SELECT count(*) FROM account WHERE kind = 'legal'`).Scan(&legal); err != nil || legal == 0 {
		t.Errorf("legal accounts after the scheduled run: %d %v", legal, err)
	}
	for _, f := range inboxFiles(t, config) {
		if parts := strings.Split(filepath.ToSlash(f), "/"); len(parts) != 4 || parts[1] != "archive" {
			t.Errorf("%s not archived after the re-run", f)
		}
	}

	// fusion runs shows the trigger.
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, log: slog.New(slog.DiscardHandler), getenv: func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}}
	if code := run(ctx, e, []string{"runs", "--data-dir", t.TempDir()}); code != exitOK {
		t.Fatalf("runs: exit code %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), " schedule "); n != len(depts) {
		t.Errorf("fusion runs lists %d scheduled runs, want %d:\n%s", n, len(depts), out.String())
	}
}

// TestScheduleUsage: a missing or wrong configuration exits 2 and names
// the field.
func TestScheduleUsage(t *testing.T) {
	t.Parallel()
	if code, _ := runCLI(t, "schedule"); code != exitUsage {
		t.Errorf("no --config: exit code %d, want %d", code, exitUsage)
	}
	dir := t.TempDir()
	for _, d := range []string{"inbox", "mappings"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mapping := "department: {code: gongan, name: 省公安厅}\npriority: 1\ncolumns: {name: 姓名, id_number: 身份证号}\n"
	if err := os.WriteFile(filepath.Join(dir, "mappings", "gongan.yaml"), []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(p, []byte("mapping_dir: mappings\ndepartments:\n  - {code: gongan, inbox: inbox, schedule: \"every day\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, log: slog.New(slog.DiscardHandler), getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"schedule", "--config", p}); code != exitUsage ||
		!strings.Contains(errb.String(), p) || !strings.Contains(errb.String(), "departments[0].schedule") {
		t.Errorf("bad config: exit code %d (want %d), stderr %q does not name the file and the field", code, exitUsage, errb.String())
	}
}
