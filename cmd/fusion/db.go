package main

import (
	"context"
	"flag"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
)

// dbFlags are the flags of every command that uses the database.
type dbFlags struct {
	dataDir *string
	role    *string
}

func addDBFlags(fs *flag.FlagSet) dbFlags {
	return dbFlags{
		dataDir: fs.String("data-dir", "data", "the project's data folder; the embedded PostgreSQL lives in DIR/pg when DATABASE_URL is not set"),
		role:    fs.String("db-role", "", "act as this database role after applying migrations (SET ROLE on every connection), e.g. idfusion_import"),
	}
}

// open connects to DATABASE_URL, or starts (or attaches to) the embedded
// cluster; migrations are applied unless noMigrate, as the connecting user,
// and the connections then act as --db-role if given.
func (f dbFlags) open(ctx context.Context, e *env, noMigrate bool) (*pgxpool.Pool, func(context.Context) error, error) {
	return database.OpenDefault(ctx, database.OpenConfig{
		URL:       e.getenv("DATABASE_URL"),
		DataDir:   *f.dataDir,
		BinDir:    e.getenv("PG_BIN_DIR"),
		NoMigrate: noMigrate,
		Role:      *f.role,
		Logger:    e.log,
	})
}
