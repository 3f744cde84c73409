package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// scrape GETs path from the scheduler's handler.
func scrape(t *testing.T, s *Scheduler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// metricLines parses the samples of /metrics: series → value.
func metricLines(t *testing.T, s *Scheduler) map[string]float64 {
	t.Helper()
	_, body := scrape(t, s, "/metrics")
	out := map[string]float64{}
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics: after a RunOnce the runs, rows and files counters of each
// department hold what the run did (the rows as the generator's truth
// says), the last success is the tick's time, and each family has its
// HELP and TYPE.
func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, 500, "gongan", "renshe")
	for _, d := range []string{"gongan", "renshe"} {
		b.drop(t, b.export(t, d), d, d+"_x.csv", b.settled())
	}
	s := b.scheduler(t, b.pool)

	// Before any tick every series is there, at zero.
	before := metricLines(t, s)
	if v, ok := before[`fusion_schedule_runs_total{dept="renshe",outcome="ok"}`]; !ok || v != 0 {
		t.Errorf("before any tick: runs ok = %v (present %v), want 0", v, ok)
	}
	if err := s.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, body := scrape(t, s, "/metrics")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, fam := range []string{"fusion_schedule_runs_total counter", "fusion_schedule_rows_total counter", "fusion_schedule_files_total counter",
		"fusion_schedule_last_success_timestamp_seconds gauge", "fusion_schedule_job_duration_seconds summary"} {
		name, _, _ := strings.Cut(fam, " ")
		if !strings.Contains(body, "# TYPE "+fam+"\n") || !strings.Contains(body, "# HELP "+name+" ") {
			t.Errorf("no HELP and TYPE %s in:\n%s", fam, body)
		}
	}
	got := metricLines(t, s)
	for _, f := range b.truth.Files {
		want := map[string]float64{
			"runs_total{dept=%q,outcome=\"ok\"}":                1,
			"runs_total{dept=%q,outcome=\"error\"}":             0,
			"runs_total{dept=%q,outcome=\"skipped\"}":           0,
			"rows_total{dept=%q,outcome=\"read\"}":              float64(f.Rows),
			"rows_total{dept=%q,outcome=\"accepted\"}":          float64(f.Accepted),
			"rows_total{dept=%q,outcome=\"rejected\"}":          float64(f.Rejected),
			"files_total{dept=%q,outcome=\"imported\"}":         1,
			"files_total{dept=%q,outcome=\"already_imported\"}": 0,
			"last_success_timestamp_seconds{dept=%q}":           float64(base.Unix()),
			"job_duration_seconds_count{job=%q}":                1,
		}
		for series, v := range want {
			name := "fusion_schedule_" + fmt.Sprintf(series, f.Dept)
			if got[name] != v {
				t.Errorf("%s = %v, want %v", name, got[name], v)
			}
		}
		if f.Rejected == 0 {
			t.Errorf("%s: the sample has no rejected rows; the test shows less than it should", f.Dept)
		}
		if d := got[fmt.Sprintf("fusion_schedule_job_duration_seconds_sum{job=%q}", f.Dept)]; d <= 0 {
			t.Errorf("%s: duration sum %v, want > 0", f.Dept, d)
		}
	}

	res, body = scrape(t, s, "/healthz")
	if res.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", res.StatusCode, body)
	}
}
