package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
		             (SELECT count(*) FROM account_lineage l WHERE l.account_id = a.id)) AS x
		      FROM account a LEFT JOIN account_lineage ln ON ln.account_id = a.id AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id) s`).
		Scan(&fingerprint, &accounts, &lineage)
	if err != nil {
		t.Fatal(err)
	}
	return fingerprint, accounts, lineage
}

// TestImportKilledMidLoad: an import process killed (SIGKILL) while its
// transaction has written accounts and lineage leaves the database as it
// was; the re-run then reaches the same end state as an uninterrupted run.
func TestImportKilledMidLoad(t *testing.T) {
	t.Parallel()
	bin := buildFusion(t)
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "20000", "--seed", "5"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "exports", "*"))
	keyFile := writeKeyFile(t)
	importCmd := func(url string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"import", "--mapping-dir", filepath.Join(dir, "mappings"), "--out", t.TempDir(), "--data-dir", t.TempDir()}, files...)...)
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

	// Hold a lock on merge_conflict: the import writes accounts and lineage,
	// then waits on it inside its transaction. Kill it there.
	url := dbtest.ConnString(t)
	holder, err := pgx.Connect(ctx, url)
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
	// pg_stat_activity is a snapshot per transaction: watch from outside it.
	monitor, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer monitor.Close(ctx)
	cmd := importCmd(url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		if err := monitor.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE '%merge_conflict%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			waiting = true
			break
		}

	}
	if !waiting {
		cmd.Process.Kill()
		t.Logf("wait: %v", cmd.Wait())
		t.Fatalf("the import never reached the conflict insert; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The killed backend's transaction is aborted when PostgreSQL notices
	// the dead connection; wait for it to go.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		monitor.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)`, holder.PgConn().PID()).Scan(&n)
		if n == 0 {
			break
		}
	}
	for _, tb := range []string{"account", "account_lineage", "import_run", "import_file", "import_reject", "merge_conflict", "source_file", "department"} {
		var n int64
		if err := holder.QueryRow(ctx, `SELECT count(*) FROM `+tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("after the kill, %s has %d rows, want 0", tb, n)
		}
	}

	// The re-run reaches the uninterrupted end state.
	if out, err := importCmd(url).CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	gotPrint, gotAccounts, _ := storeContent(t, holder)
	if gotPrint != wantPrint || gotAccounts != wantAccounts || wantAccounts == 0 {
		t.Errorf("re-run store %s (%d accounts), uninterrupted %s (%d accounts)", gotPrint, gotAccounts, wantPrint, wantAccounts)
	}
}
