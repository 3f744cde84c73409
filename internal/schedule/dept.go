package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idfusion/idfusion/internal/pipeline"
)

// The folders of an inbox that files are moved into.
const (
	archiveDir  = "archive"
	rejectedDir = "rejected"
)

// runDept is one tick of a department: under its lock, import the complete
// files of its inbox as one run and move them out. A failure is logged,
// counted and returned; a tick skipped for the lock is not a failure.
func (s *Scheduler) runDept(ctx context.Context, d *Department) (err error) {
	log := s.log.With(slog.String("dept", d.Code))
	defer func() {
		if err != nil {
			log.Error("dept_run_failed", slog.Any("error", err))
			s.metrics.run(d.Code, outcomeError, s.opts.Now())
		}
	}()
	select {
	case s.importing <- struct{}{}:
		defer func() { <-s.importing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	unlock, ok, err := tryLock(ctx, s.pool, d.Code, log)
	if err != nil {
		return fmt.Errorf("department lock: %w", err)
	}
	if !ok {
		log.Info("tick_skipped", slog.String("reason", "another scheduler holds the department"))
		s.metrics.run(d.Code, outcomeSkipped, s.opts.Now())
		return nil
	}
	defer unlock()

	now := s.opts.Now()
	complete, waiting, err := scanInbox(d.Inbox, now, s.cfg.settle)
	if err != nil {
		return err
	}
	for _, f := range waiting {
		log.Info("file_waiting", slog.String("file", filepath.Base(f.path)), slog.Int64("size", f.size), slog.Time("modified", f.mtime))
	}
	if len(complete) == 0 {
		log.Debug("dept_inbox_empty")
		s.metrics.run(d.Code, outcomeOK, now)
		return nil
	}
	if err := s.importInbox(ctx, log, d, complete); err != nil {
		return err
	}
	s.metrics.run(d.Code, outcomeOK, now)
	return nil
}

// importInbox imports files as one run, then moves them and puts the run
// report and the feedback workbook beside them. If the import fails
// nothing is moved.
func (s *Scheduler) importInbox(ctx context.Context, log *slog.Logger, d *Department, files []inboxFile) error {
	archive := filepath.Join(d.Inbox, archiveDir)
	// The sender may create archive/ or rejected/ as a symlink: the files,
	// the reports and the removal of stale folders below would then happen
	// outside the inbox. Refuse before anything is imported.
	if err := mkdirIn(d.Inbox, archive); err != nil {
		return err
	}
	if err := checkDirIn(d.Inbox, filepath.Join(d.Inbox, rejectedDir)); err != nil {
		return err
	}
	// The report and the workbooks are written to a hidden folder first:
	// where they go depends on the run's id and the files' fate. One left
	// over is from a scheduler that died (this one holds the department).
	// Not filepath.Glob: the inbox's path may hold glob metacharacters.
	entries, err := os.ReadDir(archive)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".pending-") {
			if err := os.RemoveAll(filepath.Join(archive, e.Name())); err != nil {
				return err
			}
		}
	}
	stage, err := os.MkdirTemp(archive, ".pending-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	inputs := make([]pipeline.Input, len(files))
	for i, f := range files {
		inputs[i] = pipeline.Input{Path: f.path, Mapping: s.cfg.mappings[d.Code]}
	}
	log.Info("dept_import_started", slog.Int("files", len(files)))
	res, err := pipeline.Import(ctx, s.pool, inputs, pipeline.ImportConfig{
		Keyring: s.opts.Keyring, OutDir: stage, Trigger: "schedule", Logger: log, HoldBytes: s.opts.HoldBytes,
	})
	if err != nil {
		return fmt.Errorf("import (nothing moved; the files are taken again on the next tick): %w", err)
	}

	// From here on the run is committed: the files are moved whatever ctx
	// says.
	byPath := map[string]inboxFile{}
	for _, f := range files {
		byPath[f.path] = f
	}
	var imported, rejected, already []inboxFile
	var read, accepted, rowsRejected int64
	for _, fs := range res.Files {
		if fs.Changed {
			// Still being written: it stays for a later tick, whole.
			log.Warn("file_changed_during_import", slog.String("file", filepath.Base(fs.Path)))
			continue
		}
		if fs.Error != "" {
			rejected = append(rejected, byPath[fs.Path])
			log.Warn("file_rejected", slog.String("file", filepath.Base(fs.Path)), slog.String("error", fs.Error))
			continue
		}
		imported = append(imported, byPath[fs.Path])
		read, accepted, rowsRejected = read+fs.Read, accepted+fs.Accepted, rowsRejected+fs.Rejected
	}
	for _, p := range res.Skipped {
		already = append(already, byPath[p])
	}
	m := s.metrics
	m.add(m.files, d.Code, fileImported, int64(len(imported)))
	m.add(m.files, d.Code, fileRejected, int64(len(rejected)))
	m.add(m.files, d.Code, fileAlreadyImported, int64(len(already)))
	m.add(m.rows, d.Code, "read", read)
	m.add(m.rows, d.Code, "accepted", accepted)
	m.add(m.rows, d.Code, "rejected", rowsRejected)

	day := s.opts.Now().In(s.cfg.loc).Format("2006-01-02")
	archived := filepath.Join(archive, day)
	if res.Ledger.RunID != 0 {
		archived = filepath.Join(archive, fmt.Sprintf("run-%d", res.Ledger.RunID))
	}
	refused := filepath.Join(d.Inbox, rejectedDir, day)

	var errs []error
	move := func(f inboxFile, dir string) {
		if err := mkdirIn(d.Inbox, dir); err != nil {
			errs = append(errs, fmt.Errorf("move %s: %w", filepath.Base(f.path), err))
			return
		}
		if f.changed() {
			// Written to while it was read: the run has what was there, and
			// the file as it is now is a new file for the next tick.
			log.Warn("file_changed_during_import", slog.String("file", filepath.Base(f.path)))
			return
		}
		if _, err := moveInto(f, dir); err != nil {
			errs = append(errs, fmt.Errorf("move %s: %w", filepath.Base(f.path), err))
		}
	}
	for _, f := range slices.Concat(imported, already) {
		move(f, archived)
	}
	for _, f := range rejected {
		move(f, refused)
	}
	// The run report goes beside the imported files (and a copy to
	// out_dir); the department's workbook too, and beside the rejected
	// files, which it explains.
	if res.Report != "" {
		// moveInto may have renamed it (archive/run-<id>/ of a database
		// restored or recreated may hold an older run-<id>.json): copy
		// this run's.
		if err := mkdirIn(d.Inbox, archived); err != nil {
			errs = append(errs, err)
		} else if report, err := moveInto(inboxFile{path: res.Report}, archived); err != nil {
			errs = append(errs, err)
		} else if s.cfg.OutDir != "" {
			if _, err := copyFile(report, s.cfg.OutDir, filepath.Base(res.Report)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, book := range res.Feedback {
		if len(rejected) > 0 {
			if err := mkdirIn(d.Inbox, refused); err != nil {
				errs = append(errs, err)
			} else if _, err := copyFile(book, refused, filepath.Base(book)); err != nil {
				errs = append(errs, err)
			}
		}
		if len(imported) > 0 {
			if err := mkdirIn(d.Inbox, archived); err != nil {
				errs = append(errs, err)
			} else if _, err := moveInto(inboxFile{path: book}, archived); err != nil {
				errs = append(errs, err)
			}
		}
	}
	log.Info("dept_run_done", slog.Int64("run_id", res.Ledger.RunID),
		slog.Int("files_imported", len(imported)), slog.Int("files_rejected", len(rejected)), slog.Int("files_already_imported", len(already)),
		slog.Int64("rows_read", read), slog.Int64("rows_accepted", accepted), slog.Int64("rows_rejected", rowsRejected),
		slog.String("archive", relTo(d.Inbox, archived)))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("run %d committed, but: %w", res.Ledger.RunID, err)
	}
	return nil
}

// relTo is p relative to base, for logs.
func relTo(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
