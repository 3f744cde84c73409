package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/idfusion/idfusion/internal/floor"
	"github.com/idfusion/idfusion/merge"
)

// runBenchFloor measures PostgreSQL's own floor for the rows in the store
// (scripts/bench-import.sh runs it after an import into a fresh store): a
// server-side COPY of the same rows into copies of the same tables, in one
// transaction. Hidden: a benchmark tool, not an operator's command.
func runBenchFloor(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("bench-floor", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion bench-floor [--data-dir DIR] [--json]\n\nTimes PostgreSQL's own COPY of the rows an import wrote (the embedded cluster; a superuser).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage, nil
	}
	pool, closeDB, err := db.open(ctx, e, true)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))
	res, err := floor.Measure(ctx, pool, merge.LoadTables)
	if err != nil {
		return 0, err
	}
	return exitOK, printResult(e, *asJSON, res, func() {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "table\trows\tMB\tseconds\t")
		for _, t := range res.Tables {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.3f\t\n", t.Name, t.Rows, float64(t.Bytes)/1e6, t.Seconds)
		}
		fmt.Fprintf(tw, "commit\t\t\t%.3f\t\n", res.CommitSeconds)
		fmt.Fprintf(tw, "total\t\t\t%.3f\t\n", res.Seconds)
		tw.Flush()
		fmt.Fprintf(e.stdout, "WAL %.1f MB\n", float64(res.WALBytes)/1e6)
	})
}
