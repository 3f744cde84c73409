package pipeline

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

// benchRows is the size of the generated file per department.
const benchRows = 200_000

var benchData = sync.OnceValues(func() (string, error) {
	dir, err := filepathTemp()
	if err != nil {
		return "", err
	}
	_, err = sample.Generate(context.Background(), sample.Config{Dir: dir, Rows: benchRows})
	return dir, err
})

// discard is a Sink that drops everything.
type discard struct{}

func (discard) Clean(ingest.File, arrow.Record) error    { return nil }
func (discard) Findings(ingest.File, arrow.Record) error { return nil }
func (discard) Abandon(ingest.File)                      {}
func (discard) Done(ingest.File, cleanse.Stats) error    { return nil }

// BenchmarkIngestCleanse measures ingest+cleanse of one department's file
// on one core, in rows/s.
func BenchmarkIngestCleanse(b *testing.B) {
	dir, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(dir, "mappings"))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, dept, file string }{
		{"csv-utf8", "gongan", "gongan_users.csv"},
		{"csv-gbk", "renshe", "renshe_users.csv"},
		{"xlsx", "weijian", "weijian_users.xlsx"},
		{"parquet", "minzheng", "minzheng_users.parquet"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in := []Input{{Path: filepath.Join(dir, "exports", tc.file), Mapping: ms[tc.dept]}}
			var rows int64
			for b.Loop() {
				reps, err := Run(context.Background(), in, discard{}, Options{Workers: 1})
				if err != nil || reps[0].Err != nil {
					b.Fatal(err, reps[0].Err)
				}
				rows += reps[0].Stats.Read
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
