package database

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/pglocal"
)

// OpenConfig configures OpenDefault.
type OpenConfig struct {
	// URL is the connection string of the database to use (what the
	// commands read from DATABASE_URL). Default: "": start (or attach to)
	// the embedded local cluster in DataDir/pg.
	URL string

	// DataDir is the project's data folder; the embedded cluster lives in
	// DataDir/pg. Required when URL is empty, ignored otherwise.
	DataDir string

	// BinDir is the folder of the PostgreSQL server binaries for the
	// embedded cluster (what the commands read from PG_BIN_DIR). Default:
	// detected, see pglocal.Config.BinDir.
	BinDir string

	// Role, if set, is the database role the pool's connections act as
	// (SET ROLE, see SetRole), such as idfusion_authsvc; pending migrations
	// are applied before, as the connecting user (the tables' owner).
	// Default: "": the connecting user's own privileges.
	Role string

	// NoMigrate leaves the schema as it is instead of applying pending
	// migrations, for a command that only reports them. Default: false.
	NoMigrate bool

	// Logger receives the messages of the launcher, the pool and the
	// migrations. Default: a logger that discards everything.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with the defaults filled in.
func (c OpenConfig) WithDefaults() OpenConfig {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c OpenConfig) validate() error {
	if c.URL == "" && c.DataDir == "" {
		return errors.New("OpenConfig.DataDir is required when OpenConfig.URL is empty")
	}
	if c.Logger == nil {
		return errors.New("OpenConfig.Logger is nil")
	}
	return nil
}

// OpenDefault opens the database the binaries use: the one at cfg.URL if
// given, else the database "idfusion" of the embedded cluster in
// cfg.DataDir/pg, started (or attached to, if another process runs it) with
// pglocal. It first applies pending migrations, as the connecting user,
// unless cfg.NoMigrate; the pool's connections then act as cfg.Role, if
// set.
//
// The returned close function closes the pool and, if OpenDefault started
// the embedded cluster, stops it (even with a canceled context, see
// pglocal.Cluster.Stop); a process that attached to a cluster another one
// started leaves it running.
func OpenDefault(ctx context.Context, cfg OpenConfig) (_ *pgxpool.Pool, closeFn func(context.Context) error, err error) {
	defer wrap(&err, "database.OpenDefault")
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}

	connString := cfg.URL
	stop := func(context.Context) error { return nil }
	if connString == "" {
		cluster, err := pglocal.Start(ctx, pglocal.Config{
			Dir:    filepath.Join(cfg.DataDir, "pg"),
			BinDir: cfg.BinDir,
			Logger: cfg.Logger,
		})
		if err != nil {
			return nil, nil, err
		}
		connString, stop = cluster.ConnString(""), cluster.Stop
	}

	if !cfg.NoMigrate && cfg.Role != "" {
		if err := migrateAs(ctx, connString, cfg); err != nil {
			return nil, nil, errors.Join(err, stop(context.WithoutCancel(ctx)))
		}
	}
	pool, err := OpenAs(ctx, connString, cfg.Role, cfg.Logger)
	if err != nil {
		return nil, nil, errors.Join(err, stop(context.WithoutCancel(ctx)))
	}
	closeFn = func(ctx context.Context) error {
		pool.Close()
		return stop(ctx)
	}
	if !cfg.NoMigrate && cfg.Role == "" {
		if err := Migrate(ctx, pool, cfg.Logger); err != nil {
			return nil, nil, errors.Join(err, closeFn(context.WithoutCancel(ctx)))
		}
	}
	return pool, closeFn, nil
}

// migrateAs applies the pending migrations as the connecting user, on a
// pool of its own that is closed afterwards, for a pool handed out that acts
// as a role that cannot migrate.
func migrateAs(ctx context.Context, connString string, cfg OpenConfig) error {
	pool, err := Open(ctx, connString, cfg.Logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	return Migrate(ctx, pool, cfg.Logger)
}
