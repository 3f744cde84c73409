// Command fusion is the data engineers' and auditors' tool for the identity
// fusion pipeline: check departmental exports, generate sample data, import
// them (by hand, or on a schedule from the departments' inboxes), review
// past runs and open conflicts, export the golden records, and manage the
// database.
//
// Usage:
//
//	fusion check --mapping dept.yaml FILE...   dry look at files (no database)
//	fusion gen --out DIR [--rows N]            deterministic sample exports
//	fusion import --mapping-dir DIR FILE...    import files as one run
//	fusion import --mapping dept.yaml FILE...  the same, all files from one department
//	fusion schedule --config FILE [--once] [--metrics-addr ADDR]
//	                                           import what departments drop into
//	                                           their inboxes, on cron schedules
//	fusion runs [--json] [--limit N]           past import runs, newest first
//	fusion runs --run ID [--json]              one run's ledger per file
//	fusion conflicts [--json] [--field F]      open merge conflicts for review
//	fusion export --format parquet|csv --out FILE [--decrypt --reason TEXT]
//	                                           the golden records with lineage
//	fusion purge --older-than 180d [--dry-run] [--config FILE] [--dir DIR]...
//	                                           delete the personal data of rejected
//	                                           rows and pipeline outputs older than
//	                                           the period; recorded in purge_audit
//	fusion migrate [--status]                  apply the embedded migrations
//
// ID numbers and phones are masked everywhere; only export --decrypt shows
// them, with a reason that is recorded in the table export_audit and logged.
//
// Every command that uses the database takes --db-role ROLE (e.g.
// idfusion_import): migrations are applied as the connecting user, then
// the connections act as that role.
//
// Exit codes: 0 success (check: no rejects), 1 rejects found (check) or a
// ledger that does not balance (runs --run), 2 unusable input or
// configuration, 3 internal or database error (schedule --once: a job
// failed or was interrupted).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK       = 0
	exitRejects  = 1
	exitUsage    = 2
	exitInternal = 3
)

// usageError marks errors of flags or configuration: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) (int, error)
}

// env is what commands get from main: streams, logger and the environment
// variables they may read (only cmd reads the environment).
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	getenv         func(string) string
}

var commands = []command{
	{"check", "read and cleanse files without touching the database", runCheck},
	{"gen", "generate deterministic sample departmental exports", runGen},
	{"import", "import files into the unified account store as one run", runImport},
	{"schedule", "import the departments' inboxes on cron schedules (or --once), with housekeeping", runSchedule},
	{"runs", "list past import runs, or one run's ledger per file", runRuns},
	{"conflicts", "list the open merge conflicts for review", runConflicts},
	{"export", "export the golden records with their lineage (masked unless --decrypt)", runExport},
	{"purge", "delete rejected rows' personal data and pipeline outputs older than a period (audited)", runPurge},
	{"migrate", "apply the embedded database migrations", runMigrate},
}

// hiddenCommands are benchmark tools: they run, but usage does not list them.
var hiddenCommands = []command{
	{"bench-floor", "time PostgreSQL's own COPY of the stored rows (scripts/bench-import.sh)", runBenchFloor},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, log: newLogger(os.Stderr), getenv: os.Getenv}
	os.Exit(run(ctx, e, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		return exitUsage
	}
	for _, c := range append(commands[:len(commands):len(commands)], hiddenCommands...) {
		if c.name != args[0] {
			continue
		}
		code, err := c.run(ctx, e, args[1:])
		if err != nil {
			fmt.Fprintf(e.stderr, "fusion %s: %v\n", c.name, err)
			var ue usageError
			switch {
			case errors.As(err, &ue):
				return exitUsage
			case errors.Is(err, context.Canceled):
				fmt.Fprintln(e.stderr, "interrupted: nothing was written to the database")
				return exitInternal
			}
			return exitInternal
		}
		return code
	}
	fmt.Fprintf(e.stderr, "fusion: unknown command %q\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: fusion <command> [flags] [args]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'fusion <command> -h' for a command's flags.")
}

// newLogger logs text on a terminal and JSON otherwise.
// FUSION_LOG_LEVEL=debug shows the load's step timings.
func newLogger(w *os.File) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if os.Getenv("FUSION_LOG_LEVEL") == "debug" {
		opts.Level = slog.LevelDebug
	}
	if st, err := w.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
