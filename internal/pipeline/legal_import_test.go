package pipeline

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/google/go-cmp/cmp"

	acct "github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

// TestImportMixedLegal: a run of the generated persons' and legal
// persons' exports makes one account per person and per credit code as
// the truth says (name, representative, contact phone), the ledger
// balances with the legal persons counted apart, the representatives who
// are persons link to their accounts, and a forced re-run changes nothing.
func TestImportMixedLegal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	truth, err := sample.Generate(context.Background(), sample.Config{Dir: dir, Rows: 600, Seed: 12, Legal: 120})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range truth.Files {
		paths = append(paths, filepath.Join(dir, f.Path))
	}
	inputs, err := MatchInputs(paths, ms)
	if err != nil {
		t.Fatal(err)
	}
	pool, keys := dbtest.New(t), testKeyring(t)
	led := importInto(t, pool, inputs, false).Ledger
	if truth.Legal == 0 || led.Legal == nil || led.Legal.Persons != truth.Legal || led.Legal.New != truth.Legal ||
		led.Persons != truth.Persons+truth.Legal || led.New != led.Persons {
		t.Fatalf("ledger %d persons (%d new), legal %+v; truth %d persons, %d legal", led.Persons, led.New, led.Legal, truth.Persons, truth.Legal)
	}
	wantFiles, gotFiles := map[string][3]int64{}, map[string][3]int64{}
	for _, f := range truth.Files {
		wantFiles[f.Dept] = [3]int64{f.Rows, f.Accepted, f.Rejected}
	}
	for _, f := range led.Files {
		gotFiles[f.Dept] = [3]int64{f.Read, f.Lineage, f.Rejected}
	}
	if diff := cmp.Diff(wantFiles, gotFiles); diff != "" {
		t.Errorf("per file read/lineage/rejected (-truth +ledger):\n%s", diff)
	}

	f, err := os.Open(filepath.Join(dir, "truth_legal.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want, got := map[string][]string{}, map[string][]string{}
	var wantLinks int64
	for _, r := range recs[1:] { // credit_code,name,legal_type,rep_name,rep_id_number,rep_is_person,phone
		want[r[0]] = []string{r[1], r[2], r[3], r[4], r[6]}
		if r[5] == "1" {
			wantLinks++
		}
		a, err := acct.ByIDIndex(ctx, pool, acct.CreditCodeIndex(keys, r[0]))
		if err != nil || a == nil || !a.IsLegal() {
			t.Errorf("no legal account for %s: %v", acct.CreditCodeHint(r[0]), err)
			continue
		}
		phone, err := acct.OpenPhone(keys, a.PhoneSealed)
		if err != nil {
			t.Fatal(err)
		}
		rep := ""
		if a.Legal.RepIDSealed != nil {
			if rep, err = acct.OpenRepID(keys, a.Legal.RepIDSealed); err != nil {
				t.Fatal(err)
			}
		}
		got[r[0]] = []string{a.Name, string(a.Legal.Type), a.Legal.RepName, rep, phone}
		if a.Status != schemas.StatusPendingCompletion || len(a.Steps) != 3 || a.Legal.Realname != schemas.RealnameUnverified {
			t.Errorf("legal account %s: status %s, steps %v, %s", a.IDHint, a.Status, a.Steps, a.Legal.Realname)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("legal accounts (name, type, representative, ID, phone) (-truth +store):\n%s", diff)
	}
	var links int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM account l JOIN account n ON n.id_bidx = l.rep_id_bidx AND n.kind = 'natural'
		WHERE l.kind = 'legal'`).Scan(&links); err != nil {
		t.Fatal(err)
	}
	if links != wantLinks || links != truth.LegalRepsPersons || links == 0 {
		t.Errorf("%d legal accounts link to their representative's account; truth %d (%d)", links, wantLinks, truth.LegalRepsPersons)
	}

	again := importInto(t, pool, inputs, true).Ledger
	if again.New != 0 || again.Updated != 0 || again.Legal == nil || again.Legal.Unchanged != truth.Legal {
		t.Errorf("forced re-run: %d new, %d updated, legal %+v; want everything unchanged", again.New, again.Updated, again.Legal)
	}
}

// TestLegalStages: --keep-stages writes the legal persons' clean rows to
// their own file, in their schema, with the representative's ID and the
// contact's phone masked.
func TestLegalStages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	truth, err := sample.Generate(context.Background(), sample.Config{Dir: dir, Rows: 200, Seed: 5, Legal: 60})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var legalAccepted int64
	for _, f := range truth.Files {
		paths = append(paths, filepath.Join(dir, f.Path))
		if ms[f.Dept].Entity == schemas.EntityLegal {
			legalAccepted += f.Accepted
		}
	}
	inputs, err := MatchInputs(paths, ms)
	if err != nil {
		t.Fatal(err)
	}
	stages := t.TempDir()
	if _, err := Import(context.Background(), dbtest.New(t), inputs, ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir(), DryRun: true, KeepStages: stages}); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(filepath.Join(stages, "clean_legal.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var names []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
	}
	var want []string
	for _, f := range schemas.CleanLegal.Fields() {
		want = append(want, f.Name)
	}
	if tbl.NumRows() != legalAccepted || !slices.Equal(names, want) {
		t.Fatalf("clean_legal.parquet: %d rows, columns %v; want %d rows of %v", tbl.NumRows(), names, legalAccepted, want)
	}
	masked := 0
	for _, c := range tbl.Column(schemas.LegalRepIDNumber).Data().Chunks() {
		ids := c.(*array.String)
		for i := range ids.Len() {
			if v := ids.Value(i); v != "" {
				if !strings.Contains(v, "*****") {
					t.Fatalf("representative's ID %q in the clear", v)
				}
				masked++
			}
		}
	}
	if masked == 0 {
		t.Error("no representative's ID in the legal stage output")
	}
}
