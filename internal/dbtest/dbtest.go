// Package dbtest gives tests a real PostgreSQL database of their own.
//
// A test package that touches the database calls Main from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// and each test asks for its database with New (a pool) or ConnString (for a
// subprocess), or for a rolled-back transaction with NewTx:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool := dbtest.New(t)
//		…
//	}
//
// The server is the one at DATABASE_URL if that is set; otherwise the first
// test that asks starts one throwaway local cluster (pglocal, durability off,
// the server binaries in PG_BIN_DIR or detected) in a new temporary folder
// for the whole test binary, which Main stops and removes after the tests. Once per server, the migrations are applied to a
// template database named after a hash of the migration files, under an
// advisory lock so that test binaries sharing a server do not race; every
// database handed out is a copy of that template, dropped when its test ends.
//
// MemberConnString turns a database's connection string into one for a
// login user that is only a member of a role of migration 012
// (idfusion_authsvc, idfusion_import), for tests that run code with a
// deployment's privileges.
//
// There is no silent skip: if no server can be had, the test fails with the
// reason.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pglocal"
)

// maxConns caps each test database's pool: many tests run in parallel on a
// few cores, each against its own database.
const maxConns = 4

// templateLockKey is the pg_advisory_lock key that guards building the
// template database ("idf_tmpl" in ASCII).
const templateLockKey int64 = 0x6964665f746d706c

// server is the shared state of the test binary: one server and its
// template, set up by the first test that needs them.
var server struct {
	once     sync.Once
	err      error
	cluster  *pglocal.Cluster // nil when DATABASE_URL is used
	tmpDir   string           // the cluster's temporary folder
	url      string           // the DATABASE_URL, if any
	admin    *pgxpool.Pool    // the maintenance database, for CREATE/DROP DATABASE
	template string

	sharedOnce sync.Once
	sharedErr  error
	sharedName string        // the database of NewTx
	shared     *pgxpool.Pool // its pool
}

// Main runs the tests of a package, then stops and removes the throwaway
// cluster if one was started, and exits with the tests' status. Call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// New returns a pool (at most 4 connections) on a new database of the test's
// own, a copy of the migrated template, dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newPool(t, ConnString(t))
}

// ConnString creates a new database of the test's own, a copy of the
// migrated template, and returns its connection string (for a subprocess
// such as the CLI under test). The database is dropped, whoever is still
// connected to it, when the test ends.
func ConnString(t testing.TB) string {
	t.Helper()
	return createDatabase(t, true)
}

// NewEmpty is New for a database without any migration (a copy of
// template0), for tests of the migrations themselves.
func NewEmpty(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return newPool(t, createDatabase(t, false))
}

// NewBefore is NewEmpty migrated up to, not including, migration version:
// for tests of a migration on rows written before it.
func NewBefore(t testing.TB, version int) *pgxpool.Pool {
	t.Helper()
	pool := NewEmpty(t)
	migs, err := database.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	for _, m := range migs {
		if m.Version < version {
			before[m.String()[:3]+"_"+m.Name+".sql"] = &fstest.MapFile{Data: []byte(m.SQL)}
		}
	}
	if err := database.MigrateFS(context.Background(), pool, before, nil); err != nil {
		t.Fatal(err)
	}
	return pool
}

func newPool(t testing.TB, connString string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	// Registered after the database's drop, so it runs before it.
	t.Cleanup(pool.Close)
	return pool
}

// NewTx returns a transaction on a migrated database shared by the test
// binary's NewTx callers, rolled back when the test ends. It is cheaper than
// New (a new database costs a few hundred milliseconds) for a test that only
// runs queries and needs no transactions of its own; the test sees the
// writes of no other test (but two tests writing the same unique key wait
// for each other). The shared pool holds 8 connections, and a test waits
// for one while 8 others hold theirs.
func NewTx(t testing.TB) pgx.Tx {
	t.Helper()
	server.sharedOnce.Do(func() { server.sharedErr = createShared() })
	if server.sharedErr != nil {
		t.Fatalf("dbtest: %v", server.sharedErr)
	}
	ctx := context.Background()
	tx, err := server.shared.Begin(ctx)
	if err != nil {
		t.Fatalf("dbtest: begin: %v", err)
	}
	t.Cleanup(func() {
		if err := tx.Rollback(context.Background()); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			t.Errorf("dbtest: rollback: %v", err)
		}
	})
	return tx
}

// createShared creates the database of NewTx, which teardown drops.
func createShared() error {
	if err := setupOnce(); err != nil {
		return err
	}
	ctx := context.Background()
	name, cs, err := create(ctx, server.template)
	if err != nil {
		return err
	}
	server.sharedName = name
	cfg, err := pgxpool.ParseConfig(cs)
	if err != nil {
		return err
	}
	cfg.MaxConns = 2 * maxConns
	server.shared, err = pgxpool.NewWithConfig(ctx, cfg)
	return err
}

func setupOnce() error {
	server.once.Do(func() { server.err = setup() })
	if server.err != nil {
		return fmt.Errorf("no test database: %w", server.err)
	}
	return nil
}

// createDatabase creates a database for the test, a copy of the template
// (or of template0), dropped at its end, and returns its connection
// string.
func createDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	if err := setupOnce(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	template := "template0"
	if migrated {
		template = server.template
	}
	name, cs, err := create(context.Background(), template)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(name); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	return cs
}

// create creates a database with a random name from template and returns
// its name and connection string.
func create(ctx context.Context, template string) (name, connString string, err error) {
	name = "test_" + randomHex(8)
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	if _, err := server.admin.Exec(ctx, sql); err != nil {
		return "", "", fmt.Errorf("create database %s: %w", name, err)
	}
	connString, err = connStringFor(name)
	return name, connString, err
}

// drop drops the database, ending the sessions still connected to it.
func drop(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := server.admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// setup finds or starts the server and builds the template.
func setup() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	migs, err := database.Migrations()
	if err != nil {
		return err
	}
	server.template = templateName(migs)

	server.url = os.Getenv("DATABASE_URL")
	if server.url == "" {
		if err := startCluster(ctx); err != nil {
			return err
		}
	}
	adminConn := server.url
	if server.cluster != nil {
		adminConn = server.cluster.ConnString("postgres")
	}
	cfg, err := pgxpool.ParseConfig(adminConn)
	if err != nil {
		return err
	}
	cfg.MaxConns = maxConns
	if server.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	return buildTemplate(ctx)
}

// startCluster starts the throwaway cluster in a new temporary folder.
func startCluster(ctx context.Context) error {
	dir, err := clusterTempDir()
	if err != nil {
		return err
	}
	server.tmpDir = dir
	server.cluster, err = pglocal.Start(ctx, pglocal.Config{
		Dir:    filepath.Join(dir, "pg"),
		BinDir: os.Getenv("PG_BIN_DIR"),
		Fast:   true,
		Logger: slog.New(slog.DiscardHandler),
		// Every test database is named explicitly: ask for none more.
		Database: "postgres",
	})
	if err != nil {
		return fmt.Errorf("%w (set DATABASE_URL to use an existing server instead)", err)
	}
	return nil
}

// clusterTempDir creates the cluster's temporary folder with mode 0755 in
// the usual temporary folder or, when that one is not world-searchable (as
// root the server runs as another user, who must pass through), in /tmp.
func clusterTempDir() (string, error) {
	base := os.TempDir()
	if os.Geteuid() == 0 && !worldSearchable(base) {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "idfusion-dbtest-")
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

// worldSearchable reports whether dir and all its parents can be passed
// through by any user.
func worldSearchable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
		dir = filepath.Dir(dir)
	}
}

// templateName names the template after the migrations, so that a server
// shared by runs of different versions keeps one template per schema.
func templateName(migs []database.Migration) string {
	h := sha256.New()
	for _, m := range migs {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00", m.Version, m.Name, m.SQL)
	}
	return "idfusion_template_" + hex.EncodeToString(h.Sum(nil))[:16]
}

// buildTemplate creates and migrates the template database unless a
// complete one exists. A complete template is marked datistemplate; one
// without the mark was left half-built by a crashed run and is rebuilt.
func buildTemplate(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("build template database %s: %w", server.template, err)
		}
	}()
	conn, err := server.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// A session-level lock: CREATE DATABASE cannot run in a transaction.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey)

	var exists, complete bool
	err = conn.QueryRow(ctx, "SELECT true, datistemplate FROM pg_database WHERE datname = $1", server.template).Scan(&exists, &complete)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if complete {
		return nil
	}
	ident := pgx.Identifier{server.template}.Sanitize()
	if exists {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
		return err
	}
	cs, err := connStringFor(server.template)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cs)
	if err != nil {
		return err
	}
	err = database.Migrate(ctx, pool, nil)
	pool.Close() // CREATE DATABASE … TEMPLATE needs the template unused
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "ALTER DATABASE "+ident+" IS_TEMPLATE true")
	return err
}

// connStringFor returns the connection string of database db on the
// server.
func connStringFor(db string) (string, error) {
	if server.cluster != nil {
		return server.cluster.ConnString(db), nil
	}
	return withDatabase(server.url, db)
}

// withDatabase returns connString (a URL or a keyword/value string) with
// its database replaced by db.
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		u.Path, u.RawPath = "/"+db, ""
		return u.String(), nil
	}
	// In a keyword/value string the last setting of a keyword wins; db is
	// one of ours, plain [a-z0-9_].
	return connString + " dbname=" + db, nil
}

// members are the login users MemberConnString created, by group role.
var members sync.Map // group → *memberUser

type memberUser struct {
	once sync.Once
	err  error
}

// memberPassword is the password of the test login users; the throwaway
// cluster trusts its socket and ignores it.
const memberPassword = "idfusion-test"

// MemberConnString returns connString, a database of this package's, for a
// login user that is a member of the group role group (such as
// "idfusion_authsvc", migration 012) and has no privileges of its own: what
// a deployment's service user is. The user, "<group>_test", is created
// once per server; roles belong to the server, not to a database.
func MemberConnString(t testing.TB, connString, group string) string {
	t.Helper()
	if err := setupOnce(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	user := group + "_test"
	m, _ := members.LoadOrStore(group, &memberUser{})
	mu := m.(*memberUser)
	mu.once.Do(func() { mu.err = createMember(user, group) })
	if mu.err != nil {
		t.Fatalf("dbtest: login user %s in role %s: %v", user, group, mu.err)
	}
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		u.User = url.UserPassword(user, memberPassword)
		return u.String()
	}
	// In a keyword/value string the last setting of a keyword wins.
	return connString + " user=" + user + " password=" + memberPassword
}

// createMember creates the login user in group unless it exists; another
// test binary on the same server may be creating it at the same time.
func createMember(user, group string) error {
	ctx := context.Background()
	var exists bool
	if err := server.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", user).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		_, err := server.admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pgx.Identifier{user}.Sanitize(), memberPassword))
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505")) {
			return err
		}
	}
	_, err := server.admin.Exec(ctx, fmt.Sprintf("GRANT %s TO %s", pgx.Identifier{group}.Sanitize(), pgx.Identifier{user}.Sanitize()))
	return err
}

// teardown drops the shared database of NewTx, closes the maintenance
// pool, and stops and removes the throwaway cluster, if any.
func teardown() error {
	var errs []error
	if server.shared != nil {
		server.shared.Close()
		errs = append(errs, drop(server.sharedName))
	}
	if server.admin != nil {
		server.admin.Close()
	}
	if server.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		errs = append(errs, server.cluster.Stop(ctx))
	}
	if server.tmpDir != "" {
		errs = append(errs, os.RemoveAll(server.tmpDir))
	}
	return errors.Join(errs...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
