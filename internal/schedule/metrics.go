package schedule

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcomes of a tick (fusion_schedule_runs_total).
const (
	outcomeOK      = "ok"
	outcomeError   = "error"
	outcomeSkipped = "skipped"
)

// Outcomes of a file (fusion_schedule_files_total).
const (
	fileImported        = "imported"
	fileRejected        = "rejected"
	fileAlreadyImported = "already_imported"
)

// metrics are the scheduler's counters, written out by hand in the
// Prometheus text exposition format (version 0.0.4).
type metrics struct {
	mu          sync.Mutex
	depts, jobs []string            // label values, in output order
	runs        map[[2]string]int64 // {dept, outcome}
	rows        map[[2]string]int64 // {dept, read|accepted|rejected}
	files       map[[2]string]int64 // {dept, outcome}
	hk          map[[2]string]int64 // {housekeeping job, outcome}
	lastSuccess map[string]time.Time
	durSum      map[string]float64 // by job: departments and housekeeping
	durCount    map[string]int64
}

var (
	runOutcomes  = []string{outcomeOK, outcomeError, outcomeSkipped}
	rowOutcomes  = []string{"read", "accepted", "rejected"}
	fileOutcomes = []string{fileImported, fileRejected, fileAlreadyImported}
)

func newMetrics(depts, jobs []string) *metrics {
	m := &metrics{
		depts: slices.Sorted(slices.Values(depts)), jobs: slices.Sorted(slices.Values(jobs)),
		runs: map[[2]string]int64{}, rows: map[[2]string]int64{}, files: map[[2]string]int64{}, hk: map[[2]string]int64{},
		lastSuccess: map[string]time.Time{}, durSum: map[string]float64{}, durCount: map[string]int64{},
	}
	return m
}

func (m *metrics) add(counter map[[2]string]int64, a, b string, n int64) {
	m.mu.Lock()
	counter[[2]string{a, b}] += n
	m.mu.Unlock()
}

// run counts a department's tick.
func (m *metrics) run(dept, outcome string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs[[2]string{dept, outcome}]++
	if outcome == outcomeOK {
		m.lastSuccess[dept] = now
	}
}

// duration records how long a job (a department's tick or a housekeeping
// job) ran.
func (m *metrics) duration(job string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.durSum[job] += d.Seconds()
	m.durCount[job]++
}

// write renders every metric, with zeros for the label values known from
// the configuration, so that rates and absence alerts work from the start.
func (m *metrics) write(w *bytes.Buffer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	family := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, labels []string, v string) {
		w.WriteString(name)
		w.WriteByte('{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
		}
		w.WriteString("} ")
		w.WriteString(v)
		w.WriteByte('\n')
	}
	counter := func(name, help, key string, values []string, outcomes []string, c map[[2]string]int64) {
		family(name, "counter", help)
		for _, v := range values {
			for _, o := range outcomes {
				sample(name, []string{key, v, "outcome", o}, strconv.FormatInt(c[[2]string{v, o}], 10))
			}
		}
	}
	counter("fusion_schedule_runs_total",
		"Ticks of a department: ok (inbox handled), error (import or moves failed; the files stay for the next tick), skipped (another tick or scheduler held the department).",
		"dept", m.depts, runOutcomes, m.runs)
	counter("fusion_schedule_rows_total",
		"Rows of the files a department's scheduled runs committed: read, accepted and rejected (by cleanse).",
		"dept", m.depts, rowOutcomes, m.rows)
	counter("fusion_schedule_files_total",
		"Files taken from a department's inbox: imported, rejected (unusable, moved to rejected/) or already_imported (moved to archive/ unread).",
		"dept", m.depts, fileOutcomes, m.files)
	family("fusion_schedule_last_success_timestamp_seconds", "gauge",
		"Unix time of a department's last tick with outcome ok; 0 if none since the scheduler started.")
	for _, d := range m.depts {
		v := 0.0
		if t, ok := m.lastSuccess[d]; ok {
			v = float64(t.UnixMilli()) / 1000
		}
		sample("fusion_schedule_last_success_timestamp_seconds", []string{"dept", d}, strconv.FormatFloat(v, 'f', -1, 64))
	}
	if len(m.jobs) > 0 {
		counter("fusion_schedule_housekeeping_runs_total",
			"Runs of a housekeeping job: ok, error or skipped (the previous run was still going).",
			"job", m.jobs, runOutcomes, m.hk)
	}
	name := "fusion_schedule_job_duration_seconds"
	family(name, "summary", "Time spent in a job's runs: a department's tick (the department code) or a housekeeping job.")
	for _, j := range slices.Sorted(slices.Values(append(slices.Clone(m.depts), m.jobs...))) {
		sample(name+"_sum", []string{"job", j}, strconv.FormatFloat(m.durSum[j], 'f', -1, 64))
		sample(name+"_count", []string{"job", j}, strconv.FormatInt(m.durCount[j], 10))
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// Handler serves the scheduler's metrics at /metrics, in the Prometheus
// text exposition format, and /healthz, which answers 200 while the
// process runs (the database's state shows in the error counters, and a
// liveness probe should not restart a scheduler for it).
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		s.metrics.write(&b)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}
