package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// TestPinnedNameSurvivesImport: a name staff resolved (issue 20's four
// eyes: name set and pinned, as the approval's resolveConflictIn does)
// stays when a more trusted department later brings another name for the
// same ID number: the pin ranks as the citizen's. The new row is in the
// lineage and the two names are recorded as a conflict. A forced
// re-import of both files keeps the pin. Whether staff chose another
// value (its source cleared) or the stored one (its source kept), and
// unpinned before the second import: the stored value, its source kept,
// is replaced, so the pin is what keeps it; with its source cleared it
// ranks as the citizen's already.
func TestPinnedNameSurvivesImport(t *testing.T) {
	t.Parallel()
	id := validID("460106", "19850101", 200)
	const nameA, nameB, other = "张三", "张珊", "张叁"
	for _, tc := range []struct {
		name   string
		chosen string // the value staff approved
		pin    bool
		want   string // the name after department b's import
	}{
		{"other value pinned", other, true, other},
		{"other value unpinned", other, false, other},
		{"stored value pinned", nameA, true, nameA},
		{"stored value unpinned", nameA, false, nameB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := dbtest.New(t)
			dir := t.TempDir()
			a := Input{failCSV(t, filepath.Join(dir, "ga.csv"), [][]string{{"A1", nameA, id, "", ""}}), failMapping(t, "ga", 5, "")}
			b := Input{failCSV(t, filepath.Join(dir, "sb.csv"), [][]string{{"B1", nameB, id, "", ""}}), failMapping(t, "sb", 1, "")}
			importInto(t, pool, []Input{a}, false)
			// The approval's UPDATE (authsvc resolveConflictIn): the lineage
			// keeps its source only when the value is that source's.
			if _, err := pool.Exec(ctx, `UPDATE account SET name = $1, name_pinned = $2,
				name_source = CASE WHEN name = $1 THEN name_source END, updated_at = now()`, tc.chosen, tc.pin); err != nil {
				t.Fatal(err)
			}
			before := pinnedState(t, pool)
			res := importInto(t, pool, []Input{b}, false)
			after := pinnedState(t, pool)
			if after.name != tc.want || after.pinned != tc.pin || after.lineage != 2 || after.depts != "ga,sb" {
				t.Fatalf("after b's import: %+v; want name %s, pinned %v, lineage of a and b", after, tc.want, tc.pin)
			}
			if tc.want == tc.chosen {
				if after.source != before.source || res.Ledger.Updated != 0 || res.Ledger.Unchanged != 1 {
					t.Errorf("name kept but its source %q -> %q, ledger %+v", before.source, after.source, res.Ledger)
				}
			} else if after.source != "sb" || res.Ledger.Updated != 1 {
				t.Errorf("name replaced: source %q, ledger %+v; want b's, one updated", after.source, res.Ledger)
			}
			// The conflict as the import records it: b's name against the
			// stored one.
			type cand struct {
				Value  string `json:"value"`
				Source string `json:"source"`
				From   []struct {
					Dept string `json:"dept"`
				} `json:"sources"`
			}
			var raw []byte
			if err := pool.QueryRow(ctx, `SELECT candidates FROM merge_conflict WHERE field = 'name' AND status = 'open'`).Scan(&raw); err != nil {
				t.Fatalf("b's name conflict: %v", err)
			}
			var cs []cand
			if err := json.Unmarshal(raw, &cs); err != nil {
				t.Fatal(err)
			}
			hasB := slices.ContainsFunc(cs, func(c cand) bool { return c.Value == nameB && len(c.From) == 1 && c.From[0].Dept == "sb" })
			// The stored name: staff's when pinned (工作人员核定), else the
			// citizen's when it has no department source.
			source := ""
			switch {
			case tc.pin:
				source = "staff"
			case tc.chosen != nameA:
				source = "citizen"
			}
			hasStored := slices.ContainsFunc(cs, func(c cand) bool { return c.Value == tc.chosen && c.Source == source })
			if len(cs) != 2 || !hasB || !hasStored {
				t.Errorf("name conflict candidates %s: want %s from b and the stored %s (source %q)", raw, nameB, tc.chosen, source)
			}
			if !tc.pin {
				return
			}
			// A forced re-import of both files keeps the pin and the sources.
			res = importInto(t, pool, []Input{a, b}, true)
			if forced := pinnedState(t, pool); forced != after || res.Ledger.Updated != 0 {
				t.Errorf("forced re-import: %+v, ledger %+v; want %+v unchanged", forced, res.Ledger, after)
			}
		})
	}
}

type pinned struct {
	name    string
	pinned  bool
	source  string // the name's source department, "" without one
	lineage int
	depts   string
}

func pinnedState(t *testing.T, pool *pgxpool.Pool) pinned {
	t.Helper()
	var p pinned
	if err := pool.QueryRow(context.Background(), `
		SELECT a.name, a.name_pinned, coalesce(fn.dept, ''),
		       (SELECT count(*) FROM account_lineage l WHERE l.account_bidx = a.id_bidx),
		       (SELECT string_agg(DISTINCT f.dept, ',' ORDER BY f.dept) FROM account_lineage l JOIN source_file f ON f.id = l.file_id WHERE l.account_bidx = a.id_bidx)
		FROM account a
		LEFT JOIN account_lineage ln ON ln.account_bidx = a.id_bidx AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id`).
		Scan(&p.name, &p.pinned, &p.source, &p.lineage, &p.depts); err != nil {
		t.Fatal(err)
	}
	return p
}
