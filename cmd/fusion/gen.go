package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/idfusion/idfusion/internal/sample"
)

func runGen(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "sample", "folder for exports/, mappings/ and truth.json")
	rows := fs.Int("rows", 1000, "approximate number of data rows over all departments (up to 40 million)")
	seed := fs.Uint64("seed", 1, "seed of the deterministic generator")
	only := fs.String("depts", "", "comma-separated department codes (default all: "+strings.Join(append(sample.Depts(), sample.LegalDepts()...), ",")+")")
	// Legal persons are opt-in: the persons' output (and the tests and
	// demo built on it) stays as it was.
	legal := fs.Int("legal", -1, "number of legal persons in the legal departments' exports ("+strings.Join(sample.LegalDepts(), ",")+"); -1: a tenth of the persons, 0: none")
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	cfg := sample.Config{Dir: *out, Rows: *rows, Seed: *seed, Legal: *legal}
	if *only != "" {
		cfg.Depts = strings.Split(*only, ",")
	}
	truth, err := sample.Generate(ctx, cfg)
	if err != nil {
		return 0, err
	}
	for _, f := range truth.Files {
		fmt.Fprintf(e.stdout, "%-32s %-9s %9d rows  %7d rejected  %7d warnings\n", f.Path, f.Dept, f.Rows, f.Rejected, f.Warnings)
	}
	fmt.Fprintf(e.stdout, "%d rows, %d persons; mappings in %s/mappings, truth in %s/truth.json\n", truth.Rows, truth.Persons, *out, *out)
	if truth.Legal > 0 {
		fmt.Fprintf(e.stdout, "%d legal persons (%d represented by one of the persons), truth in %s/truth_legal.csv\n", truth.Legal, truth.LegalRepsPersons, *out)
	}
	return exitOK, nil
}
