package merge

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/sealfile"
	"github.com/idfusion/idfusion/schemas"
)

// spillInput adds the same rows to m: persons and legal persons, each
// known to one to three departments, in records of a few hundred rows.
func spillInput(t *testing.T, m *Merger) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	depts := []string{"gongan", "renshe", "weijian"}
	var natural [][]any
	for i := range 3000 {
		id := fmt.Sprintf("4601%014d", rng.IntN(1200))
		name := []string{"张三", "张叁", "李四"}[rng.IntN(3)]
		phone := ""
		if rng.IntN(3) > 0 {
			phone = fmt.Sprintf("139%08d", rng.IntN(1e8))
		}
		d := rng.IntN(3)
		natural = append(natural, []any{id, name, phone, depts[d], d + 1, rng.IntN(5000), i + 2, fmt.Sprintf("海口市%d号", rng.IntN(50))})
	}
	var legal []lrow
	for i := range 400 {
		d := rng.IntN(3)
		r := lrow{code: fmt.Sprintf("91460000MA5T%06d", rng.IntN(150)), name: []string{"某公司", "某有限公司"}[rng.IntN(2)],
			typ: []string{"", "enterprise", "institution"}[rng.IntN(3)], contact: []string{"", "王五"}[rng.IntN(2)],
			phone: fmt.Sprintf("0898%08d", rng.IntN(1e8)), dept: depts[d], prio: d + 1, upd: rng.IntN(5000), row: 10000 + i}
		if rng.IntN(4) > 0 {
			r.repName, r.repID, r.from, r.to = "赵六", fmt.Sprintf("4601%014d", rng.IntN(100)), int32(rng.IntN(20000)+1), 2932896
		}
		legal = append(legal, r)
	}
	for len(natural) > 0 || len(legal) > 0 {
		n := min(len(natural), 250)
		rec := cleanRecord(t, natural[:n])
		m.AddClean(rec)
		rec.Release()
		// A gender or birth date warning on every seventh row, after its
		// rows (as the pipeline delivers them): some are held when the
		// next spill comes, some come after their rows were spilled.
		var warned [][]any
		for i, r := range natural[:n] {
			if i%7 == 0 {
				warned = append(warned, r)
			}
		}
		if len(warned) > 0 {
			f := mismatchRecord(t, warned)
			m.AddFindings(f, int32(warned[0][4].(int)))
			f.Release()
		}
		natural = natural[n:]
		k := min(len(legal), 40)
		if k > 0 {
			rec := legalRecord(t, legal[:k])
			m.AddClean(rec)
			rec.Release()
			legal = legal[k:]
		}
	}
}

// mismatchRecord is a Finding record with a gender mismatch (a birth date
// one on odd rows) for each of rows (cleanRecord's layout).
func mismatchRecord(t *testing.T, rows [][]any) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.Finding)
	defer b.Release()
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	for _, r := range rows {
		s(schemas.ColDept).Append(r[3].(string))
		s(schemas.ColFile).Append("sha-" + r[3].(string))
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(int64(r[6].(int)))
		s(schemas.FindSourceKey).Append("")
		s(schemas.FindSeverity).Append(string(schemas.Warning))
		code, field, value := schemas.GenderMismatch, schemas.FieldGender, "男"
		if r[6].(int)%2 == 1 {
			code, field, value = schemas.BirthDateMismatch, schemas.FieldBirthDate, "1990-0\x1f1-01"
		}
		s(schemas.FindCode).Append(string(code))
		s(schemas.FindField).Append(string(field))
		s(schemas.FindValue).Append(value)
	}
	return b.NewRecord()
}

// TestSpillSamePersons: rows spilled to disk and read back a group of
// partitions at a time give the persons of the same rows held in memory,
// field by field (their departments' mismatches too) and in the same
// (blind index) order; an abandoned file's
// rows are left out whether spilled or held; the partition files hold no
// clear text and are gone after Release.
func TestSpillSamePersons(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	held := NewMerger(keys)
	spillInput(t, held)
	held.Abandon("weijian", "sha-weijian")
	want := held.Persons()
	defer held.Release()

	dir := t.TempDir()
	spilled := NewMerger(keys)
	spilled.SpillTo(dir, 64<<10) // about 300 rows: spills every couple of records
	spillInput(t, spilled)
	spilled.Abandon("weijian", "sha-weijian") // most of its rows are on disk already
	if !spilled.Spilled() || spilled.spilledRows < 3000 {
		t.Fatalf("spilled %v, %d rows: want most of the 3400 rows spilled", spilled.Spilled(), spilled.spilledRows)
	}
	// The abandoned file's rows are not counted, spilled or held.
	if got, want := spilled.Rows(), held.Rows(); got != want || want >= 3400 {
		t.Errorf("Rows() = %d spilling, %d held: want the same, without the abandoned file's", got, want)
	}
	// The mismatches of spilled rows went with them: only those of the
	// rows held since the last spill (a few hundred rows) stay.
	if n := len(spilled.mismatch); n > 100 {
		t.Errorf("%d rows' mismatches held after spilling", n)
	}
	var got []Person
	batches := 0
	for ps, err := range spilled.Batches() {
		if err != nil {
			t.Fatal(err)
		}
		batches++
		got = append(got, ps...) // rows stay valid: the test keeps the chunks
		files, _ := filepath.Glob(filepath.Join(dir, "rows-*"))
		if batches == 1 {
			if len(files) < 100 {
				t.Errorf("%d partition files, want most of 256", len(files))
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				// Needles long enough not to occur in random bytes by chance.
				if bytes.Contains(b, []byte("46010000000000")) || bytes.Contains(b, []byte("有限公司")) || bytes.Contains(b, []byte("gongan")) {
					t.Fatalf("%s holds clear text", f)
				}
			}
		}
	}
	if batches < 4 {
		t.Errorf("%d batches, want the budget to split the partitions into several", batches)
	}
	if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(Person{})); diff != "" {
		t.Fatalf("spilled persons differ from held ones (-held +spilled):\n%s", diff)
	}
	mismatches := 0
	for _, p := range got {
		mismatches += len(p.Mismatches)
	}
	if mismatches < 250 {
		t.Errorf("%d mismatches in the persons, want every seventh row's", mismatches)
	}
	if len(spilled.mismatch) != 0 {
		t.Errorf("%d rows' mismatches still held after the batches", len(spilled.mismatch))
	}
	for _, p := range got {
		for _, r := range p.Rows {
			if r.File == "sha-weijian" {
				t.Fatalf("row %d of the abandoned file is in the persons", r.Row)
			}
		}
	}
	// Rows after the batches began would be lost: the run fails.
	late := cleanRecord(t, [][]any{{"460100000000000001", "张三", "", "gongan", 1, 0, 99999, ""}})
	spilled.AddClean(late)
	late.Release()
	if spilled.Err() == nil {
		t.Error("a row added after Batches was taken")
	}
	spilled.Release()
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("after Release: %v", files)
	}
}

// TestSpillBudgetBound: a run holds no more than its budget, rows and the
// open partition files' buffers together, between spills (or one record
// more, when a record alone is over it).
func TestSpillBudgetBound(t *testing.T) {
	t.Parallel()
	m := NewMerger(testKeys(t))
	defer m.Release()
	// Room for one partition file's buffers and some 400 rows.
	const budget = sealfile.WriterBytes + 64<<10
	m.SpillTo(t.TempDir(), budget)
	var rows [][]any
	for i := range 64 { // several partitions
		rows = append(rows, []any{fmt.Sprintf("4601%014d", i*7919), "张三", "13900000001", "gongan", 1, 0, i + 2, "海口市"})
	}
	rec := cleanRecord(t, rows)
	defer rec.Release()
	perRecord := int64(0)
	for range 200 {
		before := m.held
		m.AddClean(rec)
		if before == 0 {
			perRecord = m.held
		}
		if m.held > perRecord && m.held+m.spill.writers > budget {
			t.Fatalf("holds %d bytes and %d of open files, budget %d", m.held, m.spill.writers, budget)
		}
	}
	if m.spill.writers < 50*sealfile.WriterBytes {
		t.Fatalf("%d bytes of open files: want the rows spread over most partitions", m.spill.writers)
	}
	if m.spilledRows < 12000 {
		t.Fatalf("%d rows spilled", m.spilledRows)
	}
}

// BenchmarkSpill: what spilling costs a row, written and read back, against
// holding it (the floor: AddClean alone).
func BenchmarkSpill(b *testing.B) {
	keys := testKeys(b)
	var rows [][]any
	for i := range 4096 {
		rows = append(rows, []any{fmt.Sprintf("4601%014d", i*7919%1000003), "张三", "13900000001", "gongan", 1, 1000, i + 2, "海南省海口市龙华区某路某号"})
	}
	rec := cleanRecord(b, rows)
	defer rec.Release()
	for _, spill := range []bool{false, true} {
		b.Run(fmt.Sprintf("spill=%v", spill), func(b *testing.B) {
			for range b.N {
				m := NewMerger(keys)
				if spill {
					// A few spills of some 100k rows: a few hundred rows
					// per partition each time, as at a larger scale (the
					// budget counts the open partition files' buffers).
					m.SpillTo(b.TempDir(), 32<<20+partitions*sealfile.WriterBytes)
				}
				for range 100 {
					m.AddClean(rec)
				}
				n := 0
				for ps, err := range m.Batches() {
					if err != nil {
						b.Fatal(err)
					}
					n += len(ps)
				}
				m.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100*4096), "ns/row")
		})
	}
}

// TestSpillFailure: a spill that fails (here: its folder is gone) is the
// run's error at once, and the rows that come after it are not held.
func TestSpillFailure(t *testing.T) {
	t.Parallel()
	m := NewMerger(testKeys(t))
	defer m.Release()
	dir := filepath.Join(t.TempDir(), "gone")
	m.SpillTo(dir, 16<<10)
	rec := cleanRecord(t, [][]any{{"460100000000000001", "张三", "13900000001", "gongan", 1, 0, 2, "海口市"}})
	defer rec.Release()
	for range 500 {
		m.AddClean(rec)
	}
	if m.Err() == nil {
		t.Fatal("no error from a spill into a missing folder")
	}
	if m.held > 16<<10 {
		t.Errorf("holds %d bytes after the spill failed", m.held)
	}
	for _, err := range m.Batches() {
		if err == nil {
			t.Fatal("Batches yielded persons after a failed spill")
		}
	}
}
