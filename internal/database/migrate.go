package database

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/schemas"
)

// Migration is one schema version: the file NNN_name.sql.
type Migration struct {
	Version int    // NNN, from 1
	Name    string // the name part of the file name
	SQL     string // the file's content, run as one simple-protocol Exec
}

func (m Migration) String() string { return fmt.Sprintf("%03d [%s]", m.Version, m.Name) }

// AppliedMigration is a row of the schema_migration table: a version applied
// to the database.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// migrationLockKey is the pg_advisory_xact_lock key that serializes
// migrations across processes ("idfusion" in ASCII).
const migrationLockKey int64 = 0x6964667573696f6e

var migrationFileRE = regexp.MustCompile(`^([0-9]{3})_([a-z0-9_]+)\.sql$`)

// Migrations returns the migrations embedded in the binary
// (schemas.Migrations), in version order.
func Migrations() ([]Migration, error) {
	return ReadMigrations(embedded())
}

// embedded returns the folder of the embedded migrations.
func embedded() fs.FS {
	sub, err := fs.Sub(schemas.Migrations, "migrations")
	if err != nil {
		panic(err) // only for an invalid constant path
	}
	return sub
}

// ReadMigrations returns the migrations in the root folder of fsys, in
// version order. Every .sql file must be named NNN_name.sql (a three-digit
// version from 001, and a lower-case snake_case name) and no two may share a
// version; other files are ignored.
func ReadMigrations(fsys fs.FS) (_ []Migration, err error) {
	defer wrap(&err, "database.ReadMigrations")
	paths, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var migs []Migration
	for _, p := range paths {
		m := migrationFileRE.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNN_name.sql (lower-case snake_case name)", p)
		}
		version, _ := strconv.Atoi(m[1])
		if version == 0 {
			return nil, fmt.Errorf("migration file %q: versions start at 001", p)
		}
		sql, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		migs = append(migs, Migration{Version: version, Name: m[2], SQL: string(sql)})
	}
	slices.SortFunc(migs, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(migs); i++ {
		if migs[i].Version == migs[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", migs[i-1], migs[i])
		}
	}
	return migs, nil
}

// Migrate applies the embedded migrations that the database lacks, like
// MigrateFS.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return MigrateFS(ctx, pool, embedded(), logger)
}

// MigrateFS applies the migrations in fsys (see ReadMigrations) that the
// database lacks, in version order, each in a transaction of its own that
// also records it in the table schema_migration (created if missing).
// Each transaction takes a transaction-level advisory lock first, so that
// processes migrating the same database at once apply every version once.
// Migrating an up-to-date database changes nothing. A failed migration is
// rolled back whole and stops the run with an error naming it, such as
// "error applying version 003 [name]: …". A nil logger discards.
func MigrateFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, logger *slog.Logger) (err error) {
	defer wrap(&err, "database.Migrate")
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	migs, err := ReadMigrations(fsys)
	if err != nil {
		return err
	}
	applied, err := Applied(ctx, pool)
	if err != nil {
		return err
	}
	done := make(map[int]bool, len(applied))
	for _, a := range applied {
		done[a.Version] = true
	}
	known := make(map[int]bool, len(migs))
	for _, m := range migs {
		known[m.Version] = true
	}
	for _, a := range applied {
		if !known[a.Version] {
			// A newer binary migrated this database; carry on, since
			// migrations only add, but say so.
			logger.WarnContext(ctx, "database has a migration unknown to this binary",
				slog.Int("version", a.Version), slog.String("name", a.Name))
		}
	}
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		start := time.Now()
		var skipped bool
		err := Transact(ctx, pool, func(tx pgx.Tx) error {
			var err error
			skipped, err = applyMigration(ctx, tx, m)
			return err
		})
		if err != nil {
			return fmt.Errorf("error applying version %03d [%s]: %w", m.Version, m.Name, err)
		}
		if !skipped {
			logger.InfoContext(ctx, "applied migration",
				slog.Int("version", m.Version), slog.String("name", m.Name),
				slog.Int64("duration_ms", time.Since(start).Milliseconds()))
		}
	}
	return nil
}

// applyMigration runs m in tx unless another process applied it since the
// caller looked, and records it.
func applyMigration(ctx context.Context, tx pgx.Tx, m Migration) (skipped bool, err error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
		return false, fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		version    int         PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return false, fmt.Errorf("create schema_migration: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migration WHERE version = $1)", m.Version).Scan(&exists); err != nil {
		return false, err
	}
	if exists {
		return true, nil
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migration (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	return false, nil
}

// Applied returns the migrations recorded in the database, in version order;
// none if schema_migration does not exist yet.
func Applied(ctx context.Context, pool *pgxpool.Pool) (_ []AppliedMigration, err error) {
	defer wrap(&err, "database.Applied")
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migration') IS NOT NULL").Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	rows, err := pool.Query(ctx, "SELECT version, name, applied_at FROM schema_migration ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[AppliedMigration])
}

// Pending returns the embedded migrations that the database lacks, like
// PendingFS.
func Pending(ctx context.Context, pool *pgxpool.Pool) ([]Migration, error) {
	return PendingFS(ctx, pool, embedded())
}

// PendingFS returns the migrations in fsys that the database lacks, in the
// order MigrateFS would apply them.
func PendingFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) (_ []Migration, err error) {
	defer wrap(&err, "database.Pending")
	migs, err := ReadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	applied, err := Applied(ctx, pool)
	if err != nil {
		return nil, err
	}
	done := make(map[int]bool, len(applied))
	for _, a := range applied {
		done[a.Version] = true
	}
	return slices.DeleteFunc(migs, func(m Migration) bool { return done[m.Version] }), nil
}
