package pipeline

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/schemas"
)

// benchFindings is how many rejects the feedback benchmarks collect: more
// than a workbook lists, so that the CSV is written too.
const benchFindings = 300_000

// benchFindingsLarge is four times benchFindings: what the writing holds
// should not grow with it but for the 4-byte order of each finding.
const benchFindingsLarge = 4 * benchFindings

// benchCollector returns a Collector holding benchFindings rejects of one
// department in two files, as a run of a department sending bad ID
// numbers collects them (an 8-byte source key, an 18-digit value), and the
// reports of the files.
func benchCollector(n int) (*Collector, []FileReport) {
	c := NewCollector()
	var reports []FileReport
	m := &schemas.Mapping{Department: schemas.Department{Code: "ga", Name: "省公安厅"}}
	for _, path := range []string{"/in/a.csv", "/in/b.csv"} {
		f := ingest.File{Dept: "ga", SHA256: "sha-" + path, Path: path}
		ff := newFileFindings(f.Dept, f.SHA256, path[4:])
		for i := range n / 2 {
			ff.add(int64(i+2), findingKind{schemas.Reject, schemas.IDBadChecksum, schemas.FieldIDNumber},
				fmt.Sprintf("K%07d", i), fmt.Sprintf("46010219900101%04d", i%10000))
		}
		c.files[keyOf(f)] = ff
		reports = append(reports, FileReport{Input: Input{Path: path, Mapping: m}, File: f})
	}
	return c, reports
}

// BenchmarkCollectorHeld measures what the Collector holds per finding
// until the run writes its outputs (held-B/finding): in memory, and once
// the read files' findings are written out (see fileFindings.spill).
func BenchmarkCollectorHeld(b *testing.B) {
	for _, spilled := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "spilled"}[spilled], func(b *testing.B) {
			var ms runtime.MemStats
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				c, _ := benchCollector(benchFindings)
				if spilled {
					spill(b, c)
				}
				runtime.GC()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(before))/benchFindings, "held-B/finding")
				runtime.KeepAlive(c)
				c.Close()
			}
		})
	}
}

// spill writes out the findings of c's files as Done does.
func spill(b *testing.B, c *Collector) {
	dir := b.TempDir()
	for _, ff := range c.files {
		if err := ff.spill(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFeedback measures writing the workbook (and its CSV) of a
// department's rejects, at two sizes: alloc-B/finding is what the writing
// allocates in all per finding, peak-MB the most heap it adds at once to
// the Collector's (sampled every millisecond, garbage not yet collected
// included: compare the sizes, not the figure), ns/finding its time.
func BenchmarkWriteFeedback(b *testing.B) {
	for _, n := range []int{benchFindings, benchFindingsLarge} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchWriteFeedback(b, n, false) })
	}
	b.Run(fmt.Sprint(benchFindings, "-spilled"), func(b *testing.B) { benchWriteFeedback(b, benchFindings, true) })
}

func benchWriteFeedback(b *testing.B, findings int, spilled bool) {
	c, reports := benchCollector(findings)
	defer c.Close()
	if spilled {
		spill(b, c)
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
		}
	}()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before, n := ms.TotalAlloc, 0
	for b.Loop() {
		set, err := output.NewSet(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if err := c.WriteFeedback(set, reports); err != nil {
			b.Fatal(err)
		}
		set.Close()
		n++
	}
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-MB")
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc-before)/float64(n)/float64(findings), "alloc-B/finding")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/float64(findings), "ns/finding")
}
