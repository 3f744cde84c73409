package merge

// Lineage: the id of every input row and its COPY, account by account.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

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
	persons := l.persons
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
func (l *loader) copyLineage(ctx context.Context, lines *lineTable, want int64) error {
	if want == 0 {
		return nil
	}
	persons := l.persons
	i, j := 0, 0
	copyFn := database.CopyBinary
	if l.fresh["account_lineage"] {
		copyFn = database.CopyBinaryFreeze
	}
	n, err := copyFn(ctx, l.tx, "account_lineage",
		[]string{"id", "account_bidx", "run_id", "file_id", "row_num", "source_key", "priority", "record_updated_at"},
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
					w.Bytea(persons[i].Key[:])
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

// bulkTables are the tables a run fills by COPY that nothing references,
// so that the first import can empty them with TRUNCATE. account is not
// among them: every table of the login service that points at an account
// has a FOREIGN KEY to it, and PostgreSQL truncates a referenced table only
// together with the tables that reference it.
var bulkTables = []string{"account_lineage", "import_reject"}

// truncateEmpty TRUNCATEs, in the run's transaction, each of bulkTables
// that holds no row (the first import into an empty store), when the run's
// role may: the run's COPY into such a table then writes its rows frozen
// (COPY FREEZE: no later reader or VACUUM rewrites the pages to set hint
// bits or freeze them) and, on a server with wal_level=minimal (the
// embedded one), without WAL: PostgreSQL syncs the table's new files at
// commit instead, so the rows are written once, not twice, and a crash
// before the commit leaves the old, empty files. A role without the
// TRUNCATE privilege (idfusion_import, migration 012), or a table another
// session holds a lock on, keeps the ordinary path.
func (l *loader) truncateEmpty(ctx context.Context) error {
	l.fresh = map[string]bool{}
	for _, t := range bulkTables {
		var ok bool
		if err := l.tx.QueryRow(ctx, `SELECT has_table_privilege($1, 'TRUNCATE') AND NOT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`,
			t).Scan(&ok); err != nil {
			return fmt.Errorf("look whether %s is empty: %w", t, err)
		}
		if !ok {
			continue
		}
		// A savepoint, so that a failed TRUNCATE leaves the run on the
		// ordinary path; released either way: COPY FREEZE needs the
		// truncation in the current subtransaction, and a savepoint only
		// rolled back to (pgx's nested Rollback) would stay the current
		// one, failing the FREEZE of a table truncated before it.
		if _, err := l.tx.Exec(ctx, `SAVEPOINT truncate_empty`); err != nil {
			return err
		}
		// NOWAIT: a session reading the table (a report) keeps it, and the
		// run the ordinary path, rather than the run waiting behind the
		// reader and every later reader behind the run. Empty still, once
		// locked (the check above took no lock that stops an insert).
		var still bool
		_, err := l.tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{t}.Sanitize()+` IN ACCESS EXCLUSIVE MODE NOWAIT`)
		if err == nil {
			err = l.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`).Scan(&still)
		}
		if err == nil && !still {
			err = errors.New("no longer empty")
		}
		if err == nil {
			_, err = l.tx.Exec(ctx, `TRUNCATE `+pgx.Identifier{t}.Sanitize())
		}
		if err != nil {
			l.cfg.Logger.Info("load_truncate_skipped", slog.String("table", t), slog.String("error", err.Error()))
			if _, err := l.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT truncate_empty; RELEASE SAVEPOINT truncate_empty`); err != nil {
				return err
			}
			continue
		}
		if _, err := l.tx.Exec(ctx, `RELEASE SAVEPOINT truncate_empty`); err != nil {
			return err
		}
		l.fresh[t] = true
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
