package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/pii"
)

// sensitive finds clear ID numbers and phones of a known set in text.
type sensitive map[string]bool

// find returns the known values in s, masked: every window of 18 and 11
// characters of every run of digits (and X) is looked up, so a value
// glued to other digits is found too.
func (k sensitive) find(s string) []string {
	var found []string
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' || c == 'X' || c == 'x' }
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		for _, n := range []int{18, 11} {
			for p := i; p+n <= j; p++ {
				if w := strings.ToUpper(s[p : p+n]); k[w] {
					found = append(found, pii.MaskID(w))
				}
			}
		}
		i = j
	}
	return found
}

// TestNoClearIDsOrPhones: after an import, no column of any table, no
// file of the run's output but the departments' feedback workbooks, and
// nothing that runs, conflicts or a masked export print or write holds an
// ID number or phone of the generator's truth in clear.
func TestNoClearIDsOrPhones(t *testing.T) {
	t.Parallel()
	im := importSample(t, 2000)
	known := sensitive{}
	for _, a := range im.accounts {
		known[a.id] = true
		if a.phone != "" {
			known[a.phone] = true
		}
	}
	check := func(what, text string) {
		t.Helper()
		if len(text) == 0 {
			t.Errorf("%s: empty", what)
		}
		if found := known.find(text); len(found) > 0 {
			t.Errorf("%s holds %d clear ID numbers or phones (%v…)", what, len(found), found[0])
		}
	}

	// Every column of every table, as PostgreSQL prints it.
	ctx := t.Context()
	rows, err := im.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"account", "account_lineage", "import_reject", "import_run", "merge_conflict", "export_audit"} {
		if !strings.Contains(strings.Join(tables, ","), table) {
			t.Errorf("no table %s among %v", table, tables)
		}
	}
	for _, table := range tables {
		rows, err := im.pool.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if table == "export_audit" { // filled below
			continue
		}
		check("table "+table, strings.Join(dump, "\n")+"\n")
	}

	// The run's output: its report, and the feedback workbooks that alone
	// may hold the departments' own values.
	var feedback int
	err = filepath.WalkDir(im.outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(path, "-feedback.xlsx") {
			feedback++
			// They hold ID numbers: never readable by other users.
			if info, err := d.Info(); err != nil || info.Mode().Perm()&0o007 != 0 {
				t.Errorf("%s: mode %v, want no access for others (err %v)", path, info.Mode(), err)
			}
			return nil
		}
		b, err := os.ReadFile(path)
		check(filepath.Base(path), string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if feedback == 0 || im.result.Report == "" {
		t.Errorf("the import wrote %d feedback workbooks and report %q", feedback, im.result.Report)
	}

	// What the commands print and write.
	run := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := im.cli(t, args...)
		if code != exitOK {
			t.Fatalf("fusion %v: exit code %d", args, code)
		}
		check("log of fusion "+strings.Join(args, " "), stderr)
		return stdout
	}
	id := strconv.FormatInt(im.result.Ledger.RunID, 10)
	for _, args := range [][]string{
		{"runs"}, {"runs", "--json"},
		{"runs", "--run", id}, {"runs", "--json", "--run", id},
		{"conflicts", "--limit", "0"}, {"conflicts", "--json", "--limit", "0"},
	} {
		check("fusion "+strings.Join(args, " "), run(args...))
	}
	for _, format := range []string{"parquet", "csv"} {
		out := filepath.Join(t.TempDir(), "golden."+format)
		run("export", "--format", format, "--out", out)
		header, rows := readExport(t, out)
		var b strings.Builder
		b.WriteString(strings.Join(header, ",") + "\n")
		for _, r := range rows {
			b.WriteString(strings.Join(r, ",") + "\n")
		}
		check("masked "+format+" export", b.String())
	}
	rows, err = im.pool.Query(ctx, `SELECT t::text FROM export_audit t`)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	check("table export_audit", strings.Join(dump, "\n"))

	// The check itself finds what it looks for.
	if got := known.find("x" + im.accounts[0].id + "7"); len(got) != 1 {
		t.Errorf("find missed an ID number glued to a digit: %v", got)
	}
}
