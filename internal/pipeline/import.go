package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/merge"
)

// ImportConfig is how Import runs.
type ImportConfig struct {
	// Keyring seals sensitive values. Required.
	Keyring *pii.Keyring
	// OutDir receives the run report (run-<id>.json) and the departments'
	// feedback workbooks. Default "fusion-out".
	OutDir string
	// Force imports files that were imported before.
	Force bool
	// DryRun does everything but the commit.
	DryRun bool
	// Trigger is "manual" (default) or "schedule".
	Trigger string
	// KeepStages, if set, is a folder where each stage's output is written
	// as Parquet for inspection (clean rows with ID numbers and phones
	// masked, findings).
	KeepStages string
	// HoldBytes is what the accepted rows may cost held in memory: beyond
	// it they are spilled, sealed, to disk and merged and loaded a group of
	// partitions at a time (merge.Merger.SpillTo). 0: no limit.
	HoldBytes int64
	Options
	// Stage, if set, is told when the merge and load stages start; the
	// function it returns when they end (for a terminal's progress lines).
	Stage  func(name string) (done func())
	Logger *slog.Logger
}

// ImportResult is what an import did.
type ImportResult struct {
	Ledger merge.Ledger  `json:"ledger"`
	Files  []FileSummary `json:"files"`
	// Skipped lists files imported before (left out without --force).
	Skipped  []string `json:"skipped,omitempty"`
	Report   string   `json:"report,omitempty"`
	Feedback []string `json:"feedback,omitempty"`
	// SpilledRows is how many accepted rows went to disk to keep within
	// HoldBytes (0: all were held).
	SpilledRows int64 `json:"spilled_rows,omitempty"`
	// Timings of the stages, in seconds.
	ReadSeconds  float64 `json:"read_seconds"`
	MergeSeconds float64 `json:"merge_seconds"`
	LoadSeconds  float64 `json:"load_seconds"`
}

// Unusable reports whether any file could not be used.
func (r ImportResult) Unusable() bool {
	for _, f := range r.Files {
		if f.Error != "" {
			return true
		}
	}
	return false
}

// importSink feeds accepted rows and mismatch warnings to the merger and
// keeps findings for the feedback and the rejects table.
type importSink struct {
	merger   *merge.Merger
	findings *Collector
	priority map[string]int32
	stages   *stageWriter
}

func (s *importSink) Clean(f ingest.File, rec arrow.Record) error {
	s.merger.AddClean(rec)
	// A failure to spill fails the run at once, not once every file is
	// read (a full disk).
	if err := s.merger.Err(); err != nil {
		return err
	}
	return s.stages.clean(rec)
}

func (s *importSink) Abandon(f ingest.File) {
	s.merger.Abandon(f.Dept, f.SHA256)
	s.findings.Abandon(f)
}

func (s *importSink) Done(f ingest.File, st cleanse.Stats) error { return s.findings.Done(f, st) }

func (s *importSink) Findings(f ingest.File, rec arrow.Record) error {
	s.merger.AddFindings(rec, s.priority[f.Dept])
	if err := s.stages.findings(rec); err != nil {
		return err
	}
	return s.findings.Findings(f, rec)
}

// Import reads, cleanses, merges and loads the inputs as one run. Files
// that cannot be used are reported and left out; the others load in one
// transaction. Files imported before are skipped unless cfg.Force.
func Import(ctx context.Context, pool *pgxpool.Pool, inputs []Input, cfg ImportConfig) (res ImportResult, err error) {
	if cfg.OutDir == "" {
		cfg.OutDir = "fusion-out"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	started := time.Now()
	sink := &importSink{merger: merge.NewMerger(cfg.Keyring), findings: NewCollector(), priority: map[string]int32{}}
	defer sink.merger.Release()
	sink.findings.DetailRows = cfg.Options.FeedbackRows
	if sink.findings.SpillDir, err = spillDir(cfg.OutDir); err != nil {
		return res, err
	}
	defer os.RemoveAll(sink.findings.SpillDir)
	defer sink.findings.Close()
	if cfg.HoldBytes > 0 {
		sink.merger.SpillTo(sink.findings.SpillDir, cfg.HoldBytes)
	}
	for _, in := range inputs {
		sink.priority[in.Mapping.Department.Code] = int32(in.Mapping.Priority)
	}
	if cfg.KeepStages != "" {
		if sink.stages, err = newStageWriter(cfg.KeepStages); err != nil {
			return res, err
		}
	}
	opts := cfg.Options
	// A file given twice in one run (the same bytes under two names) is read
	// once; a file imported by an earlier run is skipped unless forced.
	var seenMu sync.Mutex
	seen := map[[2]string]bool{}
	opts.Skip = func(f ingest.File) (bool, error) {
		seenMu.Lock()
		dup := seen[[2]string{f.Dept, f.SHA256}]
		seen[[2]string{f.Dept, f.SHA256}] = true
		seenMu.Unlock()
		if dup || cfg.Force {
			return dup, nil
		}
		return merge.Imported(ctx, pool, f.Dept, f.SHA256)
	}
	reports, err := Run(ctx, inputs, sink, opts)
	if cerr := sink.stages.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	res.ReadSeconds = time.Since(started).Seconds()

	in := merge.Input{Started: started, Trigger: cfg.Trigger, Forced: cfg.Force}
	depts := map[string]bool{}
	var told []FileReport // files the departments hear about: used or unusable
	for _, r := range reports {
		if !r.Skipped {
			told = append(told, r)
		}
		switch {
		case r.Skipped:
			res.Skipped = append(res.Skipped, r.Input.Path)
			cfg.Logger.Info("file_already_imported", slog.String("file", r.Input.Path), slog.String("dept", r.File.Dept))
			continue
		case r.Err != nil:
			res.Files = append(res.Files, sink.findings.summarize(r))
			continue
		}
		res.Files = append(res.Files, sink.findings.summarize(r))
		in.Files = append(in.Files, merge.FileLedger{
			Dept: r.File.Dept, Name: filepath.Base(r.File.Path), SHA256: r.File.SHA256,
			Format: string(r.File.Format), Encoding: string(r.File.Encoding),
			Read: r.Stats.Read, Accepted: r.Stats.Accepted, Rejected: r.Stats.Rejected, Warnings: r.Stats.Warnings,
		})
		if !depts[r.File.Dept] {
			depts[r.File.Dept] = true
			in.Mappings = append(in.Mappings, r.Input.Mapping)
		}
	}
	if len(in.Files) == 0 { // nothing new: the database stays as it is
		if len(told) > 0 {
			set, err := output.NewSet(cfg.OutDir)
			if err != nil {
				return res, err
			}
			defer set.Close()
			if err := sink.findings.WriteFeedback(set, told); err != nil {
				return res, err
			}
			res.Feedback, err = set.Commit()
			return res, err
		}
		return res, err
	}
	stage := func(name string) func() {
		if cfg.Stage == nil {
			return func() {}
		}
		return cfg.Stage(name)
	}
	t := time.Now()
	done := stage(fmt.Sprintf("merge %d rows", sink.merger.Rows()))
	// Rows held in memory are merged now; spilled rows a batch at a time
	// during the load (see merge.Merger.Batches), whose merging is counted
	// as merge time below.
	loading := fmt.Sprintf("load %d rows in batches in one transaction", sink.merger.Rows())
	if sink.merger.Spilled() {
		res.SpilledRows = int64(sink.merger.Rows())
		in.Persons = sink.merger.Batches()
	} else {
		if err := sink.merger.Err(); err != nil {
			return res, err
		}
		persons := sink.merger.Persons()
		in.Persons = merge.Batch(persons)
		loading = fmt.Sprintf("load %d persons in one transaction", len(persons))
	}
	in.Rejects = sink.findings.storedRejects()
	res.MergeSeconds = time.Since(t).Seconds()
	done()
	t = time.Now()
	done = stage(loading)
	// The workbooks are written while PostgreSQL loads, staged in a set
	// that takes their place only if the run commits.
	set, err := output.NewSet(cfg.OutDir)
	if err != nil {
		return res, err
	}
	defer set.Close()
	// A workbook that cannot be written fails the run before its commit:
	// the departments hear of every run that committed.
	var booksErr error
	var written sync.WaitGroup
	res.Ledger, err = merge.Load(ctx, pool, in, merge.Config{Keyring: cfg.Keyring, DryRun: cfg.DryRun, Logger: cfg.Logger,
		Idle: func() { written.Go(func() { booksErr = sink.findings.WriteFeedback(set, told) }) },
		BeforeCommit: func() error {
			written.Wait()
			if booksErr != nil {
				return fmt.Errorf("write the feedback (nothing imported): %w", booksErr)
			}
			return nil
		}})
	written.Wait()
	if err != nil {
		return res, err
	}
	batchMerge := sink.merger.BatchSeconds()
	res.LoadSeconds = time.Since(t).Seconds() - batchMerge
	res.MergeSeconds += batchMerge
	done()
	if booksErr != nil {
		return res, booksErr
	}
	if res.Feedback, err = set.Commit(); err != nil {
		return res, err
	}
	name := fmt.Sprintf("run-%d.json", res.Ledger.RunID)
	if cfg.DryRun {
		name = "dry-run.json"
	}
	res.Report = filepath.Join(cfg.OutDir, name)
	b, _ := json.MarshalIndent(res, "", "  ")
	return res, output.File(res.Report, output.Shared, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
