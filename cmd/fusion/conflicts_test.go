package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// TestConflicts: fusion conflicts lists every open conflict of the store,
// by field as the generator's truth expects, each with its account's
// masked ID and the sources of every candidate.
func TestConflicts(t *testing.T) {
	t.Parallel()
	im := importSample(t, 2000)
	ctx := t.Context()
	var all int64
	if err := im.pool.QueryRow(ctx, `SELECT count(*) FROM merge_conflict`).Scan(&all); err != nil {
		t.Fatal(err)
	}
	if all == 0 || all != im.result.Ledger.Conflicts {
		t.Fatalf("store has %d conflicts, the import recorded %d", all, im.result.Ledger.Conflicts)
	}

	tests := []struct {
		field string
		want  int64
	}{
		{"", all},
		{"name", im.truth.Conflicts[schemas.FieldName]},
		{"gender", im.truth.Conflicts[schemas.FieldGender]},
		{"birth_date", im.truth.Conflicts[schemas.FieldBirthDate]},
	}
	for _, tt := range tests {
		t.Run("field="+tt.field, func(t *testing.T) {
			t.Parallel()
			args := []string{"conflicts", "--json", "--limit", "0"}
			if tt.field != "" {
				args = append(args, "--field", tt.field)
			}
			code, stdout, _ := im.cli(t, args...)
			if code != exitOK {
				t.Fatalf("exit code %d", code)
			}
			var got struct {
				Total     int64
				Conflicts []report.Conflict
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("conflicts --json output: %v\n%s", err, stdout)
			}
			if diff := cmp.Diff([]int64{tt.want, tt.want}, []int64{got.Total, int64(len(got.Conflicts))}); diff != "" {
				t.Errorf("total and listed conflicts mismatch (-want +got):\n%s", diff)
			}
			for _, c := range got.Conflicts {
				checkConflict(t, c, tt.field)
			}
		})
	}

	t.Run("limit", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := im.cli(t, "conflicts", "--limit", "3")
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 6 { // header, 3 conflicts, blank, summary
			t.Fatalf("printed %d lines, want 6:\n%s", len(lines), stdout)
		}
		for _, l := range lines[1:4] {
			if !strings.Contains(l, "*****") || !strings.Contains(l, " ← ") || !strings.Contains(l, " row ") {
				t.Errorf("conflict line without masked ID or sources: %q", l)
			}
		}
		if !strings.HasPrefix(lines[5], strconv.FormatInt(all, 10)+" open conflicts, 3 shown") {
			t.Errorf("summary %q, want %d open conflicts, 3 shown", lines[5], all)
		}
	})
}

// checkConflict checks one listed conflict: field, masked ID, candidates
// with their sources.
func checkConflict(t *testing.T, c report.Conflict, field string) {
	t.Helper()
	if field != "" && c.Field != field {
		t.Errorf("conflict %d: field %q, want %q", c.ID, c.Field, field)
	}
	if !strings.Contains(c.IDHint, "*****") || c.Name == "" || c.AccountID == 0 {
		t.Errorf("conflict %d: account %d, id %q, name %q", c.ID, c.AccountID, c.IDHint, c.Name)
	}
	if len(c.Candidates) < 2 {
		t.Errorf("conflict %d: %d candidates", c.ID, len(c.Candidates))
	}
	for _, cand := range c.Candidates {
		if cand.Source == "" && len(cand.Sources) == 0 {
			t.Errorf("conflict %d: candidate %q without a source", c.ID, cand.Value)
		}
		for _, s := range cand.Sources {
			if s.Dept == "" || len(s.SHA256) != 64 || s.Row < 1 {
				t.Errorf("conflict %d: candidate %q: source %+v", c.ID, cand.Value, s)
			}
		}
	}
}

// TestPrintLegal: a legal account's conflicts say its field in Chinese
// (法人名称, 法定代表人), a run's detail its legal persons.
func TestPrintLegal(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	printConflicts(&b, []report.Conflict{
		{ID: 1, AccountID: 7, IDHint: "9146**********001A", Name: "某公司", Kind: "legal", Field: "rep_name",
			Candidates: []report.Candidate{{Value: "韩梅梅 4*****4", Sources: []report.CandidateSource{{Dept: "scjg", Row: 2}}}, {Value: "王五 4*****8", Sources: []report.CandidateSource{{Dept: "swj", Row: 2}}}}},
		{ID: 2, AccountID: 7, IDHint: "9146**********001A", Name: "某公司", Kind: "legal", Field: "name"},
		{ID: 3, AccountID: 8, IDHint: "4*****4", Name: "张三", Kind: "natural", Field: "name"},
	}, 3)
	for _, want := range []string{"rep_name 法定代表人", "韩梅梅 4*****4 ← scjg row 2; 王五 4*****8 ← swj row 2", "name 法人名称", "name 姓名"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("conflicts do not say %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printRun(&b, report.RunDetail{Run: report.Run{ID: 1, Persons: 3, New: 3, Legal: &report.KindCounts{Persons: 2, New: 2}}})
	if want := "of which 2 legal persons = 2 new + 0 updated + 0 unchanged"; !strings.Contains(b.String(), want) {
		t.Errorf("run detail does not say %q:\n%s", want, b.String())
	}
	// The export has the kind and a legal account's values, masked.
	row := &exportRow{Golden: &report.Golden{Kind: "legal", RepName: "韩梅梅", RepIDHint: "4*****4", RepSource: &report.ValueSource{Dept: "scjg", Row: 2}}}
	got := map[string]string{}
	for _, c := range exportColumns(false) {
		got[c.field.Name] = c.text(row)
	}
	for col, want := range map[string]string{"kind": "legal", "rep_name": "韩梅梅", "rep_id_hint": "4*****4", "rep_source_dept": "scjg", "contact_source_dept": ""} {
		if v, ok := got[col]; !ok || v != want {
			t.Errorf("export column %s = %q (%v), want %q", col, v, ok, want)
		}
	}
}
