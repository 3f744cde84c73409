package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
)

// buildFusion builds the fusion binary for tests that need a real process.
func buildFusion(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fusion")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func writeKeyFile(t *testing.T) string {
	t.Helper()
	key := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	b, _ := json.Marshal(pii.KeyFile{Active: "k1", Keys: map[string]string{"k1": key(3)}, BlindIndexKey: key(4)})
	p := filepath.Join(t.TempDir(), "test.key")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// storeContent fingerprints the account store without surrogate ids and
// timestamps, which differ between databases.
func storeContent(t *testing.T, conn *pgx.Conn) (fingerprint string, accounts, lineage int64) {
	t.Helper()
	err := conn.QueryRow(context.Background(), `
		SELECT coalesce(md5(string_agg(x, '|' ORDER BY x)), ''), count(*),
		       (SELECT count(*) FROM account_lineage)
		FROM (SELECT concat_ws(',', encode(a.id_bidx, 'hex'), a.name, encode(a.phone_bidx, 'hex'), a.address, a.gender,
		             a.birth_date, a.status, a.required_steps::text, fn.sha256, ln.row_num,
		             a.kind, a.legal_type, a.rep_name, encode(a.rep_id_bidx, 'hex'), a.rep_id_valid_to, a.contact_name, a.realname_status,
		             (SELECT count(*) FROM account_lineage l WHERE l.account_bidx = a.id_bidx)) AS x
		      FROM account a LEFT JOIN account_lineage ln ON ln.account_bidx = a.id_bidx AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id) s`).
		Scan(&fingerprint, &accounts, &lineage)
	if err != nil {
		t.Fatal(err)
	}
	return fingerprint, accounts, lineage
}

// TestImportKilledMidLoad: an import process killed (SIGKILL) while its
// transaction has written accounts and lineage leaves the database as it
// was; the re-run then reaches the same end state as an uninterrupted run.
// The run holds legal persons' files too. The killed run and the re-run
// spill their rows (a small --memory-limit) where the uninterrupted one
// holds them: the same end state; the sealed spill folder the killed run
// left is removed by the re-run.
func TestImportKilledMidLoad(t *testing.T) {
	t.Parallel()
	bin := buildFusion(t)
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "20000", "--seed", "5", "--legal", "2000"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "exports", "*"))
	keyFile := writeKeyFile(t)
	importCmd := func(url string, flags ...string) *exec.Cmd {
		args := append([]string{"import", "--mapping-dir", filepath.Join(dir, "mappings"), "--data-dir", t.TempDir()}, flags...)
		if !slices.Contains(flags, "--out") {
			args = append(args, "--out", t.TempDir())
		}
		cmd := exec.Command(bin, append(args, files...)...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "IDFUSION_KEY_FILE="+keyFile)
		return cmd
	}
	ctx := context.Background()

	// The uninterrupted run, for comparison.
	cleanURL := dbtest.ConnString(t)
	if out, err := importCmd(cleanURL).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted import: %v\n%s", err, out)
	}
	clean, err := pgx.Connect(ctx, cleanURL)
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close(ctx)
	wantPrint, wantAccounts, _ := storeContent(t, clean)

	url := dbtest.ConnString(t)
	outDir := t.TempDir()
	spill := []string{"--memory-limit", "24MiB", "--out", outDir}
	out, holder, _ := interruptLoad(t, url, importCmd(url, spill...), syscall.SIGKILL)
	assertEmpty(t, holder, "after the kill", out, "account", "account_lineage", "import_run", "import_file", "import_reject", "merge_conflict", "source_file", "department")
	left, _ := filepath.Glob(filepath.Join(outDir, ".spill-*", "rows-*.arrow"))
	if len(left) == 0 {
		t.Errorf("the killed run left no spilled rows: it did not spill; output:\n%s", out)
	}

	// The re-run reaches the uninterrupted end state, and removes the
	// killed run's spill folder.
	reRun, err := importCmd(url, spill...).CombinedOutput()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, reRun)
	}
	if !strings.Contains(string(reRun), "spilled to disk") {
		t.Errorf("the re-run did not spill:\n%s", reRun)
	}
	if left, _ := filepath.Glob(filepath.Join(outDir, ".spill-*")); len(left) != 0 {
		t.Errorf("after the re-run: %v", left)
	}
	gotPrint, gotAccounts, _ := storeContent(t, holder)
	if gotPrint != wantPrint || gotAccounts != wantAccounts || wantAccounts == 0 {
		t.Errorf("re-run store %s (%d accounts), uninterrupted %s (%d accounts)", gotPrint, gotAccounts, wantPrint, wantAccounts)
	}
}

// interruptLoad runs cmd (a fusion command loading into the database at
// url) and sends it sig once its load waits inside its transaction — on a
// lock of merge_conflict held meanwhile, after accounts and lineage are
// written. It returns the command's output, a connection for checks once
// the stopped backend is gone, and the command's exit.
func interruptLoad(t *testing.T, url string, cmd *exec.Cmd, sig os.Signal) (output string, conn *pgx.Conn, exit error) {
	t.Helper()
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(ctx) })
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE merge_conflict IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// pg_stat_activity is a snapshot per transaction: watch from outside it.
	monitor, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer monitor.Close(ctx)
	var out bytes.Buffer
	cmd.Stderr, cmd.Stdout = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !waiting; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := monitor.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE '%merge_conflict%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		waiting = n > 0
	}
	if !waiting {
		cmd.Process.Kill()
		t.Logf("wait: %v", cmd.Wait())
		t.Fatalf("the load never reached merge_conflict; output:\n%s", out.String())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no exit within a minute of %v; output:\n%s", sig, out.String())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The dead client's backend ends when PostgreSQL notices; wait for it.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		monitor.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)`, holder.PgConn().PID()).Scan(&n)
		if n == 0 {
			break
		}
	}
	return out.String(), holder, waitErr
}

// assertEmpty checks that tables hold no row.
func assertEmpty(t *testing.T, conn *pgx.Conn, when, output string, tables ...string) {
	t.Helper()
	for _, tb := range tables {
		var n int64
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s, %s has %d rows, want 0; output:\n%s", when, tb, n, output)
		}
	}
}
