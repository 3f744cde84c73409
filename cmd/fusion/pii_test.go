package main

import (
	"bytes"
	"encoding/csv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
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

	// The run's output: its report, and the feedback workbooks (and their
	// CSVs) that alone may hold the departments' own values.
	var feedback int
	err = filepath.WalkDir(im.outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		// A workbook, or the CSV of the findings its detail sheets leave out.
		if base := filepath.Base(path); strings.HasSuffix(base, "-feedback.xlsx") ||
			strings.Contains(base, "-feedback-") && strings.HasSuffix(base, ".csv") {
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

// TestSeparatedNumbersEndToEnd: a department that writes its citizens' ID
// numbers and phones into the address in groups (460102.19900101.1234,
// 139/1234/9071) has neither stored, nor printed in a masked export: fusion
// import masks them as it stores the address and the export as it writes
// it, while the address's own numbers (door and room, postcode) stay.
func TestSeparatedNumbersEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _ := runCLI(t, "gen", "--out", dir, "--rows", "300", "--depts", "gongan"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	// Each row's address gets its own ID number and phone, grouped.
	path := filepath.Join(dir, "exports", "gongan_users.csv")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF"))))
	r.FieldsPerRecord = -1 // the generator writes a few broken rows on purpose
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		i := slices.Index(recs[0], name)
		if i < 0 {
			t.Fatalf("no column %s in %v", name, recs[0])
		}
		return i
	}
	idCol, phoneCol, addrCol := col("公民身份号码"), col("联系电话"), col("户籍地址")
	const ownNumbers = " 12-3-501室 邮编570100"
	injected := sensitive{}
	var masks []string // what each injected pair must become
	for i, rec := range recs[1:] {
		if len(rec) != len(recs[0]) {
			continue
		}
		id, phone := rec[idCol], rec[phoneCol]
		if len(id) != 18 || len(phone) != 11 {
			continue // a value the generator spoiled on purpose
		}
		// Separators vary by row: dots, slashes, full-width forms.
		seps := [][2]string{{".", "."}, {"/", "/"}, {"－", " "}, {"．", "。"}, {" ", "-"}}[i%5]
		rec[addrCol] += ownNumbers + " 证件" + id[:6] + seps[0] + id[6:14] + seps[0] + id[14:] +
			" 电话" + phone[:3] + seps[1] + phone[3:7] + seps[1] + phone[7:]
		injected[strings.ToUpper(id)], injected[phone] = true, true
		masks = append(masks, "证件"+pii.MaskID(id)+" 电话"+pii.MaskPhone(phone))
	}
	if len(masks) < 200 {
		t.Fatalf("only %d rows got numbers in their address", len(masks))
	}
	var out bytes.Buffer
	out.WriteString("\uFEFF")
	w := csv.NewWriter(&out)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	im := &imported{dataDir: t.TempDir(), outDir: t.TempDir(), url: dbtest.ConnString(t)}
	if code, _, stderr := im.cli(t, "import", "--mapping-dir", filepath.Join(dir, "mappings"),
		"--data-dir", im.dataDir, "--out", im.outDir, path); code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	// The digits of a text, separators dropped, must hold none of them.
	inClear := func(text string) []string {
		return injected.find(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == 'X' || r == 'x' {
				return r
			}
			if r >= '０' && r <= '９' {
				return r - '０' + '0'
			}
			return -1
		}, text))
	}
	pool, err := pgxpool.New(t.Context(), im.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(t.Context(), `SELECT address FROM account ORDER BY address`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range stored {
		if found := inClear(a); len(found) > 0 {
			t.Errorf("stored address %q holds %v in clear", a, found)
		}
	}
	for _, format := range []string{"csv", "parquet"} {
		file := filepath.Join(t.TempDir(), "golden."+format)
		if code, _, _ := im.cli(t, "export", "--format", format, "--out", file); code != exitOK {
			t.Fatalf("export --format %s: exit code %d", format, code)
		}
		header, rows := readExport(t, file)
		addresses := column(t, header, rows, "address")
		withNumbers := 0
		for _, a := range addresses {
			if found := inClear(a); len(found) > 0 {
				t.Errorf("%s export: address %q holds %v in clear", format, a, found)
			}
			if !strings.Contains(a, " 证件") {
				continue
			}
			withNumbers++
			// The address's own numbers stay, the ID number and phone
			// are masked as everywhere.
			if !strings.Contains(a, ownNumbers+" ") || !slices.ContainsFunc(masks, func(m string) bool { return strings.HasSuffix(a, m) }) {
				t.Errorf("%s export: address %q, want it to keep %q and end in a masked ID number and phone", format, a, ownNumbers)
			}
		}
		if withNumbers < 200 {
			t.Errorf("%s export: %d addresses hold the injected numbers, want every account's", format, withNumbers)
		}
	}
}
