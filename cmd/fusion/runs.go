package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/report"
)

func runRuns(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	limit := fs.Int("limit", 20, "most runs listed, newest first (0: all)")
	runID := fs.Int64("run", 0, "show this run's ledger per file (exit code 1 if it does not balance)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion runs [--json] [--limit N] [--run ID]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if fs.NArg() > 0 || *limit < 0 || *runID < 0 {
		fs.Usage()
		return exitUsage, nil
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))

	if *runID > 0 {
		d, err := report.RunByID(ctx, pool, *runID)
		if errors.Is(err, database.ErrNotFound) {
			return 0, usagef("no committed run %d", *runID)
		}
		if err != nil {
			return 0, err
		}
		if *asJSON {
			err = printJSON(e.stdout, d)
		} else {
			printRun(e.stdout, d)
		}
		if err != nil {
			return 0, err
		}
		if !d.Balanced {
			return exitRejects, nil
		}
		return exitOK, nil
	}

	runs, err := report.Runs(ctx, pool, *limit)
	if err != nil {
		return 0, err
	}
	if *asJSON {
		if runs == nil {
			runs = []report.Run{}
		}
		return exitOK, printJSON(e.stdout, struct {
			Runs []report.Run `json:"runs"`
		}{runs})
	}
	printRuns(e.stdout, runs)
	return exitOK, nil
}

const timeLayout = "2006-01-02 15:04:05"

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func printRuns(w io.Writer, runs []report.Run) {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no import runs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tstarted\tfinished\ttrigger\tforced\tfiles\tread\taccepted\trejected\tpersons\tnew\tupdated\tunchanged\tconflicts\tbalanced\t")
	for _, r := range runs {
		forced := ""
		if r.Forced {
			forced = "forced"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n",
			r.ID, r.Started.Local().Format(timeLayout), r.Finished.Local().Format(timeLayout), r.Trigger, forced,
			r.Files, r.Read, r.Accepted, r.Rejected, r.Persons, r.New, r.Updated, r.Unchanged, r.Conflicts, yesNo(r.Balanced))
	}
	tw.Flush()
}

func printRun(w io.Writer, d report.RunDetail) {
	forced := "not forced"
	if d.Forced {
		forced = "forced"
	}
	fmt.Fprintf(w, "run %d: %s, %s; started %s, finished %s\n\n", d.ID, d.Trigger, forced,
		d.Started.Local().Format(timeLayout), d.Finished.Local().Format(timeLayout))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tdept\tsha256\tread\taccepted\trejected\tlineage\twarnings\tbalanced\t")
	for _, f := range d.FileLedgers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", cell(f.Name), cell(f.Dept), shortHash(f.SHA256),
			f.Read, f.Accepted, f.Rejected, f.Lineage, f.Warnings, yesNo(f.Balanced))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d persons = %d new + %d updated + %d unchanged; %d conflicts\n",
		d.Persons, d.New, d.Updated, d.Unchanged, d.Conflicts)
	if l := d.Legal; l != nil {
		fmt.Fprintf(w, "of which %d legal persons = %d new + %d updated + %d unchanged\n", l.Persons, l.New, l.Updated, l.Unchanged)
	}
	for _, f := range d.FileLedgers {
		if f.Balanced {
			continue
		}
		fmt.Fprintf(w, "%s: read %d, accepted %d, rejected %d (stored %d), lineage %d at commit and %d now\n",
			printable(f.Name), f.Read, f.Accepted, f.Rejected, f.RejectsStored, f.Lineage, f.LineageNow)
	}
	if d.Balanced {
		fmt.Fprintln(w, "ledger balances: read = accepted + rejected, lineage = accepted, persons = new + updated + unchanged")
	} else {
		fmt.Fprintln(w, "ledger DOES NOT balance")
	}
}

// shortHash is the first 12 characters of a sha256, enough to tell files
// apart on a screen.
func shortHash(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
