package pipeline

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/merge"
	"github.com/idfusion/idfusion/schemas"
)

func validID(region, birth string, seq int) string {
	first := fmt.Sprintf("%s%s%03d", region, birth, seq)
	return first + string(cleanse.IDCheckChar(first))
}

func failMapping(t *testing.T, code string, prio int, extra string) *schemas.Mapping {
	t.Helper()
	m, err := schemas.ParseMapping(code+".yaml", fmt.Appendf(nil, `
department: {code: %s, name: 部门%s}
priority: %d
columns: {source_key: 编号, name: 姓名, id_number: 身份证号, phone: 手机号, address: 地址}
%s`, code, code, prio, extra))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func failCSV(t *testing.T, path string, rows [][]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("编号,姓名,身份证号,手机号,地址\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// brokenXLSX writes rows as a workbook, then corrupts the sheet XML with
// edit, the way a damaged export arrives.
func brokenXLSX(t *testing.T, path string, rows [][]string, edit func(string) string) string {
	t.Helper()
	f := excelize.NewFile()
	hdr := []any{"编号", "姓名", "身份证号", "手机号", "地址"}
	f.SetSheetRow("Sheet1", "A1", &hdr)
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = v
		}
		f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+2), &cells)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if zf.Name == "xl/worksheets/sheet1.xml" {
			b = []byte(edit(string(b)))
		}
		w, _ := zw.Create(zf.Name)
		w.Write(b)
	}
	zw.Close()
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportFileFailingMidRead: a file that breaks after some of its
// batches were read contributes nothing (no account, lineage, reject), is
// reported unusable, and its department's workbook says why; the other
// files of the run load.
func TestImportFileFailingMidRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ga, rs := failMapping(t, "ga", 1, ""), failMapping(t, "rs", 2, "")
	rows := [][]string{{"K0", "张三", "123", "", ""}, {"K1", "张三", "", "12345", ""}} // a reject and a warning
	for i := range 4 {
		rows = append(rows, []string{fmt.Sprintf("K%d", i+2), "张三", validID("110105", "19800101", 10+i*2), "13912340000", "北京"})
	}
	bad := brokenXLSX(t, filepath.Join(dir, "ga_bad.xlsx"), rows, func(s string) string {
		return strings.Replace(s, `<row r="6"`, `<row r="x6"`, 1)
	})
	good := failCSV(t, filepath.Join(dir, "rs_good.csv"), [][]string{{"G1", "李四", validID("110105", "19900101", 31), "", "海口"}})
	pool := dbtest.New(t)
	out := t.TempDir()
	res, err := Import(context.Background(), pool, []Input{{bad, ga}, {good, rs}},
		ImportConfig{Keyring: testKeyring(t), OutDir: out, Options: Options{BatchRows: 2, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unusable() || len(res.Ledger.Files) != 1 || res.Ledger.Files[0].Dept != "rs" {
		t.Fatalf("want the broken file unusable and only rs loaded: %+v", res.Ledger.Files)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM account`:         1,
		`SELECT count(*) FROM account_lineage`: 1,
		`SELECT count(*) FROM import_reject`:   0,
	} {
		var n int64
		if err := pool.QueryRow(context.Background(), q).Scan(&n); err != nil || n != want {
			t.Errorf("%s = %d (%v), want %d", q, n, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "ga-feedback.xlsx")); err != nil {
		t.Errorf("the department of the broken file got no feedback: %v", err)
	}
}

// TestImportForceAfterMappingChange: a forced re-import whose results
// differ from the first import is refused, and nothing changes.
func TestImportForceAfterMappingChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := failCSV(t, filepath.Join(dir, "ga_users.csv"), [][]string{
		{"K1", "张三", validID("110105", "19800101", 11), "13912340000", "北京"},
		{"K2", "李四", validID("110105", "19800101", 13), "", "北京"},
	})
	pool := dbtest.New(t)
	importInto(t, pool, []Input{{path, failMapping(t, "ga", 1, "")}}, false)
	before := checksums(t, pool, append(domainTables, runTables...)...)
	_, err := Import(context.Background(), pool, []Input{{path, failMapping(t, "ga", 1, "required: [phone]")}},
		ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir(), Force: true})
	if !errors.Is(err, merge.ErrForceChanged) {
		t.Fatalf("forced re-import with another mapping: error %v, want ErrForceChanged", err)
	}
	after := checksums(t, pool, append(domainTables, runTables...)...)
	for tb, sum := range before {
		if after[tb] != sum {
			t.Errorf("table %s changed", tb)
		}
	}
}

// TestImportCancelledMidLoad: Ctrl-C (a cancelled context) while the run's
// transaction has written accounts and lineage leaves every table as it
// was.
func TestImportCancelledMidLoad(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	ctx := context.Background()
	all := append(slices.Clone(domainTables), runTables...)
	before := checksums(t, pool, all...)

	// The run writes accounts and lineage, then waits on this lock.
	holder := holdLock(t, ctx, pool, "merge_conflict")
	importCancelledAt(t, ctx, pool, "%merge_conflict%", s.inputs, ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir()})
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, checksums(t, pool, all...)); diff != "" {
		t.Errorf("a cancelled run changed tables (-before +after):\n%s", diff)
	}
}

// importCancelledAt runs Import and cancels it once one of its statements
// (matching the ILIKE pattern statement) waits for a lock, which the
// caller holds; the run must end with context.Canceled.
func importCancelledAt(t *testing.T, ctx context.Context, pool *pgxpool.Pool, statement string, inputs []Input, cfg ImportConfig) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Import(runCtx, pool, inputs, cfg)
		done <- err
	}()
	waitBlocked(t, ctx, pool, statement, done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: error %v, want context.Canceled", err)
	}
}

// holdLock takes an exclusive lock of table in a transaction of its own,
// which the caller rolls back to let a waiting run go on (and the test's
// end does in any case).
func holdLock(t *testing.T, ctx context.Context, pool *pgxpool.Pool, table string) pgx.Tx {
	t.Helper()
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Rollback(context.WithoutCancel(ctx)) })
	if _, err := holder.Exec(ctx, `LOCK TABLE `+pgx.Identifier{table}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return holder
}

// waitBlocked waits until a statement matching the ILIKE pattern waits for
// a lock; the run must not end (done) before.
func waitBlocked(t *testing.T, ctx context.Context, pool *pgxpool.Pool, statement string, done <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query ILIKE $1`, statement).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the import ended before it waited at %s: %v", statement, err)
		default:
		}
		if time.Now().After(deadline) {
			var now string
			pool.QueryRow(ctx, `SELECT string_agg(coalesce(wait_event_type, '-') || ': ' || left(query, 80), ' | ') FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle'`).Scan(&now)
			t.Fatalf("the import never waited at %s (now: %s)", statement, now)
		}
	}
}

// TestImportFeedbackFailsBeforeCommit: a feedback workbook that cannot be
// written fails the run before its commit, so that no run commits without
// the departments hearing of it; every table stays as it was.
func TestImportFeedbackFailsBeforeCommit(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	ctx := context.Background()
	all := append(slices.Clone(domainTables), runTables...)
	before := checksums(t, pool, all...)
	holder := holdLock(t, ctx, pool, "account")
	out := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := Import(ctx, pool, s.inputs, ImportConfig{Keyring: testKeyring(t), OutDir: out})
		done <- err
	}()
	// The run reads the stored accounts before it starts the workbooks;
	// meanwhile their staging folder goes.
	waitBlocked(t, ctx, pool, "%FROM account%", done)
	pending, _ := filepath.Glob(filepath.Join(out, ".pending-*"))
	if len(pending) != 1 {
		t.Fatalf("staging folders %v", pending)
	}
	if err := os.RemoveAll(pending[0]); err != nil {
		t.Fatal(err)
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "feedback") {
		t.Fatalf("run whose workbooks failed: error %v", err)
	}
	if diff := cmp.Diff(before, checksums(t, pool, all...)); diff != "" {
		t.Errorf("the run committed (-before +after):\n%s", diff)
	}
}
