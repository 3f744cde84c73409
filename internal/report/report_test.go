package report_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// testBundle is a store written by hand: two runs of department d1, the
// second with a file whose ledger does not balance.
type testBundle struct {
	tx           pgx.Tx
	run1, run2   int64
	file1, file2 int32 // source_file ids
	acc1, acc2   int64
	t0           time.Time
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := t.Context()
	b := &testBundle{tx: dbtest.NewTx(t), t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := b.tx.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	scan := func(dst any, sql string, args ...any) {
		t.Helper()
		if err := b.tx.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO department (code, name, priority) VALUES ('d1', '一部门', 1) ON CONFLICT DO NOTHING`)
	scan(&b.file1, `INSERT INTO source_file (dept, sha256) VALUES ('d1', 'aa11') RETURNING id`)
	scan(&b.file2, `INSERT INTO source_file (dept, sha256) VALUES ('d1', 'bb22') RETURNING id`)
	// Run 1: file aa11, 3 rows read, 2 accepted (lineage), 1 rejected.
	scan(&b.run1, `INSERT INTO import_run (started_at, finished_at, ledger) VALUES ($1, $2, $3) RETURNING id`,
		b.t0, b.t0.Add(time.Second),
		`{"files": [{"dept": "d1", "name": "a.csv", "sha256": "aa11", "rows_read": 3, "rows_accepted": 2, "rows_rejected": 1, "lineage_rows": 2}],
		  "persons": 2, "new": 2, "updated": 0, "unchanged": 0, "conflicts": 2}`)
	exec(`INSERT INTO import_file (run_id, file_id, dept, sha256, name, format, encoding, rows_read, rows_accepted, rows_rejected, warnings)
		VALUES ($1, $2, 'd1', 'aa11', 'a.csv', 'csv', 'gbk', 3, 2, 1, 4)`, b.run1, b.file1)
	exec(`INSERT INTO import_reject (run_id, file_id, row_num, code) VALUES ($1, $2, 3, 'ID_EMPTY')`, b.run1, b.file1)
	scan(&b.acc1, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, gender, birth_date, phone_sealed, phone_hint, address,
		status, origin, required_steps, created_run, updated_run)
		VALUES ('\x01', '\x0a', '1*****1', 'resident', '张三', 'M', '1990-01-01', '\x0b', '139****9071', '海口',
		'pending_completion', 'fused', '{info,password,face}', $1, $1) RETURNING id`, b.run1)
	scan(&b.acc2, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin)
		VALUES ('\x02', '\x0c', '2*****2', 'resident', '李四', 'active', 'registered') RETURNING id`)
	var l1, l2 int64
	scan(&l1, `INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, source_key, priority) VALUES ((SELECT id_bidx FROM account WHERE id = $1), $2, $3, 1, 'K1', 1) RETURNING id`, b.acc1, b.run1, b.file1)
	scan(&l2, `INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, source_key, priority) VALUES ((SELECT id_bidx FROM account WHERE id = $1), $2, $3, 2, 'K2', 1) RETURNING id`, b.acc1, b.run1, b.file1)
	exec(`UPDATE account SET name_source = $2, phone_source = $3, address_source = $2 WHERE id = $1`, b.acc1, l1, l2)
	// Run 2, later, forced by schedule: file bb22 claims 1 accepted row
	// but has no lineage.
	scan(&b.run2, `INSERT INTO import_run (started_at, finished_at, trigger, forced, ledger) VALUES ($1, $2, 'schedule', true, $3) RETURNING id`,
		b.t0.Add(time.Hour), b.t0.Add(time.Hour+time.Second),
		`{"files": [{"dept": "d1", "name": "b.csv", "sha256": "bb22", "rows_read": 1, "rows_accepted": 1, "rows_rejected": 0, "lineage_rows": 1}],
		  "persons": 1, "new": 0, "updated": 1, "unchanged": 0, "conflicts": 0}`)
	exec(`INSERT INTO import_file (run_id, file_id, dept, sha256, name, format, rows_read, rows_accepted, rows_rejected, warnings)
		VALUES ($1, $2, 'd1', 'bb22', 'b.csv', 'xlsx', 1, 1, 0, 0)`, b.run2, b.file2)
	exec(`INSERT INTO merge_conflict (account_id, account_bidx, field, candidates, run_id) SELECT $1, (SELECT id_bidx FROM account WHERE id = $1), f, c::jsonb, $2 FROM (VALUES
		('name', '[{"value": "张三", "sources": [{"dept": "d1", "file_sha256": "aa11", "row": 1}]}, {"value": "张叁", "sources": [{"dept": "d1", "file_sha256": "aa11", "row": 2}]}]'),
		('gender', '[{"value": "M", "source": "id_number"}, {"value": "女", "sources": [{"dept": "d1", "file_sha256": "aa11", "row": 2}]}]'),
		('birth_date', '[{"value": "1990-01-01", "source": "id_number"}, {"value": "1990-01-02", "sources": []}]')) v (f, c)`, b.acc1, b.run1)
	exec(`UPDATE merge_conflict SET status = 'resolved' WHERE field = 'birth_date' AND account_id = $1`, b.acc1)
	return b
}

var ignoreTimes = cmpopts.IgnoreFields(report.Run{}, "Started", "Finished")

func TestRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run1 := report.Run{ID: b.run1, Trigger: "manual", Files: 1, Read: 3, Accepted: 2, Rejected: 1, Lineage: 2,
		Persons: 2, New: 2, Conflicts: 2, Balanced: true}
	run2 := report.Run{ID: b.run2, Trigger: "schedule", Forced: true, Files: 1, Read: 1, Accepted: 1, Lineage: 1,
		Persons: 1, Updated: 1, Balanced: true}
	tests := []struct {
		limit int
		want  []report.Run
	}{
		{0, []report.Run{run2, run1}},
		{1, []report.Run{run2}},
		{5, []report.Run{run2, run1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("limit=", tt.limit), func(t *testing.T) {
			got, err := report.Runs(t.Context(), b.tx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreTimes); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	got, err := report.Runs(t.Context(), b.tx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !got[1].Started.Equal(b.t0) || !got[1].Finished.Equal(b.t0.Add(time.Second)) {
		t.Errorf("run %d: started %v, finished %v", got[1].ID, got[1].Started, got[1].Finished)
	}
}

func TestRunByID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		id   int64
		want report.RunDetail
	}{
		{"balanced", b.run1, report.RunDetail{
			Run: report.Run{ID: b.run1, Trigger: "manual", Files: 1, Read: 3, Accepted: 2, Rejected: 1, Lineage: 2,
				Persons: 2, New: 2, Conflicts: 2, Balanced: true},
			FileLedgers: []report.RunFile{{FileLedger: schemas.FileLedger{Name: "a.csv", Dept: "d1", SHA256: "aa11", Format: "csv", Encoding: "gbk",
				Read: 3, Accepted: 2, Rejected: 1, Warnings: 4, Lineage: 2}, LineageNow: 2, RejectsStored: 1, Balanced: true}},
		}},
		// The ledger says 1 lineage row, the store has none.
		{"lineage missing", b.run2, report.RunDetail{
			Run: report.Run{ID: b.run2, Trigger: "schedule", Forced: true, Files: 1, Read: 1, Accepted: 1, Lineage: 1,
				Persons: 1, Updated: 1, Balanced: false},
			FileLedgers: []report.RunFile{{FileLedger: schemas.FileLedger{Name: "b.csv", Dept: "d1", SHA256: "bb22", Format: "xlsx",
				Read: 1, Accepted: 1, Lineage: 1}, LineageNow: 0, Balanced: false}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := report.RunByID(t.Context(), b.tx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreTimes); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := report.RunByID(t.Context(), b.tx, b.run2+1000); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("unknown run: error %v, want database.ErrNotFound", err)
	}
}

func TestOpenConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := func(row int64) []report.CandidateSource {
		return []report.CandidateSource{{Dept: "d1", SHA256: "aa11", Row: row}}
	}
	name := report.Conflict{AccountID: b.acc1, IDHint: "1*****1", Name: "张三", Kind: "natural", Field: "name", RunID: b.run1,
		Candidates: []report.Candidate{{Value: "张三", Sources: src(1)}, {Value: "张叁", Sources: src(2)}}}
	gender := report.Conflict{AccountID: b.acc1, IDHint: "1*****1", Name: "张三", Kind: "natural", Field: "gender", RunID: b.run1,
		Candidates: []report.Candidate{{Value: "M", Source: "id_number"}, {Value: "女", Sources: src(2)}}}
	tests := []struct {
		name      string
		filter    report.ConflictFilter
		want      []report.Conflict
		wantTotal int64
	}{
		{"all open", report.ConflictFilter{}, []report.Conflict{name, gender}, 2},
		{"limit", report.ConflictFilter{Limit: 1}, []report.Conflict{name}, 2},
		{"field", report.ConflictFilter{Field: "gender"}, []report.Conflict{gender}, 1},
		{"resolved only", report.ConflictFilter{Field: "birth_date"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := report.OpenConflicts(t.Context(), b.tx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(report.Conflict{}, "ID", "Created")); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("total %d, want %d", total, tt.wantTotal)
			}
		})
	}
}

func TestGoldens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	birth := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	k1 := &report.ValueSource{Dept: "d1", SHA256: "aa11", Row: 1, SourceKey: "K1"}
	k2 := &report.ValueSource{Dept: "d1", SHA256: "aa11", Row: 2, SourceKey: "K2"}
	masked := []report.Golden{
		{AccountID: b.acc1, Kind: "natural", IDHint: "1*****1", IDType: "resident", Name: "张三", Gender: "M", BirthDate: &birth,
			PhoneHint: "139****9071", Address: "海口", Status: "pending_completion", Origin: "fused",
			RequiredSteps: []string{"info", "password", "face"}, NameSource: k1, PhoneSource: k2, AddressSource: k1, LineageRows: 2},
		{AccountID: b.acc2, Kind: "natural", IDHint: "2*****2", IDType: "resident", Name: "李四", Status: "active", Origin: "registered",
			RequiredSteps: []string{}},
	}
	sealed := []report.Golden{masked[0], masked[1]}
	sealed[0].IDSealed, sealed[0].PhoneSealed = []byte{0x0a}, []byte{0x0b}
	sealed[1].IDSealed = []byte{0x0c}
	tests := []struct {
		name string
		opts report.GoldenOptions
		want []report.Golden
	}{
		{"masked", report.GoldenOptions{}, masked},
		{"sealed", report.GoldenOptions{Sealed: true}, sealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []report.Golden
			n, err := report.Goldens(t.Context(), b.tx, tt.opts, func(g *report.Golden) error {
				c := *g
				c.RequiredSteps = append([]string{}, g.RequiredSteps...)
				got = append(got, c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if n != int64(len(tt.want)) {
				t.Errorf("read %d, want %d", n, len(tt.want))
			}
		})
	}

	stop := errors.New("stop")
	n, err := report.Goldens(t.Context(), b.tx, report.GoldenOptions{}, func(*report.Golden) error { return stop })
	if !errors.Is(err, stop) || n != 0 {
		t.Errorf("fn's error: got %d, %v; want 0, %v", n, err, stop)
	}
	// The connection is usable after a stopped read.
	if _, err := report.Runs(t.Context(), b.tx, 0); err != nil {
		t.Errorf("after a stopped read: %v", err)
	}
}

func TestExportAudit(t *testing.T) {
	t.Parallel()
	tx := dbtest.NewTx(t)
	ctx := t.Context()
	if _, err := report.StartExport(ctx, tx, "", "/x/clear.csv", true); !errors.Is(err, report.ErrNoReason) {
		t.Fatalf("decrypting export without reason: %v, want ErrNoReason", err)
	}
	masked, err := report.StartExport(ctx, tx, "", "/x/masked.parquet", false)
	if err != nil {
		t.Fatal(err)
	}
	decrypted, err := report.StartExport(ctx, tx, "稽核", "/x/clear.csv", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.FinishExport(ctx, tx, decrypted, 7); err != nil {
		t.Fatal(err)
	}
	if err := report.FinishExport(ctx, tx, decrypted, 8); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("finishing twice: %v, want ErrNotFound", err)
	}
	got, err := report.Exports(ctx, tx, 0)
	if err != nil {
		t.Fatal(err)
	}
	seven := int64(7)
	want := []report.Export{
		{ID: decrypted, Reason: "稽核", Rows: &seven, Path: "/x/clear.csv", Decrypted: true},
		{ID: masked, Path: "/x/masked.parquet"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(report.Export{}, "At")); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// The table refuses a decrypting export without reason on its own.
	if _, err := tx.Exec(ctx, `INSERT INTO export_audit (path, decrypted) VALUES ('/x', true)`); err == nil {
		t.Error("export_audit accepted a decrypting export without reason")
	}
}
