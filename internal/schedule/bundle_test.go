package schedule

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/sample"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func testKeyring(t testing.TB) *pii.Keyring {
	t.Helper()
	key := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	k, err := pii.NewKeyring(pii.KeyFile{Active: "t1", Keys: map[string]string{"t1": key(1)}, BlindIndexKey: key(2)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// base is the tests' "now": 09:30 in Shanghai, so the dated folders are
// named 2026-03-14 whatever the machine's zone.
var base = time.Date(2026, 3, 14, 1, 30, 0, 0, time.UTC)

const baseDay = "2026-03-14"

// clock is an injectable Now that tests move forward by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log lines from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testBundle is a generated sample, the departments' inboxes and a
// scheduler configuration over them, on a database of the test's own.
//
//	dir/schedule.yaml   mapping_dir: mappings, inboxes inbox/<dept>
//	dir/mappings/       the sample's mappings
//	dir/exports/        the sample's exports (the files to drop)
//	dir/inbox/<dept>/
type testBundle struct {
	dir   string
	truth sample.Truth
	url   string
	pool  *pgxpool.Pool
	cfg   *Config
	clock *clock
	logs  *syncBuffer
}

// setup generates about rows rows for depts and writes the configuration
// (schedules "@every 10m"; extra YAML is appended).
func setup(t *testing.T, rows int, depts ...string) *testBundle {
	t.Helper()
	b := &testBundle{dir: t.TempDir(), clock: &clock{now: base}, logs: &syncBuffer{}}
	var err error
	b.truth, err = sample.Generate(context.Background(), sample.Config{Dir: b.dir, Rows: rows, Seed: 3, Depts: depts})
	if err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("mapping_dir: mappings\nsettle: 1m\ndepartments:\n")
	for _, d := range depts {
		if err := os.MkdirAll(b.inbox(d), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - {code: %s, inbox: inbox/%s, schedule: \"@every 10m\"}\n", d, d)
	}
	b.cfg = writeConfig(t, b.dir, cfg.String())
	b.url = dbtest.ConnString(t)
	b.pool = b.newPool(t)
	return b
}

func writeConfig(t *testing.T, dir, yaml string) *Config {
	t.Helper()
	p := filepath.Join(dir, "schedule.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newPool opens another pool on the bundle's database, as another process
// would.
func (b *testBundle) newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pc, err := pgxpool.ParseConfig(b.url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func (b *testBundle) scheduler(t *testing.T, pool *pgxpool.Pool) *Scheduler {
	t.Helper()
	s, err := New(pool, b.cfg, Options{Keyring: testKeyring(t), Now: b.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *testBundle) inbox(dept string) string { return filepath.Join(b.dir, "inbox", dept) }

// export is the generated file of dept.
func (b *testBundle) export(t *testing.T, dept string) string {
	t.Helper()
	for _, f := range b.truth.Files {
		if f.Dept == dept {
			return filepath.Join(b.dir, f.Path)
		}
	}
	t.Fatalf("no export of %s", dept)
	return ""
}

// drop copies src into dept's inbox as name, modified at mtime.
func (b *testBundle) drop(t *testing.T, src, dept, name string, mtime time.Time) string {
	t.Helper()
	dst := filepath.Join(b.inbox(dept), name)
	copyTo(t, src, dst)
	if err := os.Chtimes(dst, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// settled is a modification time old enough to be taken at the bundle's
// clock.
func (b *testBundle) settled() time.Time { return b.clock.Now().Add(-2 * time.Minute) }

// tree lists the files under dir, relative to it, sorted.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// summaryFiles reads the file rows of a feedback workbook's summary sheet:
// file name → the problem column.
func summaryFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows[3:] {
		if len(r) == 0 {
			break
		}
		problem := ""
		if len(r) > 6 {
			problem = r[6]
		}
		out[r[0]] = problem
	}
	return out
}
