package authsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pglocal"
)

// logBuffer collects a logger's JSON lines; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// lines are the logged records whose message is msg.
func (l *logBuffer) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestOutageLog: one line per interval, the next one counting the
// refusals in between.
func TestOutageLog(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	clk := &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	o := newOutageLog(logs.logger(), clk.Now, 10*time.Second)
	down := &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}

	o.refuse("/api/v1/me", down)
	for range 5 {
		clk.Advance(time.Second)
		o.refuse("/center", down)
	}
	if got := logs.lines(t, "database_unavailable"); len(got) != 1 {
		t.Fatalf("%d lines after 6 refusals within 10 s, want 1:\n%s", len(got), logs.String())
	}
	first := logs.lines(t, "database_unavailable")[0]
	if first["path"] != "/api/v1/me" || !strings.Contains(first["error"].(string), "57P01") || first["level"] != "ERROR" {
		t.Errorf("first line %v: want the path, the error, level ERROR", first)
	}
	if _, ok := first["refused_since"]; ok {
		t.Errorf("first line %v counts refusals before it", first)
	}

	clk.Advance(5 * time.Second) // 10 s after the first line
	o.refuse("/api/v1/login/password", down)
	got := logs.lines(t, "database_unavailable")
	if len(got) != 2 {
		t.Fatalf("%d lines after the interval, want 2:\n%s", len(got), logs.String())
	}
	if got[1]["refused_since"] != float64(5) || got[1]["since"] != "2026-11-27T10:00:00Z" {
		t.Errorf("second line %v: want refused_since 5 since 10:00:00", got[1])
	}
	clk.Advance(time.Second)
	o.refuse("/center", down)
	if n := len(logs.lines(t, "database_unavailable")); n != 2 {
		t.Errorf("%d lines, want 2: the count starts again after a line", n)
	}
}

// dedicatedCluster starts a PostgreSQL cluster of the test's own, which the
// test may stop and start again, with the schema migrated; it is stopped
// and removed when the test ends.
func dedicatedCluster(t *testing.T) (cfg pglocal.Config, cluster **pglocal.Cluster) {
	t.Helper()
	base := os.TempDir()
	if os.Geteuid() == 0 {
		base = "/tmp" // the server runs as another user, who must pass through
	}
	dir, err := os.MkdirTemp(base, "authsvc-down-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg = pglocal.Config{Dir: filepath.Join(dir, "pg"), BinDir: os.Getenv("PG_BIN_DIR"), Fast: true}
	c, err := pglocal.Start(context.Background(), cfg)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	cluster = &c
	t.Cleanup(func() {
		if err := (*cluster).Stop(context.Background()); err != nil {
			t.Error(err)
		}
		os.RemoveAll(dir)
	})
	pool, err := database.Open(context.Background(), c.ConnString(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := database.Migrate(context.Background(), pool, nil); err != nil {
		t.Fatal(err)
	}
	return cfg, cluster
}

// TestDatabaseDown really stops the PostgreSQL server under a running
// service (a cluster of the test's own, not the shared one): the API and
// the pages answer 503 with Retry-After instead of 500, the outage is
// logged once rather than once per request, and once the server is back
// the same Server serves again.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pgCfg, cluster := dedicatedCluster(t)
	// The password is ignored (the cluster trusts its socket): it is there
	// to show that no log line carries it.
	const secret = "pw-never-logged-9f3"
	owner, err := pgxpool.New(ctx, (*cluster).ConnString(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	svcPool, err := pgxpool.New(ctx, (*cluster).ConnString("")+" password="+secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svcPool.Close)
	var logs logBuffer
	b := setupOn(t, owner, svcPool, func(c *Config) { c.Logger = logs.logger() })

	c := b.active(t, "韩梅梅", "13800138101", "K9#vTq2!mZ")
	br := b.browser(t)
	if r := br.passwordLogin(c, "K9#vTq2!mZ"); r.Status != http.StatusOK {
		t.Fatalf("login before the outage: %d %s", r.Status, r.Raw)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Fatalf("me before the outage: %d %s", r.Status, r.Raw)
	}

	if err := (*cluster).Stop(ctx); err != nil {
		t.Fatal(err)
	}
	other := b.browser(t)
	requests := []struct {
		name string
		do   func() response
		json bool
	}{
		{"API me", func() response { return br.get("/api/v1/me") }, true},
		{"API password login", func() response { return other.passwordLogin(c, "K9#vTq2!mZ") }, true},
		{"center page", func() response { return br.get("/center") }, false},
		{"API consents", func() response { return br.get("/api/v1/consents") }, true},
		{"completion page", func() response { return br.get("/complete") }, false},
		{"page password login", func() response {
			return other.form("/login/password", url.Values{"id_number": {c.IDNumber}, "password": {"K9#vTq2!mZ"}})
		}, false},
		{"home", func() response { return br.get("/") }, false},
	}
	refused := 0
	for round := range 3 {
		for _, rq := range requests {
			r := rq.do()
			refused++
			if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "5" {
				t.Errorf("round %d, %s while the database is down: %d Retry-After %q, want 503 and 5: %.300s",
					round, rq.name, r.Status, r.Header.Get("Retry-After"), r.Raw)
				continue
			}
			if rq.json && (r.str("error") != "service_unavailable" || r.str("message") != "服务暂时不可用，请稍后再试") {
				t.Errorf("%s: body %s", rq.name, r.Raw)
			}
			if !rq.json && (!strings.Contains(r.Raw, "服务暂时不可用，请稍后再试") || !strings.Contains(r.Raw, "<html")) {
				t.Errorf("%s: not the error page: %.300s", rq.name, r.Raw)
			}
		}
	}
	if got := logs.lines(t, "database_unavailable"); len(got) != 1 {
		t.Errorf("%d database_unavailable lines for %d refused requests, want 1:\n%s", len(got), refused, logs.String())
	}
	if got := logs.lines(t, "request_failed"); len(got) != 0 {
		t.Errorf("%d request_failed lines during the outage, want 0:\n%s", len(got), logs.String())
	}
	// Later in the outage: the next line counts the refusals since.
	b.clock.Advance(outageLogEvery)
	if r := br.get("/api/v1/me"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("me after 10 s of outage: %d %s", r.Status, r.Raw)
	}
	if got := logs.lines(t, "database_unavailable"); len(got) != 2 || got[1]["refused_since"] != float64(refused-1) {
		t.Errorf("after the interval: %v, want a second line with refused_since %d", got, refused-1)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the database password:\n%s", logs.String())
	}

	// The server back on the same data: the same Server serves again.
	back, err := pglocal.Start(ctx, pgCfg)
	if err != nil {
		t.Fatal(err)
	}
	*cluster = back
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("me after the database is back: %d %s", r.Status, r.Raw)
	}
	if r := br.get("/center"); r.Status != http.StatusOK {
		t.Errorf("center page after the database is back: %d %.300s", r.Status, r.Raw)
	}
	if r := other.passwordLogin(c, "K9#vTq2!mZ"); r.Status != http.StatusOK {
		t.Errorf("login after the database is back: %d %s", r.Status, r.Raw)
	}
}

// TestProblemOfUnavailable: an outage is a 503 however deep it is
// wrapped; an error that is not stays a 500.
func TestProblemOfUnavailable(t *testing.T) {
	t.Parallel()
	down := fmt.Errorf("session: %w", &pgconn.PgError{Severity: "FATAL", Code: "08006"})
	for _, err := range []error{down, errors.Join(errors.New("audit"), down)} {
		if p := problemOf(err); p.status != http.StatusServiceUnavailable || p.code != "service_unavailable" || p.retryAfter == 0 {
			t.Errorf("problemOf(%v) = %+v", err, p)
		}
	}
	if p := problemOf(errors.New("bug")); p.status != http.StatusInternalServerError {
		t.Errorf("problemOf(bug) = %+v", p)
	}
}
