package merge

// Lineage: the id of every input row and its COPY, account by account.

import (
	"context"
	"fmt"

	"github.com/idfusion/idfusion/internal/database"
)

// lineTable holds the lineage id of every input row of the run, person by
// person: the rows of person i at ids[off[i]:off[i+1]].
type lineTable struct {
	off []int
	ids []int64
	// first is the first id of the run's block: ids below it are rows the
	// store had before (a forced re-import).
	first int64
}

// sources are the lineage ids of the rows a person's values came from;
// nil for an empty value.
type sources struct{ name, phone, address, rep, contact *int64 }

func (t *lineTable) sources(i int, p *Person) sources {
	at := func(j int32) *int64 {
		if j < 0 {
			return nil
		}
		return &t.ids[t.off[i]+int(j)]
	}
	return sources{at(p.nameRow), at(p.phoneRow), at(p.addressRow), at(p.repRow), at(p.contactRow)}
}

// assignLineage gives every input row its lineage id: the one stored for
// it, or the next of a block reserved for the run, in the order the rows
// are written (persons in blind index order, a person's rows together).
func (l *loader) assignLineage(ctx context.Context, stored map[lineageKey]int64) (*lineTable, int64, error) {
	persons := l.in.Persons
	t := &lineTable{off: make([]int, len(persons)+1)}
	for i := range persons {
		t.off[i+1] = t.off[i] + len(persons[i].Rows)
	}
	t.ids = make([]int64, t.off[len(persons)])
	storedID := func(r *Row) (int64, bool) {
		if len(stored) == 0 {
			return 0, false
		}
		id, ok := stored[lineageKey{l.fileID(r.Dept, r.File), r.Row}]
		return id, ok
	}
	n := int64(len(t.ids))
	if len(stored) > 0 {
		for i := range persons {
			for j := range persons[i].Rows {
				if _, ok := storedID(persons[i].Rows[j]); ok {
					n--
				}
			}
		}
	}
	first, err := l.reserveLineage(ctx, n)
	if err != nil {
		return nil, 0, err
	}
	t.first = first
	next := first
	for i := range persons {
		rows := persons[i].Rows
		for j := range rows {
			id, ok := storedID(rows[j])
			if !ok {
				id, next = next, next+1
			}
			t.ids[t.off[i]+j] = id
		}
	}
	return t, n, nil
}

// copyLineage COPYs the run's new lineage rows, account by account.
func (l *loader) copyLineage(ctx context.Context, accounts []int64, lines *lineTable, want int64) error {
	if want == 0 {
		return nil
	}
	persons := l.in.Persons
	i, j := 0, 0
	n, err := database.CopyBinary(ctx, l.tx, "account_lineage",
		[]string{"id", "account_id", "run_id", "file_id", "row_num", "source_key", "priority", "record_updated_at"},
		func(w *database.CopyRow) (bool, error) {
			for ; i < len(persons); i, j = i+1, 0 {
				rows := persons[i].Rows
				for ; j < len(rows); j++ {
					id := lines.ids[lines.off[i]+j]
					if id < lines.first {
						continue // stored before
					}
					r := rows[j]
					j++
					w.Int64(id)
					w.Int64(accounts[i])
					w.Int64(l.runID)
					w.Int32(l.fileID(r.Dept, r.File))
					w.Int64(r.Row)
					w.Text(r.SourceKey)
					w.Int32(r.Priority)
					if r.UpdatedAt != 0 {
						w.TimestampMilli(r.UpdatedAt)
					} else {
						w.Null()
					}
					return true, nil
				}
			}
			return false, nil
		})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("copy into account_lineage: %d of %d rows", n, want)
	}
	return nil
}

// fileID returns the id of one of the run's files. A run has few files and
// a row's strings are shared with its neighbours', so a scan beats a map.
func (l *loader) fileID(dept, sha string) int32 {
	if l.lastFile.id != 0 && l.lastFile.sha == sha && l.lastFile.dept == dept {
		return l.lastFile.id
	}
	id, ok := l.files[fileKey{dept, sha}]
	if !ok {
		panic(fmt.Sprintf("merge: a row of %s file %s is not among the run's files", dept, sha)) // rows come from the run's files
	}
	l.lastFile = struct {
		dept, sha string
		id        int32
	}{dept, sha, id}
	return id
}
