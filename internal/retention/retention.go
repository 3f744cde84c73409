// Package retention deletes the personal data of rejected rows and of the
// pipeline's outputs once it is older than a configured period (PIPL: kept
// no longer than needed), and records every purge in the table purge_audit
// (migration 013). fusion purge runs it by hand, fusion schedule as the
// housekeeping job purge_rejects.
//
// What is purged, data older than the period:
//
//   - import_reject: the source key and the value of rejected rows of runs
//     finished before the cutoff are cleared; the row stays with its run,
//     file, row number, reason code and field, which is what the ledger
//     checks and fusion runs count.
//   - the scheduler's folders in each department's inbox:
//     archive/run-<id>/ (the imported exports, the report and the feedback
//     workbook), archive/<date>/ and rejected/<date>/, each by its
//     modification time (when the scheduler last moved a file in). Other
//     names there are not the scheduler's and stay.
//   - in the output folders of fusion check and import (--out) and of
//     --keep-stages, the files the pipeline writes that hold personal data:
//     <dept>-feedback.xlsx and the CSVs beside it (values in clear),
//     the .spill-* folder a killed run leaves (.findings-* before), rejects.parquet,
//     clean.parquet and findings.parquet, by modification time. Run reports
//     (run-<id>.json) hold counts and file names only and stay.
//
// Folders are opened with os.Root: a symlink planted in an inbox cannot
// lead a deletion outside it.
package retention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
)

// ParseAge parses a period such as "180d" (days) or a Go duration such as
// "36h"; it must be positive.
func ParseAge(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive period such as 180d or 36h", s)
	}
	return d, nil
}

// Options say what Purge deletes.
type Options struct {
	// OlderThan is the period: what is older goes. Required.
	OlderThan time.Duration
	// Now is when the period ends. Default time.Now().
	Now time.Time
	// DryRun counts and lists what would go, and changes and records
	// nothing.
	DryRun bool
	// Trigger is recorded: "manual" (default) or "schedule".
	Trigger string
	// Inboxes are the departments' inbox folders, whose archive/ and
	// rejected/ folders the scheduler wrote.
	Inboxes []string
	// Dirs are output folders of fusion check and import and of
	// --keep-stages.
	Dirs []string
	// Logger receives every folder and file deleted. Default: discard.
	Logger *slog.Logger
}

// Result is what a purge did (or, dry, would do).
type Result struct {
	// AuditID is the purge's row in purge_audit (0 for a dry run).
	AuditID int64 `json:"audit_id,omitempty"`
	// Cutoff is Now less OlderThan.
	Cutoff time.Time `json:"cutoff"`
	// RejectRows rejected rows of Runs runs had their personal fields
	// cleared.
	RejectRows int64 `json:"reject_rows"`
	Runs       int64 `json:"runs"`
	// Files were deleted, those in the Folders deleted included.
	Files   int64 `json:"files"`
	Folders int64 `json:"folders"`
	// Paths are the folders and files deleted.
	Paths []string `json:"paths"`
	// DryRun: nothing was changed.
	DryRun bool `json:"dry_run,omitempty"`
}

// Purge clears the rejected rows' personal data of runs finished before the
// cutoff and deletes the files and folders older than it (see the package
// comment). The rejects are cleared and the purge recorded in one
// transaction; the files are deleted after it commits, and the record then
// gets their count (files stays NULL if deleting them failed). It is safe
// to run in several processes at once: a row is cleared by one of them, and
// a folder another one deleted is no error.
func Purge(ctx context.Context, pool *pgxpool.Pool, o Options) (res Result, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("retention.Purge: %w", err)
		}
	}()
	if o.OlderThan <= 0 {
		return Result{}, errors.New("Options.OlderThan must be positive")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Trigger == "" {
		o.Trigger = "manual"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	res = Result{Cutoff: o.Now.Add(-o.OlderThan), DryRun: o.DryRun}
	var doomed []target
	for _, inbox := range o.Inboxes {
		t, err := inboxTargets(inbox, res.Cutoff)
		if err != nil {
			return Result{}, err
		}
		doomed = append(doomed, t...)
	}
	for _, dir := range o.Dirs {
		t, err := outputTargets(dir, res.Cutoff)
		if err != nil {
			return Result{}, err
		}
		doomed = append(doomed, t...)
	}
	for _, t := range doomed {
		res.Paths = append(res.Paths, filepath.Join(t.root, t.name))
		res.Files += t.files
		if t.folder {
			res.Folders++
		}
	}

	if o.DryRun {
		err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT j.run_id) FROM import_reject j JOIN import_run r ON r.id = j.run_id
			WHERE r.finished_at < $1 AND (j.source_key <> '' OR j.value <> '')`, res.Cutoff).Scan(&res.RejectRows, &res.Runs)
		return res, err
	}
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH cleared AS (
				UPDATE import_reject j SET source_key = '', value = ''
				FROM import_run r
				WHERE r.id = j.run_id AND r.finished_at < $1 AND (j.source_key <> '' OR j.value <> '')
				RETURNING j.run_id)
			INSERT INTO purge_audit (trigger, older_than, cutoff, reject_rows, runs)
			SELECT $2, make_interval(secs => $3), $1, count(*), count(DISTINCT run_id) FROM cleared
			RETURNING id, reject_rows, runs`, res.Cutoff, o.Trigger, o.OlderThan.Seconds()).Scan(&res.AuditID, &res.RejectRows, &res.Runs)
	})
	if err != nil {
		return Result{}, err
	}
	o.Logger.Info("rejects_purged", slog.Int64("purge_id", res.AuditID), slog.Int64("reject_rows", res.RejectRows),
		slog.Int64("runs", res.Runs), slog.Time("cutoff", res.Cutoff))
	for _, t := range doomed {
		if err := t.remove(); err != nil {
			return res, fmt.Errorf("purge %d: %w", res.AuditID, err)
		}
		o.Logger.Info("purged", slog.String("path", filepath.Join(t.root, t.name)), slog.Int64("files", t.files))
	}
	// Not ctx: the files are gone, the record must say so.
	_, err = pool.Exec(context.WithoutCancel(ctx), `UPDATE purge_audit SET files = $2, folders = $3 WHERE id = $1`,
		res.AuditID, res.Files, res.Folders)
	return res, err
}

// target is a folder or file to delete: name, relative to the folder
// root.
type target struct {
	root, name string
	folder     bool
	files      int64
}

func (t target) remove() error {
	r, err := os.OpenRoot(t.root)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.RemoveAll(t.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// schedulerFolder matches the folders the scheduler makes under archive/
// and rejected/: run-<id> and dates.
var schedulerFolder = regexp.MustCompile(`^(run-[0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2})$`)

// inboxTargets lists the scheduler's folders in inbox last written before
// cutoff.
func inboxTargets(inbox string, cutoff time.Time) ([]target, error) {
	r, err := os.OpenRoot(inbox)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	defer r.Close()
	var out []target
	for _, sub := range []string{"archive", "rejected"} {
		fi, err := r.Lstat(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() { // a symlink: not the scheduler's
			continue
		}
		entries, err := fs.ReadDir(r.FS(), sub)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() || !schedulerFolder.MatchString(e.Name()) {
				continue
			}
			if old, err := before(e, cutoff); err != nil {
				return nil, err
			} else if !old {
				continue
			}
			name := sub + "/" + e.Name()
			n, err := countFiles(r.FS(), name)
			if err != nil {
				return nil, err
			}
			out = append(out, target{root: inbox, name: name, folder: true, files: n})
		}
	}
	return out, nil
}

// before reports whether e was last modified before cutoff; one gone
// since it was listed is not.
func before(e fs.DirEntry, cutoff time.Time) (bool, error) {
	info, err := e.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.ModTime().Before(cutoff), nil
}

// countFiles counts the files under dir (symlinks not followed).
func countFiles(fsys fs.FS, dir string) (int64, error) {
	var n int64
	err := fs.WalkDir(fsys, dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	return n, err
}

// feedbackFile reports whether name is a department's feedback workbook or
// the CSV of the findings its detail sheets leave out (see feedback.Write):
// both hold the department's values in clear.
func feedbackFile(name string) bool {
	return strings.HasSuffix(name, "-feedback.xlsx") ||
		strings.HasSuffix(name, "-feedback-rejects.csv") || strings.HasSuffix(name, "-feedback-warnings.csv")
}

// outputTargets lists the pipeline's files with personal data in dir
// (not its subfolders) last written before cutoff.
func outputTargets(dir string, cutoff time.Time) ([]target, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []target
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() && (strings.HasPrefix(name, ".spill-") || strings.HasPrefix(name, ".findings-")) {
			// A run's spilled rows and findings, left by a run that was
			// killed (sealed with a key gone with it; older versions'
			// findings in clear).
			if old, err := before(e, cutoff); err != nil {
				return nil, err
			} else if old {
				n, err := countFiles(os.DirFS(dir), name)
				if err != nil {
					return nil, err
				}
				out = append(out, target{root: dir, name: name, folder: true, files: n})
			}
			continue
		}
		if !e.Type().IsRegular() || !(feedbackFile(name) ||
			name == "rejects.parquet" || name == "clean.parquet" || name == "findings.parquet") {
			continue
		}
		if old, err := before(e, cutoff); err != nil {
			return nil, err
		} else if old {
			out = append(out, target{root: dir, name: name, files: 1})
		}
	}
	return out, nil
}
