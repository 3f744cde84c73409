package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/idfusion/idfusion/internal/retention"
	"github.com/idfusion/idfusion/internal/schedule"
)

func runPurge(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	olderThan := fs.String("older-than", "", "the retention period, e.g. 180d or 36h: older data goes (required)")
	dryRun := fs.Bool("dry-run", false, "list and count what would go, change and record nothing")
	config := fs.String("config", "", "a fusion schedule configuration: also purge its departments' inbox archive/ and rejected/ folders")
	asJSON := fs.Bool("json", false, "print as JSON")
	var dirs []string
	fs.Func("dir", "an output folder of fusion check/import (--out) or --keep-stages: purge its workbooks and Parquet files (repeatable)",
		func(v string) error { dirs = append(dirs, v); return nil })
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion purge --older-than 180d [--dry-run] [--config schedule.yaml] [--dir DIR]... [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if *olderThan == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage, nil
	}
	age, err := retention.ParseAge(*olderThan)
	if err != nil {
		return 0, usagef("--older-than: %v", err)
	}
	opts := retention.Options{OlderThan: age, DryRun: *dryRun, Dirs: dirs, Logger: e.log}
	if *config != "" {
		cfg, err := schedule.Load(*config)
		if err != nil {
			return 0, usageError{err}
		}
		for _, d := range cfg.Departments {
			opts.Inboxes = append(opts.Inboxes, d.Inbox)
		}
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))
	res, err := retention.Purge(ctx, pool, opts)
	if err != nil {
		return 0, err
	}
	if *asJSON {
		return exitOK, printJSON(e.stdout, res)
	}
	verb, files := "cleared", "deleted"
	if res.DryRun {
		verb, files = "would clear", "would delete"
	}
	fmt.Fprintf(e.stdout, "cutoff %s: %s the personal data of %d rejected rows of %d runs; %s %d files (%d folders)\n",
		res.Cutoff.Format(time.RFC3339), verb, res.RejectRows, res.Runs, files, res.Files, res.Folders)
	for _, p := range res.Paths {
		fmt.Fprintf(e.stdout, "  %s\n", printable(p))
	}
	if res.AuditID != 0 {
		fmt.Fprintf(e.stdout, "recorded as purge %d in purge_audit\n", res.AuditID)
	}
	return exitOK, nil
}
