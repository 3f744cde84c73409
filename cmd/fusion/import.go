package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/pipeline"
	"github.com/idfusion/idfusion/internal/progress"
	"github.com/idfusion/idfusion/schemas"
)

func runImport(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	mapping := fs.String("mapping", "", "one department's mapping file (YAML), for files all from that department")
	mappingDir := fs.String("mapping-dir", "", "folder of department mapping files; files are matched by name (<dept>_….csv) or folder")
	manifest := fs.String("manifest", "", "a run manifest (YAML: mapping_dir and files with their departments) instead of --mapping-dir and FILE...")
	out := fs.String("out", "fusion-out", "folder for the run report and the feedback workbooks (with a CSV of what a long detail sheet leaves out)")
	force := fs.Bool("force", false, "import files even if they were imported before")
	dryRun := fs.Bool("dry-run", false, "do everything but the commit and print what would change")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	keep := fs.String("keep-stages", "", "write each stage's output as Parquet into this folder (sensitive values masked)")
	workers := fs.Int("workers", 0, "files read at once (default: number of CPUs)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (for `go tool pprof`)")
	memLimit := addMemoryLimitFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion import (--mapping dept.yaml | --mapping-dir DIR) [flags] FILE...\n       fusion import --manifest run.yaml [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	var inputs []pipeline.Input
	var err error
	switch {
	case *manifest != "" && *mapping == "" && *mappingDir == "" && fs.NArg() == 0:
		inputs, err = manifestInputs(*manifest)
	case *manifest == "" && (*mapping == "") != (*mappingDir == "") && fs.NArg() > 0:
		inputs, err = loadInputs(*mapping, *mappingDir, fs.Args())
	default:
		fmt.Fprintln(e.stderr, "fusion import: "+importMissing(*manifest, *mapping, *mappingDir, fs.NArg()))
		fs.Usage()
		return exitUsage, nil
	}
	if err != nil {
		return 0, usageError{err}
	}
	hold, err := applyMemoryLimit(e, *memLimit)
	if err != nil {
		return 0, err
	}
	keys, err := loadKeyring(e, *db.dataDir)
	if err != nil {
		return 0, err
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	bar := progress.New(os.Stderr, "import", len(inputs))
	walStart, walOK := walLSN(ctx, pool)
	start := time.Now()
	res, err := pipeline.Import(ctx, pool, inputs, pipeline.ImportConfig{
		Keyring: keys, OutDir: *out, Force: *force, DryRun: *dryRun, KeepStages: *keep, HoldBytes: hold,
		Options: pipeline.Options{Workers: *workers, Progress: bar.Set}, Logger: e.log,
		Stage: func(name string) func() {
			bar.Done() // reading is over when the first later stage starts
			return progress.Stage(os.Stderr, name)
		},
	})
	bar.Done()
	if err != nil {
		return 0, err
	}
	st := newRunStats(start, res.Files)
	var wal importWAL
	if walEnd, ok := walLSN(ctx, pool); ok && walOK && walEnd >= walStart {
		wal.WALBytes = walEnd - walStart
	}
	if err := printResult(e, *asJSON, struct {
		pipeline.ImportResult
		runStats
		importWAL
	}{res, st, wal}, func() { printImport(e.stdout, res, st) }); err != nil {
		return 0, err
	}
	if res.Unusable() {
		return exitUsage, nil
	}
	return exitOK, nil
}

// importWAL is the WAL the cluster wrote while the import ran (its own
// and whatever else wrote meanwhile): the load benchmark compares it with
// the floor's (fusion bench-floor).
type importWAL struct {
	WALBytes int64 `json:"wal_bytes,omitempty"`
}

// walLSN is the cluster's current WAL position in bytes; false if the
// server does not tell (a standby, or a role not allowed to ask).
func walLSN(ctx context.Context, pool *pgxpool.Pool) (int64, bool) {
	var n int64
	if err := pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&n); err != nil {
		return 0, false
	}
	return n, true
}

// manifestInputs pairs a manifest's files with their departments: the one
// named, or the one their name says.
func manifestInputs(path string) ([]pipeline.Input, error) {
	man, err := schemas.LoadManifest(path)
	if err != nil {
		return nil, err
	}
	ms, err := schemas.LoadMappingDir(man.MappingDir)
	if err != nil {
		return nil, err
	}
	inputs := make([]pipeline.Input, 0, len(man.Files))
	for i, f := range man.Files {
		if f.Dept == "" {
			in, err := pipeline.MatchInputs([]string{f.Path}, ms)
			if err != nil {
				return nil, fmt.Errorf("%s: files[%d]: %w", path, i, err)
			}
			inputs = append(inputs, in...)
			continue
		}
		m := ms[f.Dept]
		if m == nil {
			return nil, fmt.Errorf("%s: files[%d].dept: no mapping for department %q in %s", path, i, f.Dept, man.MappingDir)
		}
		inputs = append(inputs, pipeline.Input{Path: f.Path, Mapping: m})
	}
	return inputs, nil
}

// addMemoryLimitFlag adds --memory-limit to a command that imports.
func addMemoryLimitFlag(fs *flag.FlagSet) *string {
	return fs.String("memory-limit", "auto", "the run's memory budget (MiB or GiB; 0 for none; auto: 1/12 of the machine's or container's memory, 2GiB on 24GiB, at least 512MiB): the accepted rows are held in a quarter of it and beyond that spilled, sealed, to the output folder and loaded in batches; the Go collector keeps the process near it")
}

// holdShare is the part of the memory budget the accepted rows may take
// held (merge.Merger.SpillTo): merging and loading a batch of rows takes
// about twice their held size again, and the collector needs headroom.
const holdShare = 4

// applyMemoryLimit sets nine tenths of the --memory-limit as the Go memory
// limit (the rest is headroom for memory the runtime does not count or has
// not yet returned to the kernel), unless GOMEMLIMIT is set (then that is the budget), and returns what the
// accepted rows may take held (0: no limit).
func applyMemoryLimit(e *env, s string) (hold int64, err error) {
	limit, err := memoryLimit(s)
	if err != nil {
		return 0, usagef("--memory-limit: %v", err)
	}
	if e.getenv("GOMEMLIMIT") != "" {
		if limit = debug.SetMemoryLimit(-1); limit == math.MaxInt64 {
			limit = 0
		}
	} else if limit > 0 {
		debug.SetMemoryLimit(limit / 10 * 9)
	}
	return limit / holdShare, nil
}

// memoryLimit parses --memory-limit. "auto" is a twelfth of the memory the
// machine (or the container) has, at least 512 MiB and at most three
// quarters: a run needs about 1 KB a row held, so up to about a million
// rows on 24 GiB it holds every row, and larger runs spill.
func memoryLimit(s string) (int64, error) {
	if s != "auto" {
		return parseBytes(s)
	}
	total := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && (total == 0 || v < total) {
			total = v
		}
	}
	return min(max(total/12, 512<<20), total/4*3), nil
}

// parseBytes parses "900MiB", "2GiB" or "0".
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return v * u.mult, nil
		}
	}
	if s == "0" {
		return 0, nil
	}
	return 0, fmt.Errorf("bad size %q: use MiB or GiB, e.g. 900MiB", s)
}

// loadKeyring reads the key file named by IDFUSION_KEY_FILE, or creates a
// development key under the data folder and says so.
func loadKeyring(e *env, dataDir string) (*pii.Keyring, error) {
	if p := e.getenv("IDFUSION_KEY_FILE"); p != "" {
		return pii.LoadKeyring(p)
	}
	// The data folder must stay traversable for the embedded PostgreSQL's
	// user; only the key folder is private.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "keys", "dev.key")
	k, created, err := pii.LoadOrCreateDevKeyring(path)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(e.stderr, "generated a DEVELOPMENT key file %s (set IDFUSION_KEY_FILE to the production key file)\n", path)
	}
	return k, nil
}

func printImport(w io.Writer, res pipeline.ImportResult, st runStats) {
	for _, s := range res.Skipped {
		fmt.Fprintf(w, "skipped (imported before; --force to import again): %s\n", s)
	}
	led := res.Ledger
	if len(led.Files) == 0 && len(res.Files) == 0 {
		fmt.Fprintln(w, "nothing to import")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tdept\tread\taccepted\trejected\tlineage\twarnings\t")
	for _, f := range led.Files {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", f.Name, f.Dept, f.Read, f.Accepted, f.Rejected, f.Lineage, f.Warnings)
	}
	tw.Flush()
	for _, f := range res.Files {
		if f.Error != "" {
			fmt.Fprintf(w, "not imported: %s\n", f.Error)
		}
	}
	verb := "run %d committed"
	if led.DryRun {
		verb = "dry run (rolled back, run %d not kept)"
	}
	fmt.Fprintf(w, "\n"+verb+": %d persons = %d new + %d updated + %d unchanged; %d new conflicts\n",
		led.RunID, led.Persons, led.New, led.Updated, led.Unchanged, led.Conflicts)
	if l := led.Legal; l != nil {
		fmt.Fprintf(w, "of which %d legal persons = %d new + %d updated + %d unchanged\n", l.Persons, l.New, l.Updated, l.Unchanged)
	}
	fmt.Fprintf(w, "stages: read+cleanse %.2fs, merge %.2fs, load %.2fs; %.2fs total, %.0f rows/s, peak memory %.0f MB\n",
		res.ReadSeconds, res.MergeSeconds, res.LoadSeconds, st.ElapsedSeconds, st.RowsPerSecond, st.PeakRSSMB)
	if res.SpilledRows > 0 {
		fmt.Fprintf(w, "%d accepted rows spilled to disk (over --memory-limit's share) and loaded in batches\n", res.SpilledRows)
	}
	if res.Report != "" {
		fmt.Fprintf(w, "report: %s\n", res.Report)
	}
	for _, f := range res.Feedback {
		fmt.Fprintf(w, "feedback: %s\n", f)
	}
}

// importMissing says, in a sentence, what an import's command line lacks
// or has too much of, before the usage.
func importMissing(manifest, mapping, mappingDir string, files int) string {
	switch {
	case manifest != "" && (mapping != "" || mappingDir != "" || files > 0):
		return "--manifest names the mappings and the files itself: give it alone"
	case mapping != "" && mappingDir != "":
		return "give either --mapping or --mapping-dir, not both"
	case mapping == "" && mappingDir == "" && files == 0:
		return "nothing to import: give the export files and their mapping (--mapping or --mapping-dir), or a --manifest"
	case mapping == "" && mappingDir == "":
		return "no mapping: give --mapping dept.yaml or --mapping-dir DIR for the files"
	}
	return "no files to import: give the export files after the flags"
}
