package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/progress"
	"github.com/idfusion/idfusion/schemas"
)

func runCheck(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	mapping := fs.String("mapping", "", "the department's mapping file (YAML)")
	mappingDir := fs.String("mapping-dir", "", "a folder of mapping files; files are matched to departments by name (<dept>_….csv) or folder")
	out := fs.String("out", "fusion-out", "folder for rejects.parquet and the feedback workbooks (with a CSV of what a long detail sheet leaves out)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	workers := fs.Int("workers", 0, "files read at once (default: number of CPUs)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion check (--mapping dept.yaml | --mapping-dir DIR) [flags] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if fs.NArg() == 0 || (*mapping == "") == (*mappingDir == "") {
		fs.Usage()
		return exitUsage, nil
	}
	inputs, err := loadInputs(*mapping, *mappingDir, fs.Args())
	if err != nil {
		return 0, usageError{err}
	}
	bar := progress.New(os.Stderr, "check", len(inputs))
	start := time.Now()
	res, err := pipeline.Check(ctx, inputs, *out, pipeline.Options{Workers: *workers, Progress: bar.Set})
	bar.Done()
	if err != nil {
		return 0, err
	}
	st := newRunStats(start, res.Files)
	if err := printResult(e, *asJSON, struct {
		pipeline.CheckResult
		runStats
	}{res, st}, func() { printCheck(e.stdout, res, st) }); err != nil {
		return 0, err
	}
	switch {
	case res.Unusable():
		return exitUsage, nil
	case res.Rejected():
		return exitRejects, nil
	}
	return exitOK, nil
}

// loadInputs pairs files with their department's mapping. A file named
// twice (overlapping globs) is read once: a run tells each file's findings
// apart by its path.
func loadInputs(mapping, mappingDir string, files []string) ([]pipeline.Input, error) {
	seen := map[string]bool{}
	files = slices.DeleteFunc(slices.Clone(files), func(f string) bool {
		f = filepath.Clean(f)
		dup := seen[f]
		seen[f] = true
		return dup
	})
	if mapping != "" {
		m, err := schemas.LoadMapping(mapping)
		if err != nil {
			return nil, err
		}
		inputs := make([]pipeline.Input, len(files))
		for i, f := range files {
			inputs[i] = pipeline.Input{Path: f, Mapping: m}
		}
		return inputs, nil
	}
	ms, err := schemas.LoadMappingDir(mappingDir)
	if err != nil {
		return nil, err
	}
	return pipeline.MatchInputs(files, ms)
}

// runStats are the run's throughput figures.
type runStats struct {
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
}

func newRunStats(start time.Time, files []pipeline.FileSummary) runStats {
	el := time.Since(start).Seconds()
	var rows int64
	for _, f := range files {
		rows += f.Read
	}
	return runStats{ElapsedSeconds: el, RowsPerSecond: float64(rows) / el, PeakRSSMB: peakRSSMB()}
}

// peakRSSMB is the process's peak resident memory (Linux reports KiB).
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// printResult prints v as JSON for machines, or calls text for people.
func printResult(e *env, asJSON bool, v any, text func()) error {
	if asJSON {
		return printJSON(e.stdout, v)
	}
	text()
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printCheck(w io.Writer, res pipeline.CheckResult, st runStats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tdept\tformat\tencoding\tread\taccepted\trejected\twarnings\t")
	rejects := map[schemas.Code]int64{}
	warnings := map[schemas.Code]int64{}
	var problems, fileFindings []string
	for _, f := range res.Files {
		for _, fd := range f.FileFindings {
			fileFindings = append(fileFindings, fmt.Sprintf("%s: %s %s (%d of %d rows): %s", filepath.Base(f.Path), fd.Code, fd.Field, fd.Rows, fd.Accepted, fd.Message))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n", filepath.Base(f.Path), f.Dept, f.Format, f.Encoding, f.Read, f.Accepted, f.Rejected, f.Warnings)
		for c, n := range f.Rejects {
			rejects[c] += n
		}
		for c, n := range f.WarningCodes {
			warnings[c] += n
		}
		if f.Error != "" {
			problems = append(problems, f.Error)
		}
	}
	tw.Flush()
	for _, part := range []struct {
		title string
		m     map[schemas.Code]int64
	}{{"rejected rows by reason", rejects}, {"warnings by reason", warnings}} {
		if len(part.m) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", part.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range slices.Sorted(maps.Keys(part.m)) {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", c, part.m[c], c.Message())
		}
		tw.Flush()
	}
	if len(fileFindings) > 0 {
		fmt.Fprintln(w, "\nin nearly every row of a file (check the mapping):")
		for _, p := range fileFindings {
			fmt.Fprintf(w, "  %s\n", printable(p))
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nunusable files:")
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	fmt.Fprintf(w, "\nrejects: %s\n", res.RejectsParquet)
	for _, f := range res.Feedback {
		fmt.Fprintf(w, "feedback: %s\n", f)
	}
	fmt.Fprintf(w, "%.2fs, %.0f rows/s, peak memory %.0f MB\n", st.ElapsedSeconds, st.RowsPerSecond, st.PeakRSSMB)
}
