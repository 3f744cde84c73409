package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/report"
)

// fifteenDigits is what no masked output may hold: a clear ID number.
var fifteenDigits = regexp.MustCompile(`[0-9]{15}`)

// lastExport returns the newest export_audit row.
func lastExport(t *testing.T, pool *pgxpool.Pool) report.Export {
	t.Helper()
	xs, err := report.Exports(t.Context(), pool, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) == 0 {
		t.Fatal("no export_audit row")
	}
	return xs[0]
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestExport: the export has one row per account with the lineage of its
// values; masked, it holds no ID number; decrypted, its ID numbers and
// phones are exactly the generator's truth, and the export is recorded and
// logged without any value.
func TestExport(t *testing.T) {
	t.Parallel()
	im := importSample(t, 2000)
	ctx := t.Context()
	var accounts, lineage int64
	if err := im.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM account_lineage)`).Scan(&accounts, &lineage); err != nil {
		t.Fatal(err)
	}
	wantIDs := make([]string, len(im.accounts))
	wantPeople := map[string]string{} // id number → name and phone
	for i, a := range im.accounts {
		wantIDs[i] = a.id
		wantPeople[a.id] = a.name + "," + a.phone
	}
	slices.Sort(wantIDs)

	for _, format := range []string{"parquet", "csv"} {
		for _, decrypt := range []bool{false, true} {
			name := format + "/masked"
			if decrypt {
				name = format + "/decrypted"
			}
			t.Run(name, func(t *testing.T) {
				// Not parallel: each subtest checks the newest audit row.
				out := filepath.Join(t.TempDir(), "golden."+format)
				args := []string{"export", "--format", format, "--out", out, "--data-dir", im.dataDir}
				if decrypt {
					args = append(args, "--decrypt", "--reason", "审计抽查 2026-11")
				}
				code, stdout, stderr := im.cli(t, args...)
				if code != exitOK {
					t.Fatalf("exit code %d", code)
				}
				if !strings.Contains(stdout, "exported "+strconv.FormatInt(accounts, 10)+" golden records") {
					t.Errorf("stdout %q", stdout)
				}
				header, rows := readExport(t, out)
				if int64(len(rows)) != accounts {
					t.Errorf("%d rows, want one per account: %d", len(rows), accounts)
				}
				var lineageRows int64
				for i, n := range column(t, header, rows, "lineage_rows") {
					v, err := strconv.ParseInt(n, 10, 64)
					if err != nil || v < 1 {
						t.Errorf("row %d: lineage_rows %q", i, n)
					}
					lineageRows += v
				}
				if lineageRows != lineage {
					t.Errorf("lineage_rows add up to %d, want the store's %d", lineageRows, lineage)
				}
				// Every fused account's name came from a department row.
				for i, dept := range column(t, header, rows, "name_source_dept") {
					if dept == "" || column(t, header, rows, "name_source_row")[i] == "" {
						t.Fatalf("row %d: name without a source", i)
					}
				}

				audit := lastExport(t, im.pool)
				wantMode := os.FileMode(0o640)
				if decrypt {
					wantMode = 0o600
				}
				if got := fileMode(t, out); got != wantMode {
					t.Errorf("file mode %04o, want %04o", got, wantMode)
				}
				if !decrypt {
					if slices.Contains(header, "id_number") || slices.Contains(header, "phone") {
						t.Errorf("masked export has columns %v", header)
					}
					for i, r := range rows {
						for c, v := range r {
							if fifteenDigits.MatchString(v) {
								t.Fatalf("row %d, column %s holds a clear ID number", i, header[c])
							}
						}
					}
					if diff := cmp.Diff(report.Export{ID: audit.ID, At: audit.At, Rows: &accounts, Path: out}, audit); diff != "" {
						t.Errorf("export_audit mismatch (-want +got):\n%s", diff)
					}
					return
				}

				ids := column(t, header, rows, "id_number")
				phones := column(t, header, rows, "phone")
				names := column(t, header, rows, "name")
				got := slices.Sorted(slices.Values(ids))
				if !slices.Equal(wantIDs, got) {
					t.Errorf("id_number column is not the truth's ID numbers: %d values, %d in truth", len(got), len(wantIDs))
				}
				people := map[string]string{}
				for i, id := range ids {
					people[id] = names[i] + "," + phones[i]
				}
				if diff := cmp.Diff(wantPeople, people); diff != "" {
					t.Errorf("names and phones by ID number mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(report.Export{ID: audit.ID, At: audit.At, Reason: "审计抽查 2026-11", Rows: &accounts, Path: out, Decrypted: true}, audit); diff != "" {
					t.Errorf("export_audit mismatch (-want +got):\n%s", diff)
				}
				if !regexp.MustCompile(`"msg":"export_decrypted".*"rows":` + strconv.FormatInt(accounts, 10) + `.*"reason":"审计抽查 2026-11".*"path":"` + regexp.QuoteMeta(out) + `"`).MatchString(stderr) {
					t.Errorf("no export_decrypted warning with rows, reason and path in the log:\n%s", stderr)
				}
				if m := fifteenDigits.FindString(stderr); m != "" || strings.Contains(stderr, im.accounts[0].phone) {
					t.Errorf("the log holds a clear ID number or phone (%q) in:\n%s", m, stderr)
				}
			})
		}
	}
}

// TestRefused: bad flags of runs, conflicts and export exit 2, and an
// export refused so writes and decrypts nothing; a key that opens nothing
// fails the export, leaves no file behind, and the audit row says the
// export never finished.
func TestRefused(t *testing.T) {
	t.Parallel()
	im := importSample(t, 200)
	dir := t.TempDir()
	out := filepath.Join(dir, "golden.parquet")
	tests := []struct {
		name     string
		vars     map[string]string
		args     []string
		wantCode int
		audited  bool // an export_audit row is written
	}{
		{"decrypt without reason", nil, []string{"export", "--out", out, "--data-dir", im.dataDir, "--decrypt"}, exitUsage, false},
		{"decrypt with blank reason", nil, []string{"export", "--out", out, "--data-dir", im.dataDir, "--decrypt", "--reason", "  "}, exitUsage, false},
		{"decrypt without key", nil, []string{"export", "--out", out, "--data-dir", t.TempDir(), "--decrypt", "--reason", "x"}, exitUsage, false},
		{"no out", nil, []string{"export", "--format", "csv"}, exitUsage, false},
		{"bad format", nil, []string{"export", "--format", "xlsx", "--out", out}, exitUsage, false},
		{"decrypt with another key", map[string]string{"IDFUSION_KEY_FILE": newKeyFile(t)},
			[]string{"export", "--out", out, "--decrypt", "--reason", "x"}, exitInternal, true},
		{"runs: unknown run", nil, []string{"runs", "--run", "999999"}, exitUsage, false},
		{"runs: argument", nil, []string{"runs", "1"}, exitUsage, false},
		{"conflicts: bad field", nil, []string{"conflicts", "--field", "phone"}, exitUsage, false},
		{"conflicts: negative limit", nil, []string{"conflicts", "--limit", "-1"}, exitUsage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each checks the audit table and dir.
			var before int64
			if err := im.pool.QueryRow(t.Context(), `SELECT count(*) FROM export_audit`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			if code, _, _ := im.cliEnv(t, tt.vars, tt.args...); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("files left behind: %v", entries)
			}
			var after int64
			if err := im.pool.QueryRow(t.Context(), `SELECT count(*) FROM export_audit`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if got := after > before; got != tt.audited {
				t.Fatalf("export_audit row written: %v, want %v", got, tt.audited)
			}
			if tt.audited {
				if a := lastExport(t, im.pool); a.Rows != nil || !a.Decrypted {
					t.Errorf("audit row of the failed export: %+v; want rows NULL, decrypted", a)
				}
			}
		})
	}
}

// TestExportDefusesText: a masked export masks department text that looks
// like an ID number or phone, also written in groups, keeping an address's
// own numbers, and a CSV export defuses formulas.
func TestExportDefusesText(t *testing.T) {
	t.Parallel()
	url := dbtest.ConnString(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// A registered account: no lineage, values the citizen typed.
	if _, err := pool.Exec(t.Context(), `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, address, status, origin)
		VALUES ('\x01', '\x01', '4*****4', 'resident', '=HYPERLINK("http://x")',
			'门牌 460102199001011234 电话13912349071 证件460102.19900101.1234 手机139/1234/9071 12-3-501室 邮编570100', 'active', 'registered')`); err != nil {
		t.Fatal(err)
	}
	im := &imported{url: url}
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "golden."+format)
			if code, _, _ := im.cli(t, "export", "--format", format, "--out", out); code != exitOK {
				t.Fatalf("exit code %d", code)
			}
			header, rows := readExport(t, out)
			wantName := `=HYPERLINK("http://x")`
			if format == "csv" {
				wantName = "'" + wantName
			}
			got := []string{column(t, header, rows, "name")[0], column(t, header, rows, "address")[0],
				column(t, header, rows, "name_source_dept")[0], column(t, header, rows, "lineage_rows")[0]}
			if diff := cmp.Diff([]string{wantName, "门牌 4*****4 电话139****9071 证件4*****4 手机139****9071 12-3-501室 邮编570100", "", "0"}, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
