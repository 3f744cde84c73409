package pglocal

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// clusterDir returns a new cluster folder for the test, removed at its end.
// As root the server runs as another user, who must be able to traverse
// the path: the folder goes under /tmp if the usual temp folder (TMPDIR)
// is not reachable.
func clusterDir(t *testing.T) string {
	t.Helper()
	base := os.TempDir()
	if os.Geteuid() == 0 {
		u, err := serverUser()
		if err != nil {
			t.Fatal(err)
		}
		if u.checkReachable(filepath.Join(base, "x")) != nil {
			base = "/tmp"
		}
	}
	dir, err := os.MkdirTemp(base, "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "pg")
}

func newTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func testConfig(t *testing.T) Config {
	return Config{Dir: clusterDir(t), Fast: true, Logger: newTestLogger(t)}
}

func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx := context.Background()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func connect(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// TestLifecycle walks one cluster through start, attach, stop and restart
// on the existing data.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t)

	// Two Starts at once on a fresh folder: one initializes and starts the
	// cluster, the other waits and attaches.
	var (
		wg       sync.WaitGroup
		clusters [2]*Cluster
		errs     [2]error
	)
	for i := range clusters {
		wg.Go(func() { clusters[i], errs[i] = Start(ctx, cfg) })
	}
	wg.Wait()
	for _, c := range clusters {
		if c != nil {
			t.Cleanup(func() { c.Stop(context.Background()) })
		}
	}
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	first, second := clusters[0], clusters[1]
	if first.Attached() {
		first, second = second, first
	}
	if first.Attached() || !second.Attached() {
		t.Fatalf("attached = %v, %v; want one started and one attached", first.Attached(), second.Attached())
	}

	conn := connect(t, first.ConnString(""))
	got := []string{
		queryString(t, conn, "SELECT current_database()"),
		queryString(t, conn, "SELECT current_user"),
		queryString(t, conn, "SHOW server_encoding"),
		queryString(t, conn, "SHOW lc_collate"),
		queryString(t, conn, "SHOW listen_addresses"),
		queryString(t, conn, "SHOW fsync"),
	}
	want := []string{"idfusion", SuperUser, "UTF8", "C", "", "off"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings mismatch (-want +got):\n%s", diff)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives restart')"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{cfg.Dir, filepath.Join(cfg.Dir, "run")} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", name, perm)
		}
	}

	// The attached Cluster's Stop leaves the server running.
	if diff := cmp.Diff(first.ConnString("x"), second.ConnString("x")); diff != "" {
		t.Errorf("ConnString mismatch (-want +got):\n%s", diff)
	}
	if err := second.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("server gone after the attached Stop: %v", err)
	}

	// The starter's Stop stops it, and again is a no-op.
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := ping(ctx, filepath.Join(cfg.Dir, "run"), 5432); err == nil {
		t.Fatal("server still answers after Stop")
	}

	// Restart on the existing data.
	third := startCluster(t, cfg)
	if third.Attached() {
		t.Fatal("Start after Stop attached, want started")
	}
	conn = connect(t, third.ConnString(""))
	if got, want := queryString(t, conn, "SELECT v FROM kept"), "survives restart"; got != want {
		t.Errorf("after restart got %q, want %q", got, want)
	}
}

// TestStalePIDFile starts a cluster whose postmaster.pid was left behind by
// a server that died: killed outright, and (with an unrelated live PID)
// after a reboot.
func TestStalePIDFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t)
	pidFile := filepath.Join(cfg.Dir, "data", "postmaster.pid")

	c := startCluster(t, cfg)
	r, err := readPIDFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(r.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Dead (or a zombie not yet reaped); its children may still be
	// exiting, which Start waits for.
	waitGone(t, r.pid)
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("postmaster.pid gone after SIGKILL: %v", err)
	}
	c.stopped = true // nothing to stop at cleanup

	c, err = Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start after crash: %v", err)
	}
	if c.Attached() {
		t.Fatal("Start after crash attached to a dead server")
	}
	conn := connect(t, c.ConnString(""))
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// After a reboot, the PID in the stale file may belong to any process,
	// here this test's own.
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	stale := []byte(strings.Join([]string{strconv.Itoa(os.Getpid()), lines[1]}, "\n"))
	if err := os.WriteFile(pidFile, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	if c.runAs != nil { // as the server would have left it
		if err := os.Chown(pidFile, c.runAs.uid, c.runAs.gid); err != nil {
			t.Fatal(err)
		}
	}
	c = startCluster(t, cfg)
	if c.Attached() {
		t.Fatal("Start with a reused PID attached, want started")
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 200 {
		if !postgresAlive(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d still alive", pid)
}

func TestMissingBinaries(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.BinDir = t.TempDir()
	_, err := Start(context.Background(), cfg)
	if !errors.Is(err, ErrBinariesNotFound) {
		t.Fatalf("Start with an empty BinDir: got %v, want ErrBinariesNotFound", err)
	}
	for _, want := range []string{"apt-get install postgresql", "PG_BIN_DIR", cfg.BinDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(cfg.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start without binaries left %s behind (%v)", cfg.Dir, err)
	}
}

// TestUnreachable: as root the server runs as another user, who cannot
// pass through a 0700 folder: Start says so. Run by anyone else, the
// server is that user and the same folder works.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	parent := filepath.Dir(clusterDir(t))
	closed := filepath.Join(parent, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := Start(context.Background(), Config{Dir: filepath.Join(closed, "pg"), Fast: true})
	if os.Geteuid() != 0 {
		if err != nil {
			t.Fatalf("Start under the user's own 0700 folder: %v", err)
		}
		if err := c.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Start under a 0700 folder: got %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), closed) {
		t.Errorf("error %q does not name %s", err, closed)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	long := "/tmp/" + strings.Repeat("d", 100)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{"defaults", Config{Dir: "/tmp/pg"}, ""},
		{"no dir", Config{}, "Config.Dir is required"},
		{"space in dir", Config{Dir: "/tmp/my pg"}, "Config.Dir"},
		{"comma in dir", Config{Dir: "/tmp/a,b"}, "Config.Dir"},
		{"long dir", Config{Dir: long}, "too long"},
		{"negative port", Config{Dir: "/tmp/pg", Port: -1}, "Config.Port"},
		{"big port", Config{Dir: "/tmp/pg", Port: 70000}, "Config.Port"},
		{"long database", Config{Dir: "/tmp/pg", Database: strings.Repeat("x", 64)}, "Config.Database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.WithDefaults().validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("validate() = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	got := Config{Dir: "d"}.WithDefaults()
	if got.Port != 5432 || got.Database != "idfusion" || got.Logger == nil || got.Fast {
		t.Errorf("WithDefaults() = %+v", got)
	}
}

func TestQuoteConnValue(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"/tmp/run": "/tmp/run",
		"":         "''",
		"a b":      "'a b'",
		`it's\`:    `'it\'s\\'`,
	}
	for in, want := range tests {
		if got := quoteConnValue(in); got != want {
			t.Errorf("quoteConnValue(%q) = %q, want %q", in, got, want)
		}
	}
}
