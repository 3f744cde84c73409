package report

import (
	"context"
	"errors"
	"time"

	"github.com/idfusion/idfusion/internal/database"
)

// Export is an export of the golden records as the audit trail records
// it (table export_audit).
type Export struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Reason is why the export was made; required when Decrypted.
	Reason string `json:"reason"`
	// Rows is the number of rows written; nil while the export runs, and
	// for ever if it failed.
	Rows *int64 `json:"rows"`
	// Path is the output file, absolute.
	Path string `json:"path"`
	// Decrypted says the export holds ID numbers and phones in clear.
	Decrypted bool `json:"decrypted"`
}

// ErrNoReason is returned by StartExport for a decrypting export without
// a reason.
var ErrNoReason = errors.New("a decrypting export needs a reason")

// StartExport records an export about to be written and returns its id.
// It must be called, and committed, before the first value is decrypted,
// so that an export that fails half-way still leaves its trace.
func StartExport(ctx context.Context, db DB, reason, path string, decrypted bool) (id int64, err error) {
	defer wrap(&err, "report.StartExport(%q)", path)
	if decrypted && reason == "" {
		return 0, ErrNoReason
	}
	err = db.QueryRow(ctx, `INSERT INTO export_audit (reason, path, decrypted) VALUES ($1, $2, $3) RETURNING id`,
		reason, path, decrypted).Scan(&id)
	return id, err
}

// FinishExport records the number of rows of a finished export. It
// changes only an export still running, and returns database.ErrNotFound
// for any other.
func FinishExport(ctx context.Context, db DB, id, rows int64) (err error) {
	defer wrap(&err, "report.FinishExport(%d)", id)
	tag, err := db.Exec(ctx, `UPDATE export_audit SET rows = $2 WHERE id = $1 AND rows IS NULL`, id, rows)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return database.ErrNotFound
	}
	return nil
}

// Exports lists the recorded exports, newest first; limit 0 lists all.
func Exports(ctx context.Context, db DB, limit int) (_ []Export, err error) {
	defer wrap(&err, "report.Exports(%d)", limit)
	rows, err := db.Query(ctx, `SELECT id, at, reason, rows, path, decrypted FROM export_audit ORDER BY id DESC LIMIT $1`, limitArg(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Export
	for rows.Next() {
		var x Export
		if err := rows.Scan(&x.ID, &x.At, &x.Reason, &x.Rows, &x.Path, &x.Decrypted); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
