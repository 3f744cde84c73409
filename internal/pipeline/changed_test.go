package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
)

// appender is a Sink that appends a line to the file it reads after the
// first batch: a department's export overwritten while it is imported.
type appender struct {
	collect
	abandoned []string
	once      bool
}

func (a *appender) Clean(f ingest.File, rec arrow.Record) error {
	if !a.once {
		a.once = true
		fh, err := os.OpenFile(f.Path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer fh.Close()
		if _, err := fh.WriteString("K99,王五,,,\n"); err != nil {
			return err
		}
	}
	return a.collect.Clean(f, rec)
}

func (a *appender) Abandon(f ingest.File) { a.abandoned = append(a.abandoned, f.Path) }

func (a *appender) Done(ingest.File, cleanse.Stats) error { return nil }

// TestFileChangedWhileRead: the rows of a file written to while it is read
// are abandoned and the file reported as changed, not as imported (its
// hash would not be that of the rows).
func TestFileChangedWhileRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var rows [][]string
	for i := range 6 {
		rows = append(rows, []string{fmt.Sprintf("K%d", i), "张三", validID("110105", "19800101", 10+i*2), "13912340000", "北京"})
	}
	path := failCSV(t, filepath.Join(dir, "ga.csv"), rows)
	sink := &appender{}
	reports, err := Run(context.Background(), []Input{{path, failMapping(t, "ga", 1, "")}}, sink, Options{BatchRows: 2, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[0]; !errors.Is(r.Err, ingest.ErrFileChanged) {
		t.Fatalf("report error = %v, want ErrFileChanged", r.Err)
	}
	if len(sink.abandoned) != 1 || sink.abandoned[0] != path {
		t.Errorf("abandoned %v, want the file's rows abandoned", sink.abandoned)
	}
	if s := Summarize(reports[0]); !s.Changed || s.Error == "" {
		t.Errorf("summary %+v, want changed with an error", s)
	}
	// Unchanged, the same file reads fine.
	reports, err = Run(context.Background(), []Input{{path, failMapping(t, "ga", 1, "")}}, &collect{}, Options{BatchRows: 2, Workers: 1})
	if err != nil || reports[0].Err != nil {
		t.Fatalf("unchanged file: %v %v", err, reports[0].Err)
	}
}
