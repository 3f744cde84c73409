package merge

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

func TestSurvivorship(t *testing.T) {
	t.Parallel()
	c := func(v, dept string, prio int32, upd int64) Candidate {
		return Candidate{Value: v, Source: Source{Dept: dept, File: "f", Row: 1, Priority: prio, UpdatedAt: upd}}
	}
	citizen := Candidate{Value: "13800000000", Source: Source{Priority: 1 << 30, Citizen: true}}
	tests := []struct {
		name  string
		rule  Rule
		cands []Candidate
		want  string
	}{
		{"name_trusted_department_wins", ByPriority, []Candidate{c("张叁", "renshe", 2, 900), c("张三", "gongan", 1, 100)}, "张三"},
		{"name_same_trust_newest_wins", ByPriority, []Candidate{c("张叁", "a", 1, 100), c("张三", "b", 1, 900)}, "张三"},
		{"name_empty_never_wins", ByPriority, []Candidate{c("", "gongan", 1, 900), c("张三", "renshe", 2, 100)}, "张三"},
		{"phone_newest_wins", ByRecency, []Candidate{c("13900000001", "gongan", 1, 100), c("13900000002", "renshe", 2, 900)}, "13900000002"},
		{"phone_unknown_time_loses", ByRecency, []Candidate{c("13900000001", "gongan", 1, 0), c("13900000002", "renshe", 2, 1)}, "13900000002"},
		{"phone_same_time_trusted_wins", ByRecency, []Candidate{c("13900000002", "renshe", 2, 500), c("13900000001", "gongan", 1, 500)}, "13900000001"},
		{"phone_citizen_verified_wins", ByRecency, []Candidate{c("13900000002", "renshe", 2, 1<<60), citizen}, "13800000000"},
		{"name_tie_broken_by_department_code", ByPriority, []Candidate{c("乙", "b", 1, 5), c("甲", "a", 1, 5)}, "甲"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 10 { // any order
				rand.Shuffle(len(tt.cands), func(i, j int) { tt.cands[i], tt.cands[j] = tt.cands[j], tt.cands[i] })
				got, ok := tt.rule.Best(tt.cands)
				if !ok || got.Value != tt.want {
					t.Fatalf("Best() = %q, want %q", got.Value, tt.want)
				}
			}
		})
	}
	if _, ok := ByPriority.Best(nil); ok {
		t.Error("Best(nil) reported a candidate")
	}
}

// cleanRecord builds a CleanPerson record of rows (id, name, phone, dept,
// priority, updated in Unix ms, row number, and optionally an address); a
// department's rows come from its file "sha-<dept>".
func cleanRecord(t testing.TB, rows [][]any) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.CleanPerson)
	defer b.Release()
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	for _, r := range rows {
		s(schemas.ColDept).Append(r[3].(string))
		s(schemas.ColFile).Append("sha-" + r[3].(string))
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(int64(r[6].(int)))
		s(schemas.CleanSourceKey).Append("")
		s(schemas.CleanIDType).Append("resident")
		s(schemas.CleanIDNumber).Append(r[0].(string))
		s(schemas.CleanName).Append(r[1].(string))
		s(schemas.CleanGender).Append("F")
		b.Field(schemas.CleanBirthDate).(*array.Date32Builder).Append(0)
		s(schemas.CleanPhone).Append(r[2].(string))
		if len(r) > 7 {
			s(schemas.CleanAddress).Append(r[7].(string))
		} else {
			s(schemas.CleanAddress).Append("")
		}
		b.Field(schemas.CleanUpdatedAt).(*array.TimestampBuilder).Append(arrow.Timestamp(r[5].(int)))
		b.Field(schemas.CleanPriority).(*array.Int32Builder).Append(int32(r[4].(int)))
	}
	return b.NewRecord()
}

// TestPersonsOrderIndependent: the same rows in any order and any split
// into records give the same persons.
func TestPersonsOrderIndependent(t *testing.T) {
	t.Parallel()
	rows := [][]any{
		{"A", "张三", "13900000001", "gongan", 1, 100, 2},
		{"B", "李四", "", "gongan", 1, 100, 3},
		{"A", "张叁", "13900000002", "renshe", 2, 900, 2},
		{"C", "王五", "13900000003", "weijian", 3, 0, 2},
		{"A", "张三", "", "weijian", 3, 950, 3},
		{"B", "李四", "13900000004", "renshe", 2, 50, 3},
	}
	summary := func(ps []Person) []string {
		var out []string
		// Persons come in key order; the summary lists them by ID.
		slices.SortFunc(ps, func(a, b Person) int { return cmp.Compare(a.ID, b.ID) })
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s %s %s %s:%d", p.ID, p.Name().Value, p.Phone().Value, p.Phone().Dept, p.Phone().Row))
			for _, n := range p.Names {
				out = append(out, "  "+n.Value+"@"+n.Dept)
			}
		}
		return out
	}
	keys := testKeys(t)
	var want []string
	for i := range 20 {
		m := NewMerger(keys)
		shuffled := append([][]any(nil), rows...)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		cut := i % len(rows)
		for _, part := range [][][]any{shuffled[:cut], shuffled[cut:]} {
			if len(part) == 0 {
				continue
			}
			rec := cleanRecord(t, part)
			m.AddClean(rec)
			rec.Release()
		}
		got := summary(m.Persons())
		m.Release()
		if want == nil {
			want = got
			continue
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("order %d: persons differ (-first +this):\n%s", i, diff)
		}
	}
	wantFirst := []string{"A 张三 13900000002 renshe:2", "  张三@gongan", "  张叁@renshe", "B 李四 13900000004 renshe:3", "C 王五 13900000003 weijian:2"}
	if diff := gocmp.Diff(wantFirst, want); diff != "" {
		t.Errorf("persons mismatch (-want +got):\n%s", diff)
	}
}

func TestSortRows(t *testing.T) {
	t.Parallel()
	ids := []string{"110101199003077777", "11010119900307777X", "1101011990030777", "110101199003077", "11", "H12345678", "HB1234567890123456789", "HB1234567890123456788"}
	keys := testKeys(t)
	var rows []Row
	for i := range 2000 {
		r := Row{ID: ids[rand.IntN(len(ids))], Source: Source{Dept: fmt.Sprint(rand.IntN(3)), File: "f", Row: int64(i)}}
		keys.AppendBlindIndex(r.Key[:0], string(schemas.FieldIDNumber), r.ID)
		rows = append(rows, r)
	}
	// Half the rows share their key's first 16 bytes with another ID:
	// the tie falls to the whole key.
	for i := range rows[:1000] {
		rows[i].Key[31] ^= byte(i % 2)
	}
	want := slices.Clone(rows)
	slices.SortFunc(want, func(a, b Row) int {
		return cmp.Or(bytes.Compare(a.Key[:], b.Key[:]), cmp.Compare(a.Dept, b.Dept), cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row))
	})
	distinct := map[Key]bool{}
	for _, r := range rows {
		distinct[r.Key] = true
	}
	// Rows arrive in chunks of any size, as records do.
	var chunks [][]Row
	for rest := rows; len(rest) > 0; {
		n := min(1+rand.IntN(300), len(rest))
		chunks, rest = append(chunks, rest[:n]), rest[n:]
	}
	sorted := sortRows(chunks)
	got := make([]Row, len(sorted))
	for i, r := range sorted {
		got[i] = *r
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if n := groups(sorted); n != len(distinct) {
		t.Errorf("%d groups, want %d", n, len(distinct))
	}
}

func testKeys(t testing.TB) *pii.Keyring {
	t.Helper()
	k, _, err := pii.LoadOrCreateDevKeyring(filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
