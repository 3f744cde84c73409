package pipeline

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/merge"
	"github.com/idfusion/idfusion/schemas"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func testKeyring(t testing.TB) *pii.Keyring {
	t.Helper()
	key := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	k, err := pii.NewKeyring(pii.KeyFile{Active: "t1", Keys: map[string]string{"t1": key(1)}, BlindIndexKey: key(2)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleSet is a generated data set shared by the tests of this file.
type sampleSet struct {
	dir    string
	truth  sample.Truth
	inputs []Input
}

var sampleOnce = sync.OnceValues(func() (*sampleSet, error) {
	dir, err := os.MkdirTemp("", "idfusion-import-")
	if err != nil {
		return nil, err
	}
	truth, err := sample.Generate(context.Background(), sample.Config{Dir: dir, Rows: 4000, Seed: 11})
	if err != nil {
		return nil, err
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range truth.Files {
		paths = append(paths, filepath.Join(dir, f.Path))
	}
	inputs, err := MatchInputs(paths, ms)
	return &sampleSet{dir: dir, truth: truth, inputs: inputs}, err
})

func samples(t *testing.T) *sampleSet {
	t.Helper()
	s, err := sampleOnce()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func importInto(t *testing.T, pool *pgxpool.Pool, inputs []Input, force bool) ImportResult {
	t.Helper()
	res, err := Import(context.Background(), pool, inputs, ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir(), Force: force})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// account is an account's content as a test compares it: decrypted and
// without surrogate ids or timestamps.
type account struct {
	ID, Name, Phone, Address, Gender, Birth, Status, Origin string
	Steps                                                   []string
	NameSource, PhoneSource                                 string
	Lineage                                                 int
}

func accounts(t *testing.T, pool *pgxpool.Pool) map[string]account {
	t.Helper()
	k := testKeyring(t)
	rows, err := pool.Query(context.Background(), `
		SELECT a.id_sealed, a.name, a.phone_sealed, a.address, a.gender, coalesce(a.birth_date::text, ''), a.status, a.origin, a.required_steps,
		       coalesce(fn.dept || ':' || ln.row_num, ''), coalesce(fp.dept || ':' || lp.row_num, ''),
		       (SELECT count(*) FROM account_lineage l WHERE l.account_bidx = a.id_bidx)
		FROM account a
		LEFT JOIN account_lineage ln ON ln.account_bidx = a.id_bidx AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_bidx = a.id_bidx AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]account{}
	for rows.Next() {
		var a account
		var idSealed, phoneSealed []byte
		if err := rows.Scan(&idSealed, &a.Name, &phoneSealed, &a.Address, &a.Gender, &a.Birth, &a.Status, &a.Origin, &a.Steps,
			&a.NameSource, &a.PhoneSource, &a.Lineage); err != nil {
			t.Fatal(err)
		}
		id, err := k.Open(idSealed, []byte("id_number"))
		if err != nil {
			t.Fatal(err)
		}
		a.ID = string(id)
		if phoneSealed != nil {
			p, err := k.Open(phoneSealed, []byte("phone"))
			if err != nil {
				t.Fatal(err)
			}
			a.Phone = string(p)
		}
		out[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportMatchesTruth: generated exports imported into an empty store
// give exactly the generator's accounts (surviving name and phone),
// conflicts and rejects, and the ledger balances.
func TestImportMatchesTruth(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	res := importInto(t, pool, s.inputs, false)

	led := res.Ledger
	if led.Persons != s.truth.Persons || led.New != s.truth.Persons || led.Updated+led.Unchanged != 0 {
		t.Errorf("ledger persons %d = new %d + updated %d + unchanged %d; truth has %d persons", led.Persons, led.New, led.Updated, led.Unchanged, s.truth.Persons)
	}
	wantFiles := map[string][3]int64{}
	for _, f := range s.truth.Files {
		wantFiles[f.Dept] = [3]int64{f.Rows, f.Accepted, f.Rejected}
	}
	gotFiles := map[string][3]int64{}
	for _, f := range led.Files {
		gotFiles[f.Dept] = [3]int64{f.Read, f.Lineage, f.Rejected}
	}
	if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
		t.Errorf("per file read/lineage/rejected mismatch (-truth +ledger):\n%s", diff)
	}

	want := map[string][2]string{}
	b, err := os.ReadFile(filepath.Join(s.dir, "truth_accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		want[r[0]] = [2]string{r[1], r[2]}
	}
	got := map[string][2]string{}
	for id, a := range accounts(t, pool) {
		got[id] = [2]string{a.Name, a.Phone}
		if a.Status != "pending_completion" || !slices.Equal(a.Steps, []string{"info", "password", "face"}) || a.Origin != "fused" {
			t.Errorf("account %s: status %s, steps %v, origin %s", pii.MaskID(id), a.Status, a.Steps, a.Origin)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accounts (name, phone) mismatch (-truth +store):\n%s", diff)
	}

	gotConflicts := map[schemas.Field]int64{}
	rows, _ := pool.Query(context.Background(), `SELECT field, count(*) FROM merge_conflict GROUP BY field`)
	for rows.Next() {
		var f string
		var n int64
		rows.Scan(&f, &n)
		gotConflicts[schemas.Field(f)] = n
	}
	if diff := cmp.Diff(s.truth.Conflicts, gotConflicts); diff != "" {
		t.Errorf("conflicts by field mismatch (-truth +store):\n%s", diff)
	}
	wantRejects := map[string]int64{}
	for _, f := range s.truth.Files {
		for c, n := range f.Rejects {
			wantRejects[string(c)] += n
		}
	}
	gotRejects := map[string]int64{}
	rows, _ = pool.Query(context.Background(), `SELECT code, count(*) FROM import_reject GROUP BY code`)
	for rows.Next() {
		var c string
		var n int64
		rows.Scan(&c, &n)
		gotRejects[c] = n
	}
	if diff := cmp.Diff(wantRejects, gotRejects); diff != "" {
		t.Errorf("rejects by code mismatch (-truth +store):\n%s", diff)
	}
}

// checksums fingerprints the content of the tables.
func checksums(t *testing.T, pool *pgxpool.Pool, tables ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range tables {
		var sum string
		if err := pool.QueryRow(context.Background(), `SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM `+tb+` t`).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		out[tb] = sum
	}
	return out
}

var domainTables = []string{"account", "account_lineage", "merge_conflict", "source_file", "department"}
var runTables = []string{"import_run", "import_file", "import_reject"}

// TestImportIdempotent: the same files again change nothing; forced, they
// leave every account, lineage and conflict as it was.
func TestImportIdempotent(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	importInto(t, pool, s.inputs, false)
	all := append(slices.Clone(domainTables), runTables...)
	before := checksums(t, pool, all...)

	res := importInto(t, pool, s.inputs, false)
	if len(res.Skipped) != len(s.inputs) || res.Ledger.RunID != 0 {
		t.Errorf("second run: skipped %d of %d files, run %d", len(res.Skipped), len(s.inputs), res.Ledger.RunID)
	}
	if diff := cmp.Diff(before, checksums(t, pool, all...)); diff != "" {
		t.Errorf("second run changed tables (-before +after):\n%s", diff)
	}

	res = importInto(t, pool, s.inputs, true)
	if res.Ledger.Unchanged != s.truth.Persons || res.Ledger.New+res.Ledger.Updated+res.Ledger.Conflicts != 0 {
		t.Errorf("forced run ledger: %+v", res.Ledger)
	}
	wantDomain := map[string]string{}
	for _, tb := range domainTables {
		wantDomain[tb] = before[tb]
	}
	if diff := cmp.Diff(wantDomain, checksums(t, pool, domainTables...)); diff != "" {
		t.Errorf("forced run changed tables (-before +after):\n%s", diff)
	}
}

// TestImportOrderIndependent: one run of all files, and one run per file
// in reverse order, give the same accounts with the same sources.
func TestImportOrderIndependent(t *testing.T) {
	t.Parallel()
	s := samples(t)
	one := dbtest.New(t)
	importInto(t, one, s.inputs, false)
	each := dbtest.New(t)
	for i := len(s.inputs) - 1; i >= 0; i-- {
		importInto(t, each, s.inputs[i:i+1], false)
	}
	if diff := cmp.Diff(accounts(t, one), accounts(t, each)); diff != "" {
		t.Errorf("accounts differ (-one run +run per file, reversed):\n%s", diff)
	}
	if diff := cmp.Diff(conflictCounts(t, one), conflictCounts(t, each)); diff != "" {
		t.Errorf("conflicts by field differ (-one run +run per file, reversed):\n%s", diff)
	}
}

func conflictCounts(t *testing.T, pool *pgxpool.Pool) map[schemas.Field]int64 {
	t.Helper()
	out := map[schemas.Field]int64{}
	rows, err := pool.Query(context.Background(), `SELECT field, count(DISTINCT account_id) FROM merge_conflict GROUP BY field`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f string
		var n int64
		if err := rows.Scan(&f, &n); err != nil {
			t.Fatal(err)
		}
		out[schemas.Field(f)] = n
	}
	return out
}

// TestImportSameFileTwiceAndConcurrently: a file given twice in one run is
// read once, and two imports of the same files at once never import a
// file twice.
func TestImportSameFileTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	copyPath := filepath.Join(t.TempDir(), filepath.Base(s.inputs[0].Path))
	b, err := os.ReadFile(s.inputs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	twice := append(slices.Clone(s.inputs[:1]), Input{Path: copyPath, Mapping: s.inputs[0].Mapping})
	res := importInto(t, pool, twice, false)
	if len(res.Ledger.Files) != 1 || len(res.Skipped) != 1 {
		t.Errorf("same file twice: %d files loaded, %d skipped; want 1 and 1", len(res.Ledger.Files), len(res.Skipped))
	}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Import(context.Background(), pool, s.inputs[1:], ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir()})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, merge.ErrAlreadyImported) {
			t.Fatalf("concurrent import: %v", err)
		}
	}
	var dup int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT dept, sha256 FROM import_file GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	var accountsN int64
	pool.QueryRow(context.Background(), `SELECT count(*) FROM account`).Scan(&accountsN)
	if dup != 0 || accountsN != s.truth.Persons {
		t.Errorf("%d files imported twice; %d accounts, want %d", dup, accountsN, s.truth.Persons)
	}
}

// TestImportKeepsRegisteredAccount: a citizen who registered before the
// import keeps status, completion state, verified phone and name; the
// import links its rows to the account instead of creating another.
func TestImportKeepsRegisteredAccount(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	k := testKeyring(t)
	b, err := os.ReadFile(filepath.Join(s.dir, "truth_accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Split(strings.Split(string(b), "\n")[1], ",")
	id := first[0]
	const phone, name = "13800000001", "自己注册"
	if _, err := pool.Exec(context.Background(), `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint, phone_verified, status, origin, password_hash)
		VALUES ($1, $2, $3, 'resident', $4, $5, $6, $7, true, 'active', 'registered', '$argon2id$v=19$m=1,t=1,p=1$x$y')`,
		k.BlindIndex("id_number", id), k.Seal([]byte(id), []byte("id_number")), pii.MaskID(id), name,
		k.Seal([]byte(phone), []byte("phone")), k.BlindIndex("phone", phone), pii.MaskPhone(phone)); err != nil {
		t.Fatal(err)
	}
	res := importInto(t, pool, s.inputs, false)
	if res.Ledger.New != s.truth.Persons-1 || res.Ledger.Updated+res.Ledger.Unchanged != 1 {
		t.Errorf("ledger %+v: want one existing account and %d new", res.Ledger, s.truth.Persons-1)
	}
	got := accounts(t, pool)[id]
	want := account{ID: id, Name: name, Phone: phone, Status: "active", Origin: "registered", Steps: []string{}}
	got.Address, got.Gender, got.Birth, got.NameSource, got.PhoneSource = "", "", "", "", ""
	if got.Lineage == 0 {
		t.Error("the import did not link its rows to the registered account")
	}
	got.Lineage = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registered account changed (-want +got):\n%s", diff)
	}
	var n int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM account WHERE id_bidx = $1`, k.BlindIndex("id_number", id)).Scan(&n)
	if n != 1 {
		t.Errorf("%d accounts for one ID number", n)
	}
}

// TestImportDryRunAndStages: a dry run reports what would change and
// leaves every table as it was; --keep-stages writes each stage's output.
func TestImportDryRunAndStages(t *testing.T) {
	t.Parallel()
	s := samples(t)
	pool := dbtest.New(t)
	all := append(slices.Clone(domainTables), runTables...)
	before := checksums(t, pool, all...)
	stages := t.TempDir()
	res, err := Import(context.Background(), pool, s.inputs, ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir(), DryRun: true, KeepStages: stages})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Ledger.DryRun || res.Ledger.New != s.truth.Persons {
		t.Errorf("dry run ledger %+v, want %d new", res.Ledger, s.truth.Persons)
	}
	if diff := cmp.Diff(before, checksums(t, pool, all...)); diff != "" {
		t.Errorf("dry run changed tables (-before +after):\n%s", diff)
	}
	for _, f := range []string{"clean.parquet", "findings.parquet"} {
		st, err := os.Stat(filepath.Join(stages, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("stage output %s: %v", f, err)
		}
	}
}
