// Package pipeline composes the stages: each file is read by ingest and
// cleansed by cleanse, files in parallel, and the results are handed to a
// Sink (the check report, or merge for an import). It is the one place that
// knows the order of the stages; the stages do not know each other.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/schemas"
)

// Input is one file and the mapping of the department that sent it.
type Input struct {
	Path    string
	Mapping *schemas.Mapping
}

// Sink receives the output of every file. Its methods are called from
// several goroutines at once and must be safe for that; records are released
// after the call returns (Retain to keep them).
type Sink interface {
	// Clean receives accepted rows of f.
	Clean(f ingest.File, rec arrow.Record) error
	// Findings receives rejects and warnings about rows of f.
	Findings(f ingest.File, rec arrow.Record) error
	// Abandon drops everything received for f: the file failed after some
	// of its rows were delivered, and a file counts whole or not at all.
	Abandon(f ingest.File)
	// Done says that f was read to the end, with st what it held; nothing
	// more comes for f.
	Done(f ingest.File, st cleanse.Stats) error
}

// FileReport is what happened to one input file.
type FileReport struct {
	Input Input
	// File is set once the file was opened (hash, format, encoding).
	File  ingest.File
	Stats cleanse.Stats
	// Err is set when the file could not be used: unreadable, wrong
	// header, corrupt. Rows read before a mid-file error are not counted.
	Err error
	// Skipped is set when Options.Skip left the file out.
	Skipped bool
}

// Usable reports whether the file was read to the end.
func (r FileReport) Usable() bool { return r.Err == nil }

// Options tune a Run. The zero value is ready to use.
type Options struct {
	// Workers is how many files are read at once. Default GOMAXPROCS.
	Workers int
	// BatchRows is the record size. Default schemas.BatchRows.
	BatchRows int
	// Progress, if set, is called after each batch with the file's index in
	// the inputs and how much of it has been read (done of total, in the
	// file reader's units). Calls come from several goroutines.
	Progress func(file int, done, total int64)
	// Skip, if set, is asked once a file is opened (and hashed) whether to
	// leave it out; a skipped file is reported with Skipped set.
	Skip func(f ingest.File) (bool, error)
	// FeedbackRows is how many findings a feedback workbook's detail sheet
	// lists at most, the rest going to a CSV beside it. Default
	// feedback.DetailCap.
	FeedbackRows int
}

// Run reads and cleanses every input, handing results to sink. A file that
// cannot be used is reported in its FileReport and does not stop the
// others; Run itself fails only when ctx is done or the sink fails, and then
// the caller must discard what the sink received.
func Run(ctx context.Context, inputs []Input, sink Sink, opts Options) ([]FileReport, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	reports := make([]FileReport, len(inputs))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rep, err := runFile(ctx, i, inputs[i], sink, opts)
				reports[i] = rep
				if err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range inputs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return reports, err
	}
	return reports, nil
}

// sinkError marks an error of the sink, which fails the whole run.
type sinkError struct{ err error }

func (e sinkError) Error() string { return e.err.Error() }
func (e sinkError) Unwrap() error { return e.err }

// runFile reads one file. The returned error fails the run (context or
// sink); a file problem goes into the report.
func runFile(ctx context.Context, idx int, in Input, sink Sink, opts Options) (FileReport, error) {
	rep := FileReport{Input: in}
	// Each raw record is cleansed (its values copied) and released before
	// the next is read, so the reader may reuse its buffers.
	r, err := ingest.Open(in.Path, in.Mapping, ingest.Options{BatchRows: opts.BatchRows, ReuseBuffers: true})
	if err != nil {
		rep.Err = err
		return rep, nil
	}
	defer r.Close()
	rep.File = r.File()
	if opts.Skip != nil {
		skip, err := opts.Skip(rep.File)
		if err != nil {
			return rep, sinkError{err}
		}
		if skip {
			rep.Skipped = true
			return rep, nil
		}
	}
	st := cleanse.NewStage(in.Mapping, nil)
	defer st.Release()
	for {
		raw, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			rep.Err = err
			sink.Abandon(rep.File)
			return rep, nil
		}
		clean, find := st.Process(raw)
		raw.Release()
		err = deliver(sink, rep.File, clean, find)
		if err != nil {
			return rep, sinkError{err}
		}
		if opts.Progress != nil {
			done, total := r.Progress()
			opts.Progress(idx, done, total)
		}
	}
	// Rows of a file written to while it was read are neither the old file
	// nor the new one: none of them count.
	if err := rep.File.Changed(); err != nil {
		rep.Err = err
		sink.Abandon(rep.File)
		return rep, nil
	}
	rep.Stats = st.Stats()
	if err := sink.Done(rep.File, rep.Stats); err != nil {
		return rep, sinkError{err}
	}
	return rep, nil
}

func deliver(sink Sink, f ingest.File, clean, find arrow.Record) error {
	defer clean.Release()
	defer find.Release()
	if clean.NumRows() > 0 {
		if err := sink.Clean(f, clean); err != nil {
			return err
		}
	}
	if find.NumRows() > 0 {
		return sink.Findings(f, find)
	}
	return nil
}

// ErrNoMapping is wrapped when a file matches no department's mapping.
var ErrNoMapping = errors.New("no mapping for file")

// MatchInputs pairs files with departments: a file belongs to the
// department whose code is the file's base name up to the first "_", "-"
// or "." (gongan_2026-11.csv → gongan), or the name of the folder it is in
// (inbox/gongan/users.csv → gongan).
func MatchInputs(paths []string, mappings map[string]*schemas.Mapping) ([]Input, error) {
	out := make([]Input, 0, len(paths))
	for _, p := range paths {
		m := mappings[deptOf(filepath.Base(p))]
		if m == nil {
			m = mappings[filepath.Base(filepath.Dir(p))]
		}
		if m == nil {
			return nil, fmt.Errorf("%s: %w: name it <department>_….<ext> or put it in a folder named after the department (known: %v)", p, ErrNoMapping, slices.Sorted(maps.Keys(mappings)))
		}
		out = append(out, Input{Path: p, Mapping: m})
	}
	return out, nil
}

func deptOf(base string) string {
	for i := 0; i < len(base); i++ {
		if base[i] == '_' || base[i] == '-' || base[i] == '.' {
			return base[:i]
		}
	}
	return base
}
