package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/sample"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// imported is a database of its own holding one import of a generated
// sample, with what the tests compare against.
type imported struct {
	dir      string // gen's folder: exports/, mappings/, truth.json, truth_accounts.csv
	dataDir  string // the import's --data-dir, holding its development key
	outDir   string // the import's --out: run report and feedback workbooks
	url      string
	pool     *pgxpool.Pool
	result   pipeline.ImportResult // the import's --json output
	truth    sample.Truth
	accounts []truthAccount // truth_accounts.csv
}

// truthAccount is a line of truth_accounts.csv: an account the import must
// create, with its surviving name and phone.
type truthAccount struct{ id, name, phone string }

// importSample generates a sample of about rows rows of persons (no legal
// persons: TestLegalCLI has them) and imports all of it with fusion
// import into a new database.
func importSample(t *testing.T, rows int) *imported {
	t.Helper()
	im := &imported{dir: t.TempDir(), dataDir: t.TempDir(), outDir: t.TempDir(), url: dbtest.ConnString(t)}
	if code, _, _ := im.cli(t, "gen", "--out", im.dir, "--rows", strconv.Itoa(rows), "--legal", "0"); code != exitOK {
		t.Fatalf("gen exit code %d", code)
	}
	readJSON(t, filepath.Join(im.dir, "truth.json"), &im.truth)
	im.accounts = readTruthAccounts(t, filepath.Join(im.dir, "truth_accounts.csv"))
	files, err := filepath.Glob(filepath.Join(im.dir, "exports", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no exports: %v", err)
	}
	args := append([]string{"import", "--json", "--mapping-dir", filepath.Join(im.dir, "mappings"),
		"--data-dir", im.dataDir, "--out", im.outDir}, files...)
	code, stdout, _ := im.cli(t, args...)
	if code != exitOK {
		t.Fatalf("import exit code %d", code)
	}
	if err := json.Unmarshal([]byte(stdout), &im.result); err != nil {
		t.Fatalf("import --json output: %v", err)
	}
	if im.result.Ledger.RunID == 0 {
		t.Fatalf("import committed no run: %s", stdout)
	}
	im.pool, err = pgxpool.New(context.Background(), im.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.pool.Close)
	return im
}

// cli runs fusion in-process on the database and returns its exit code,
// standard output and standard error (which holds the log too).
func (im *imported) cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return im.cliEnv(t, nil, args...)
}

// cliEnv is cli with more environment variables.
func (im *imported) cliEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		if k == "DATABASE_URL" {
			return im.url
		}
		return ""
	}
	e := &env{stdout: &out, stderr: &errb, log: slog.New(slog.NewJSONHandler(&errb, nil)), getenv: getenv}
	code = run(context.Background(), e, args)
	if code != exitOK {
		t.Logf("fusion %s: exit code %d; stderr: %s", strings.Join(args, " "), code, errb.String())
	}
	return code, out.String(), errb.String()
}

func readTruthAccounts(t *testing.T, path string) []truthAccount {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []truthAccount
	for _, r := range recs[1:] {
		out = append(out, truthAccount{id: r[0], name: r[1], phone: r[2]})
	}
	if len(out) == 0 {
		t.Fatal("truth_accounts.csv lists no account")
	}
	return out
}

// newKeyFile writes a fresh key file, unrelated to any import's key.
func newKeyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := pii.LoadOrCreateDevKeyring(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// readExport reads an export (Parquet or CSV) as its header and rows of
// text; a null is "".
func readExport(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	if strings.HasSuffix(path, ".csv") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\uFEFF")) {
			t.Errorf("%s: no UTF-8 byte order mark", path)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs[0], recs[1:]
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for i := 0; i < int(tbl.NumCols()); i++ {
		header = append(header, tbl.Schema().Field(i).Name)
	}
	rows = make([][]string, tbl.NumRows())
	for i := range rows {
		rows[i] = make([]string, len(header))
	}
	for c := range header {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if chunk.IsValid(i) {
					rows[r][c] = chunk.ValueStr(i)
				}
				r++
			}
		}
	}
	return header, rows
}

// column returns the values of a column of readExport's rows.
func column(t *testing.T, header []string, rows [][]string, name string) []string {
	t.Helper()
	for c, h := range header {
		if h == name {
			out := make([]string, len(rows))
			for i, r := range rows {
				out[i] = r[c]
			}
			return out
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return nil
}
