package report

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// Run is a committed import run: when and how it ran, the totals of its
// files as stored in import_file, and the persons, accounts and conflicts
// of the ledger stored with it (import_run.ledger, merge's Ledger).
type Run struct {
	ID       int64     `json:"run_id"`
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at"`
	// Trigger is "manual" or "schedule".
	Trigger string `json:"trigger"`
	// Forced says the run imported files that had been imported before.
	Forced   bool  `json:"forced"`
	Files    int64 `json:"files"`
	Read     int64 `json:"rows_read"`
	Accepted int64 `json:"rows_accepted"`
	Rejected int64 `json:"rows_rejected"`
	// Lineage is the ledger's count of lineage rows over the run's files,
	// as checked when the run committed.
	Lineage   int64 `json:"lineage_rows"`
	Persons   int64 `json:"persons"`
	New       int64 `json:"new"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	// Conflicts is the number of conflicts the run recorded.
	Conflicts int64 `json:"conflicts"`
	// Legal counts the legal persons among the persons (nil: none).
	Legal *KindCounts `json:"legal,omitempty"`
	// Balanced says read = accepted + rejected, lineage = accepted and
	// persons = new + updated + unchanged (and so for the legal persons).
	Balanced bool `json:"balanced"`
}

// KindCounts are the persons of one kind of account in a run's ledger.
type KindCounts struct {
	Persons   int64 `json:"persons"`
	New       int64 `json:"new"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// RunFile is the ledger of one file of a run: the file's ledger as the
// run recorded it (its Lineage is the count when the run committed, 0 if
// the ledger does not list the file), and what the store holds now.
type RunFile struct {
	schemas.FileLedger
	// LineageNow is the file's lineage rows in the store now, counted
	// again; only imports write lineage, so it stays equal to Lineage.
	LineageNow int64 `json:"lineage_rows_now"`
	// RejectsStored is the run's rows of the file in import_reject.
	RejectsStored int64 `json:"rejects_stored"`
	// Balanced says read = accepted + rejected, and lineage (recorded and
	// counted now) = accepted, and stored rejects = rejected.
	Balanced bool `json:"balanced"`
}

// RunDetail is a run with the ledger of each of its files.
type RunDetail struct {
	Run
	FileLedgers []RunFile `json:"file_ledgers"`
}

// runSelect reads runs; the caller adds WHERE, GROUP BY r.id and ORDER.
// The ledger's files are matched by JSON key: a ledger without files (or
// from before a key existed) counts 0.
const runSelect = `
	SELECT r.id, r.started_at, r.finished_at, r.trigger, r.forced,
	       count(f.file_id),
	       coalesce(sum(f.rows_read), 0)::bigint,
	       coalesce(sum(f.rows_accepted), 0)::bigint,
	       coalesce(sum(f.rows_rejected), 0)::bigint,
	       coalesce((SELECT sum((x->>'lineage_rows')::bigint) FROM jsonb_array_elements(
	           CASE jsonb_typeof(r.ledger->'files') WHEN 'array' THEN r.ledger->'files' ELSE '[]' END) x), 0)::bigint,
	       coalesce((r.ledger->>'persons')::bigint, 0),
	       coalesce((r.ledger->>'new')::bigint, 0),
	       coalesce((r.ledger->>'updated')::bigint, 0),
	       coalesce((r.ledger->>'unchanged')::bigint, 0),
	       coalesce((r.ledger->>'conflicts')::bigint, 0),
	       r.ledger->'legal'
	FROM import_run r
	LEFT JOIN import_file f ON f.run_id = r.id`

func scanRun(row pgx.Row) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Started, &r.Finished, &r.Trigger, &r.Forced,
		&r.Files, &r.Read, &r.Accepted, &r.Rejected, &r.Lineage,
		&r.Persons, &r.New, &r.Updated, &r.Unchanged, &r.Conflicts, &r.Legal)
	r.Balanced = r.Read == r.Accepted+r.Rejected && r.Lineage == r.Accepted &&
		r.Persons == r.New+r.Updated+r.Unchanged &&
		(r.Legal == nil || r.Legal.Persons == r.Legal.New+r.Legal.Updated+r.Legal.Unchanged)
	return r, err
}

// Runs lists the committed import runs, newest first; limit 0 lists all.
// Newest is by id: a run takes its id under the import lock, so ids follow
// the order in which runs committed, while two runs may have started
// (began reading) in the other order.
func Runs(ctx context.Context, db DB, limit int) (_ []Run, err error) {
	defer wrap(&err, "report.Runs(%d)", limit)
	rows, err := db.Query(ctx, runSelect+`
		GROUP BY r.id
		ORDER BY r.id DESC
		LIMIT $1`, limitArg(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunByID returns a run with its files' ledgers, or database.ErrNotFound.
// The run balances only if every file does too.
func RunByID(ctx context.Context, db DB, id int64) (_ RunDetail, err error) {
	defer wrap(&err, "report.RunByID(%d)", id)
	run, err := scanRun(db.QueryRow(ctx, runSelect+` WHERE r.id = $1 GROUP BY r.id`, id))
	if err != nil {
		return RunDetail{}, database.Translate(err)
	}
	d := RunDetail{Run: run}
	rows, err := db.Query(ctx, `
		SELECT f.name, f.dept, f.sha256, f.format, f.encoding,
		       f.rows_read, f.rows_accepted, f.rows_rejected, f.warnings,
		       coalesce(led.lineage_rows, 0),
		       (SELECT count(*) FROM account_lineage l WHERE l.file_id = f.file_id),
		       (SELECT count(*) FROM import_reject j WHERE j.run_id = f.run_id AND j.file_id = f.file_id)
		FROM import_file f
		JOIN import_run r ON r.id = f.run_id
		LEFT JOIN LATERAL (
		    SELECT (x->>'lineage_rows')::bigint AS lineage_rows
		    FROM jsonb_array_elements(CASE jsonb_typeof(r.ledger->'files') WHEN 'array' THEN r.ledger->'files' ELSE '[]' END) x
		    WHERE x->>'dept' = f.dept AND x->>'sha256' = f.sha256
		    LIMIT 1) led ON true
		WHERE f.run_id = $1
		ORDER BY f.dept, f.name, f.file_id`, id)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	for rows.Next() {
		var f RunFile
		if err := rows.Scan(&f.Name, &f.Dept, &f.SHA256, &f.Format, &f.Encoding,
			&f.Read, &f.Accepted, &f.Rejected, &f.Warnings, &f.Lineage, &f.LineageNow, &f.RejectsStored); err != nil {
			return d, err
		}
		f.Balanced = f.Read == f.Accepted+f.Rejected && f.Lineage == f.Accepted &&
			f.LineageNow == f.Accepted && f.RejectsStored == f.Rejected
		d.Balanced = d.Balanced && f.Balanced
		d.FileLedgers = append(d.FileLedgers, f)
	}
	return d, rows.Err()
}
