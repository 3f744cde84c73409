package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/idfusion/idfusion/internal/database"
)

func runMigrate(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	status := fs.Bool("status", false, "list applied and pending migrations without applying any")
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	pool, closeDB, err := db.open(ctx, e, true)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))
	if !*status {
		if err := database.Migrate(ctx, pool, e.log); err != nil {
			return 0, err
		}
	}
	applied, err := database.Applied(ctx, pool)
	if err != nil {
		return 0, err
	}
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied  %03d [%s] at %s\n", m.Version, m.Name, m.AppliedAt.Format(time.RFC3339))
	}
	pending, err := database.Pending(ctx, pool)
	if err != nil {
		return 0, err
	}
	for _, m := range pending {
		fmt.Fprintf(e.stdout, "pending  %s\n", m)
	}
	return exitOK, nil
}
