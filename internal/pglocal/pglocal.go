// Package pglocal runs the embedded default PostgreSQL: a private cluster in a
// folder of the project, made and started from the PostgreSQL server binaries
// installed on the machine, reachable only through a Unix socket in that
// folder.
//
// The binaries (fusion, authsvc) use it when no DATABASE_URL is configured,
// and the test helper internal/dbtest uses it for a throwaway cluster. A
// second process that calls Start on a folder whose server is already running
// attaches to that server instead of starting another; only the process that
// started a server stops it.
//
// Layout of the cluster folder Dir:
//
//	Dir/data           the data directory (initdb)
//	Dir/run            the Unix socket directory
//	Dir/postgres.log   the server log
//	Dir/pglocal.lock   serializes Start across processes
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SuperUser is the name of the superuser role of every cluster made by
// Start: initdb runs with -U SuperUser, whatever the OS user is.
const SuperUser = "postgres"

// ErrBinariesNotFound is returned (wrapped) by Start when the PostgreSQL server
// binaries cannot be found. PG_BIN_DIR is the environment variable that the
// commands read into Config.BinDir.
var ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install them (Debian/Ubuntu: apt-get install postgresql) or set PG_BIN_DIR to their folder")

// ErrUnreachable is returned (wrapped) by Start when it runs as root and the
// unprivileged user that must run the server cannot reach the cluster folder
// because a parent folder is not searchable by that user.
var ErrUnreachable = errors.New("cluster folder not reachable by the server's user")

// Config configures Start. The zero value of every field but Dir is replaced
// by its default in WithDefaults.
type Config struct {
	// Dir is the cluster folder: data in Dir/data, the socket in Dir/run and
	// the log in Dir/postgres.log. It is created (mode 0700) if missing.
	// Required; a relative path is made absolute. The socket path
	// Dir/run/.s.PGSQL.<Port> must fit in 107 bytes.
	Dir string

	// BinDir is the folder holding initdb, pg_ctl and postgres. Default:
	// detected: the folder of initdb, pg_ctl and postgres found on $PATH, else
	// /usr/lib/postgresql/<version>/bin of the highest version installed
	// (the version of an existing data directory first), else
	// /usr/local/pgsql/bin.
	BinDir string

	// Port is the server's port number. The cluster listens on no TCP
	// address (listen_addresses is empty), so the port only names the socket
	// file Dir/run/.s.PGSQL.<Port>. Default: 5432.
	Port int

	// Database is the database created, if missing, once the server runs;
	// ConnString("") connects to it. Default: "idfusion".
	Database string

	// Fast turns off durability (fsync, synchronous_commit,
	// full_page_writes) and initdb's final sync: a crash of the machine can
	// corrupt the cluster. For tests only. Default: false.
	Fast bool

	// Logger receives the launcher's own messages (the server writes to
	// Dir/postgres.log). Default: a logger that discards everything.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with the defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Port == 0 {
		c.Port = 5432
	}
	if c.Database == "" {
		c.Database = "idfusion"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

func (c Config) validate() error {
	switch {
	case c.Dir == "":
		return errors.New("Config.Dir is required")
	case strings.ContainsAny(c.Dir, " \t\n\r,'\"\\"):
		// unix_socket_directories is a list split at commas and white
		// space, and the value passes through pg_ctl's shell.
		return fmt.Errorf("Config.Dir %q must not contain white space, commas, quotes or backslashes", c.Dir)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("Config.Port %d is out of range 1-65535", c.Port)
	case c.Database == "" || len(c.Database) > 63:
		return fmt.Errorf("Config.Database %q must be 1 to 63 bytes long", c.Database)
	case c.Logger == nil:
		return errors.New("Config.Logger is nil")
	}
	if p := socketPath(filepath.Join(c.Dir, "run"), c.Port); len(p) > maxSocketPath {
		return fmt.Errorf("Config.Dir %q is too long: the socket path %s exceeds %d bytes", c.Dir, p, maxSocketPath)
	}
	return nil
}

func socketPath(socketDir string, port int) string {
	return filepath.Join(socketDir, ".s.PGSQL."+strconv.Itoa(port))
}

// Cluster is a running local PostgreSQL server, started or attached to by
// Start. Its methods are safe for concurrent use.
type Cluster struct {
	dir       string
	dataDir   string
	socketDir string
	port      int
	database  string
	attached  bool
	logger    *slog.Logger
	bin       binaries
	runAs     *runAs

	mu      sync.Mutex
	stopped bool
}

// Start makes sure the server of the cluster in cfg.Dir runs and returns it.
//
// If Dir/data is not a cluster yet it is created with initdb (UTF8, locale C,
// superuser role SuperUser). If a server already runs on that data directory
// (its postmaster.pid names a live postgres process and its socket
// answers), Start attaches to it and the returned Cluster's Stop leaves it
// running: the process that started the server stops it, and the
// connections of attached processes end then. Otherwise Start starts the
// server with pg_ctl. Lock files left by a crash (postmaster.pid and the
// socket's lock file, naming a process that is gone, a zombie, or no
// postgres) are removed, and Start waits up to 15 s for lingering processes
// of a crashed server to exit. Finally Start creates cfg.Database if it does
// not exist. Calls of Start on one folder are serialized across processes
// with a lock file.
//
// Run as root, Start runs initdb and the server as the user "postgres" (or
// "nobody" if there is no such user), since PostgreSQL refuses to run as
// root, and hands the cluster folder to that user; every parent folder of Dir
// must then be searchable by that user, or Start returns ErrUnreachable.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	defer wrap(&err, "pglocal.Start(%q)", cfg.Dir)

	cfg = cfg.WithDefaults()
	if cfg.Dir != "" {
		if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Cluster{
		dir:       cfg.Dir,
		dataDir:   filepath.Join(cfg.Dir, "data"),
		socketDir: filepath.Join(cfg.Dir, "run"),
		port:      cfg.Port,
		database:  cfg.Database,
		logger:    cfg.Logger,
	}
	if c.bin, err = findBinaries(cfg.BinDir, c.dataDir); err != nil {
		return nil, err
	}
	if c.runAs, err = serverUser(); err != nil {
		return nil, err
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}

	// Serialize Start across processes so that two of them never run
	// initdb or pg_ctl start on the same folder at once: the second one
	// waits and then attaches.
	unlock, err := lockFile(ctx, filepath.Join(c.dir, "pglocal.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := c.initdb(ctx, cfg.Fast); err != nil {
		return nil, err
	}
	running, err := c.findRunning(ctx)
	if err != nil {
		return nil, err
	}
	if running != nil {
		c.attached = true
		c.socketDir, c.port = running.socketDir, running.port
		c.logger.InfoContext(ctx, "attached to running PostgreSQL",
			slog.String("dir", c.dir), slog.Int("pid", running.pid))
	} else if err := c.start(ctx, cfg.Fast); err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		if !c.attached {
			err = errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
		}
		return nil, err
	}
	return c, nil
}

// Attached reports whether Start found the server already running and
// attached to it; Stop then leaves it running.
func (c *Cluster) Attached() bool { return c.attached }

// Dir returns the absolute path of the cluster folder.
func (c *Cluster) Dir() string { return c.dir }

// ConnString returns a keyword/value connection string for database db
// (Config.Database if db is empty) over the cluster's Unix socket, as the
// superuser role SuperUser.
func (c *Cluster) ConnString(db string) string {
	if db == "" {
		db = c.database
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteConnValue(c.socketDir), c.port, SuperUser, quoteConnValue(db))
}

// Stop stops the server with a fast shutdown (open sessions are ended) if
// Start started it; it does nothing if Start attached to a running server.
// Calling Stop again does nothing. The cancellation of ctx does not cut Stop
// short, so that a process stopping on Ctrl-C with a canceled context still
// stops its server; pg_ctl waits at most 60 s for the shutdown.
func (c *Cluster) Stop(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attached || c.stopped {
		return nil
	}
	defer wrap(&err, "pglocal.Cluster.Stop(%q)", c.dir)

	start := time.Now()
	ctx = context.WithoutCancel(ctx)
	out, err := c.command(ctx, c.bin.pgCtl, "stop", "-D", c.dataDir, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		// pg_ctl exits 1 both on failure and when no server runs; tell
		// them apart by whether the server is gone.
		if _, statErr := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); !errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("pg_ctl stop: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	c.stopped = true
	c.logger.InfoContext(ctx, "stopped PostgreSQL",
		slog.String("dir", c.dir), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	return nil
}

// prepareDir creates the cluster folder and its socket folder and, as root,
// hands them to the server's user after checking that it can reach them.
func (c *Cluster) prepareDir() error {
	if err := mkdirParents(c.dir); err != nil {
		return err
	}
	for _, d := range []string{c.dir, c.socketDir} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if c.runAs == nil {
		return nil
	}
	if err := c.runAs.checkReachable(c.dir); err != nil {
		return err
	}
	for _, d := range []string{c.dir, c.socketDir} {
		if err := os.Chown(d, c.runAs.uid, c.runAs.gid); err != nil {
			return err
		}
	}
	// A data directory made by a run as another user (say, before the
	// process ran as root) must change hands as a whole.
	return c.runAs.chownTree(c.dataDir)
}

// mkdirParents creates the missing parents of dir with mode 0755, whatever
// the umask: the server's user must be able to pass through them.
func mkdirParents(dir string) error {
	var missing []string
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.Chmod(missing[i], 0o755); err != nil {
			return err
		}
	}
	return nil
}

// initdb creates the cluster unless Dir/data already holds one.
func (c *Cluster) initdb(ctx context.Context, fast bool) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	// An initdb that died half-way leaves a data directory without
	// PG_VERSION (written last); initdb refuses a non-empty folder.
	if entries, err := os.ReadDir(c.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("data directory %s is not empty but holds no cluster (no PG_VERSION); remove it to start afresh", c.dataDir)
	}
	start := time.Now()
	args := []string{
		"-D", c.dataDir,
		"-U", SuperUser,
		"--encoding=UTF8",
		"--locale=C",
		// Trust is safe here: the server listens on no TCP address, and its
		// Unix socket lives in Dir/run, a 0700 folder of the server's user
		// (and unix_socket_permissions is 0700), so only that user and root
		// can connect at all.
		"--auth=trust",
	}
	if fast {
		args = append(args, "--no-sync")
	}
	out, err := c.command(ctx, c.bin.initdb, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	c.logger.InfoContext(ctx, "initialized PostgreSQL cluster",
		slog.String("dir", c.dir), slog.String("bin_dir", c.bin.dir),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	return nil
}

// start starts the server with pg_ctl and waits until it accepts
// connections.
func (c *Cluster) start(ctx context.Context, fast bool) error {
	start := time.Now()
	settings := []string{
		"listen_addresses=",
		"unix_socket_directories=" + c.socketDir,
		"unix_socket_permissions=0700",
		"port=" + strconv.Itoa(c.port),
		// An import writes a million rows in one transaction: room for its
		// WAL without checkpoints mid-load, and buffers for its indexes.
		"shared_buffers=512MB",
		"wal_buffers=64MB",
		"max_wal_size=8GB",
		"checkpoint_timeout=30min",
		"maintenance_work_mem=256MB",
		"work_mem=64MB",
		// Nothing replicates or archives the embedded server's WAL: the
		// minimal level lets a COPY into a table the transaction created
		// or truncated (merge's first import) skip WAL, its files being
		// synced at commit instead. Crash safety is the same.
		"wal_level=minimal",
		"max_wal_senders=0",
	}
	if fast {
		settings = append(settings, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	// pg_ctl hands -o to /bin/sh, so every setting is quoted for it.
	var opts []string
	for _, s := range settings {
		opts = append(opts, "-c", shellQuote(s))
	}
	logFile := filepath.Join(c.dir, "postgres.log")
	// After a crash, processes of the dead server may hold its shared
	// memory for a moment; postgres refuses to start until they are gone.
	deadline := time.Now().Add(15 * time.Second)
	for {
		offset := fileSize(logFile)
		out, err := c.command(ctx, c.bin.pgCtl, "start", "-w", "-t", "120",
			"-D", c.dataDir, "-l", logFile, "-o", strings.Join(opts, " ")).CombinedOutput()
		if err == nil {
			break
		}
		log := logTail(logFile, offset, 20)
		if strings.Contains(log, "pre-existing shared memory block") && time.Now().Before(deadline) {
			c.logger.InfoContext(ctx, "waiting for the processes of a crashed server to exit", slog.String("dir", c.dir))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		return fmt.Errorf("pg_ctl start: %w: %s\n%s: …\n%s", err, strings.TrimSpace(string(out)), logFile, log)
	}
	c.logger.InfoContext(ctx, "started PostgreSQL",
		slog.String("dir", c.dir), slog.String("bin_dir", c.bin.dir), slog.Bool("fast", fast),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	return nil
}

// createDatabase creates the configured database if it does not exist.
func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", c.database, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.database}.Sanitize()); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created by an attached process
			return nil
		}
		return fmt.Errorf("create database %q: %w", c.database, err)
	}
	c.logger.InfoContext(ctx, "created database", slog.String("database", c.database))
	return nil
}

// running describes a server found running on the data directory.
type running struct {
	pid       int
	port      int
	socketDir string
}

// findRunning returns the server running on the data directory, or nil if
// there is none (no postmaster.pid, or a stale one). A server that is still
// starting up is waited for.
func (c *Cluster) findRunning(ctx context.Context) (*running, error) {
	pidFile := filepath.Join(c.dataDir, "postmaster.pid")
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := readPIDFile(pidFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !postgresAlive(r.pid) {
			// Left by a crash. postgres itself replaces the file when its
			// PID is gone, but not when the PID is a zombie not yet reaped
			// or was reused by another process of the server's user.
			// Removing it is safe: postgres still refuses to start while
			// any process of the old server holds its shared memory.
			// The same goes for the socket's lock file.
			stale := []string{pidFile, socketPath(c.socketDir, c.port) + ".lock"}
			if r.socketDir == c.socketDir && r.port != c.port {
				stale = append(stale, socketPath(r.socketDir, r.port)+".lock")
			}
			for _, name := range stale {
				if l, err := readPIDFile(name); err == nil && l.pid == r.pid {
					if err := os.Remove(name); err != nil {
						return nil, fmt.Errorf("remove stale lock file: %w", err)
					}
				}
			}
			c.logger.InfoContext(ctx, "removed stale postmaster.pid", slog.Int("pid", r.pid))
			return nil, nil
		}
		pingErr := ping(ctx, r.socketDir, r.port)
		if pingErr == nil {
			return &r, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("a server (pid %d) holds %s but does not answer on %s: %w",
				r.pid, c.dataDir, socketPath(r.socketDir, r.port), pingErr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readPIDFile parses postmaster.pid: pid, data directory, start time, port,
// first socket directory, and more that is not needed here. A socket's lock
// file starts with the pid too.
func readPIDFile(name string) (running, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return running{}, err
	}
	lines := strings.Split(string(b), "\n")
	var f running
	if f.pid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || f.pid <= 0 {
		return running{}, fmt.Errorf("%s: bad pid %q", name, lines[0])
	}
	if len(lines) > 4 {
		f.port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
		f.socketDir = strings.TrimSpace(lines[4])
	}
	return f, nil
}

// postgresAlive reports whether process pid exists and, where /proc tells,
// runs postgres and is no zombie: after a crash and a reboot the PID in a
// stale postmaster.pid may belong to an unrelated process, and a killed
// postmaster stays a zombie until reaped.
func postgresAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: trust kill
	}
	// "pid (comm) state …"; comm may itself hold parentheses.
	lp, rp := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if lp < 0 || rp < lp || len(stat) < rp+3 {
		return true
	}
	comm, state := string(stat[lp+1:rp]), stat[rp+2]
	return (comm == "postgres" || comm == "postmaster") && state != 'Z' && state != 'X'
}

// ping connects to the "postgres" database over the socket.
func ping(ctx context.Context, socketDir string, port int) error {
	if socketDir == "" || port == 0 {
		return errors.New("postmaster.pid names no socket yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable connect_timeout=5",
		quoteConnValue(socketDir), port, SuperUser))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// fileSize returns the size of the file, 0 if it cannot be read.
func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the last n lines written to the file after offset (or,
// if nothing was, before it), for error messages.
func logTail(name string, offset int64, n int) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	if offset < int64(len(b)) {
		b = b[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// quoteConnValue quotes a value for a keyword/value connection string.
func quoteConnValue(s string) string {
	if s != "" && !strings.ContainsAny(s, ` '\`) {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// shellQuote quotes s as one word for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// wrap prefixes a non-nil *errp with the formatted context.
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
