package merge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// importLockKey serializes imports across processes
// (pg_advisory_xact_lock; "fusion.import" folded into 63 bits).
const importLockKey int64 = 0x66757369_6f6e696d

// FileLedger is the accounting of one file of a run.
type FileLedger = schemas.FileLedger

// Ledger is the reconciliation of a run: every row read is rejected or
// accepted, every accepted row has its lineage, and every person is a new,
// updated or unchanged account.
type Ledger struct {
	RunID     int64        `json:"run_id"`
	DryRun    bool         `json:"dry_run,omitempty"`
	Files     []FileLedger `json:"files"`
	Persons   int64        `json:"persons"`
	New       int64        `json:"new"`
	Updated   int64        `json:"updated"`
	Unchanged int64        `json:"unchanged"`
	Conflicts int64        `json:"conflicts"`
	// Legal counts the legal persons among them (nil: none in the run).
	Legal *KindLedger `json:"legal,omitempty"`
}

// KindLedger is the part of a run's persons of one kind of account.
type KindLedger struct {
	Persons   int64 `json:"persons"`
	New       int64 `json:"new"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
}

// Reject is a rejected input row as stored; Value is masked for sensitive
// fields.
type Reject struct {
	Dept, File string
	Row        int64
	SourceKey  string
	Code       schemas.Code
	Field      schemas.Field
	Value      string
}

// Input is what a run loads.
type Input struct {
	Started  time.Time
	Trigger  string // "manual" (default) or "schedule"
	Forced   bool
	Mappings []*schemas.Mapping // the departments of the run's files
	Files    []FileLedger
	// Persons are the run's persons in blind index order, a batch at a
	// time (Merger.Batches; Batch for persons at hand): a batch is loaded
	// before the next is asked for. An error fails the run.
	Persons iter.Seq2[[]Person, error]
	// Rejects are the run's rejected rows; an error fails the run.
	Rejects iter.Seq2[Reject, error]
}

// Batch is persons in blind index order as one batch.
func Batch(persons []Person) iter.Seq2[[]Person, error] {
	return func(yield func([]Person, error) bool) { yield(persons, nil) }
}

// Config is how Load works.
type Config struct {
	// Keyring seals ID numbers and phones and computes their blind indexes.
	// Required.
	Keyring *pii.Keyring
	// DryRun does everything but the commit.
	DryRun bool
	// Logger; default discards.
	Logger *slog.Logger
	// Idle, if set, is called once the new accounts are sent: the rest of
	// the load is mostly PostgreSQL's work, so work started then uses the
	// CPU the load leaves free instead of slowing it down.
	Idle func()
	// BeforeCommit, if set, is called once everything is written and the
	// ledger balances, before the commit (not in a dry run): an error
	// rolls the run back. It is where work that must succeed with the run
	// (the departments' feedback) is awaited.
	BeforeCommit func() error
}

// ErrLedger is wrapped when the ledger does not balance against the
// database; the run is rolled back.
var ErrLedger = errors.New("ledger does not balance")

var errDryRun = errors.New("dry run")

// ErrAlreadyImported is wrapped when a file of the run was imported by a
// concurrent run; nothing of this run is written.
var ErrAlreadyImported = errors.New("file already imported")

// Load writes a run in one transaction: accounts (new, updated), lineage,
// conflicts, rejects, the run and its files, then checks the ledger against
// the database before committing. Any error, and Ctrl-C, leave the
// database as it was.
func Load(ctx context.Context, pool *pgxpool.Pool, in Input, cfg Config) (led Ledger, err error) {
	if cfg.Keyring == nil {
		return led, errors.New("merge.Load: Config.Keyring is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if in.Trigger == "" {
		in.Trigger = "manual"
	}
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		l := &loader{pool: pool, tx: tx, in: in, cfg: cfg}
		var err error
		led, err = l.run(ctx)
		if err == nil && cfg.DryRun {
			return errDryRun
		}
		return err
	})
	if errors.Is(err, errDryRun) {
		led.DryRun, err = true, nil
	}
	return led, err
}

type loader struct {
	pool  *pgxpool.Pool
	tx    pgx.Tx
	in    Input
	cfg   Config
	runID int64
	files map[fileKey]int32
	// updated are the ids of the existing accounts the batch changes;
	// foreign counts the accounts of the batches before whose values have
	// a source that is not their own lineage (see foreignSources).
	updated []int64
	foreign int64
	// lastFile caches fileID's last answer.
	lastFile struct {
		dept, sha string
		id        int32
	}
	// storedAccount is the account (its key) of each lineage row the store
	// already has for the batch's rows (a forced re-import); matched
	// counts, by file, those the run's rows mapped to the same account.
	storedAccount map[lineageKey]Key
	matched       map[int32]int
	// storedCount counts, by file, the lineage rows stored before.
	storedCount map[int32]int
	// persons is the batch being loaded.
	persons []Person
	// idled is set once Config.Idle was called.
	idled bool
	// noAccounts is set when the store had no account when the run began.
	noAccounts bool
	// fresh are the tables truncateEmpty emptied in the run's
	// transaction: their COPY writes frozen rows.
	fresh map[string]bool
	last  time.Time
}

// step logs how long the step just finished took.
func (l *loader) step(name string) {
	now := time.Now()
	if !l.last.IsZero() {
		l.cfg.Logger.Debug("load_step", slog.String("step", name), slog.Duration("took", now.Sub(l.last)))
	}
	l.last = now
}

func (l *loader) run(ctx context.Context) (Ledger, error) {
	tx, in := l.tx, l.in
	led := Ledger{Files: in.Files}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, importLockKey); err != nil {
		return led, fmt.Errorf("take the import lock: %w", err)
	}
	// Another import may have committed the same files while this one was
	// reading them: decide again, under the lock.
	if !in.Forced {
		for _, f := range in.Files {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_file WHERE dept = $1 AND sha256 = $2)`, f.Dept, f.SHA256).Scan(&done); err != nil {
				return led, fmt.Errorf("check %s was not imported meanwhile: %w", f.Name, err)
			}
			if done {
				return led, fmt.Errorf("%w: %s (%s) was imported by another run meanwhile; run again to import the rest", ErrAlreadyImported, f.Name, f.Dept)
			}
		}
	}
	for _, m := range in.Mappings {
		if _, err := tx.Exec(ctx, `INSERT INTO department (code, name, priority) VALUES ($1, $2, $3)
			ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, priority = EXCLUDED.priority
			WHERE (department.name, department.priority) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.priority)`,
			m.Department.Code, m.Department.Name, m.Priority); err != nil {
			return led, fmt.Errorf("department %s: %w", m.Department.Code, err)
		}
	}
	if err := tx.QueryRow(ctx, `INSERT INTO import_run (started_at, trigger, forced, ledger) VALUES ($1, $2, $3, '{}') RETURNING id`,
		in.Started, in.Trigger, in.Forced).Scan(&l.runID); err != nil {
		return led, fmt.Errorf("start the run: %w", err)
	}
	led.RunID = l.runID
	if err := l.truncateEmpty(ctx); err != nil {
		return led, err
	}
	l.cfg.Logger.Info("load_started", slog.Int64("run_id", l.runID))
	walStart := l.walLSN(ctx)
	l.step("")
	fileIDs, err := l.sourceFiles(ctx)
	if err != nil {
		return led, fmt.Errorf("register the files: %w", err)
	}
	l.files = fileIDs
	if err := l.countStored(ctx, fileIDs); err != nil {
		return led, fmt.Errorf("read the stored lineage: %w", err)
	}
	l.matched = map[int32]int{}
	// A store without accounts (the first import) has none for any batch:
	// a batch's persons are never another batch's, so only accounts from
	// before the run could be found.
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM account)`).Scan(&l.noAccounts); err != nil {
		return led, fmt.Errorf("read the stored accounts: %w", err)
	}

	// The persons come a batch at a time, in blind index order across
	// batches: each batch is decided and written before the next is read.
	var natural, legal KindLedger
	batches := 0
	for persons, err := range in.Persons {
		if err != nil {
			return led, err
		}
		batches++
		l.persons = persons
		if err := l.batch(ctx, &led, &natural, &legal); err != nil {
			return led, err
		}
		l.persons = nil
	}
	l.idle()
	led.Persons = natural.Persons + legal.Persons
	if legal.Persons > 0 {
		led.Legal = &legal
	}
	if err := l.checkForcedFiles(fileIDs); err != nil {
		return led, err
	}
	if err := l.copyRejects(ctx); err != nil {
		return led, fmt.Errorf("copy the rejects: %w", err)
	}
	for _, f := range in.Files {
		if _, err := tx.Exec(ctx, `INSERT INTO import_file (run_id, file_id, dept, sha256, name, format, encoding, rows_read, rows_accepted, rows_rejected, warnings)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			l.runID, fileIDs[fileKey{f.Dept, f.SHA256}], f.Dept, f.SHA256, f.Name, f.Format, f.Encoding, f.Read, f.Accepted, f.Rejected, f.Warnings); err != nil {
			return led, fmt.Errorf("import_file %s: %w", f.Name, err)
		}
	}
	l.step("rejects_files")
	if err := l.checkLedger(ctx, &led, fileIDs); err != nil {
		return led, err
	}
	l.step("ledger_check")
	if walStart != "" {
		var bytes int64
		if err := tx.QueryRow(ctx, `SELECT pg_current_wal_lsn() - $1::pg_lsn`, walStart).Scan(&bytes); err == nil {
			l.cfg.Logger.Debug("load_wal", slog.Int64("bytes", bytes), slog.Int("batches", batches))
		}
	}
	b, _ := json.Marshal(led)
	if _, err := tx.Exec(ctx, `UPDATE import_run SET ledger = $2, finished_at = clock_timestamp() WHERE id = $1`, l.runID, b); err != nil {
		return led, fmt.Errorf("finish the run: %w", err)
	}
	if l.cfg.BeforeCommit != nil && !l.cfg.DryRun {
		if err := l.cfg.BeforeCommit(); err != nil {
			return led, err
		}
	}
	return led, nil
}

// idle calls Config.Idle, once.
func (l *loader) idle() {
	if l.cfg.Idle != nil && !l.idled {
		l.idled = true
		l.cfg.Idle()
	}
}

// batch decides and writes one batch of persons (l.persons): new accounts,
// updates, lineage and conflicts, counted into led and the kinds' ledgers.
func (l *loader) batch(ctx context.Context, led *Ledger, natural, legal *KindLedger) error {
	persons := l.persons
	have, err := l.existing(ctx)
	if err != nil {
		return fmt.Errorf("read the stored accounts: %w", err)
	}
	stored, err := l.lineageIDs(ctx)
	if err != nil {
		return fmt.Errorf("read the stored lineage: %w", err)
	}
	l.step("existing")

	var newPersons int64
	for i := range persons {
		if have[string(persons[i].Key[:])] == nil {
			newPersons++
		}
	}
	// Account ids come from the sequence the login service shares: they
	// are reserved on another connection, in a transaction of their own,
	// while this one reserves the lineage block.
	reserved := make(chan reservation, 1)
	go func() {
		first, err := account.ReserveIDs(ctx, l.pool, newPersons)
		reserved <- reservation{first, err}
	}()
	// Persons come in blind index order: new accounts get ascending ids in
	// that order, so the primary key and the unique blind index grow at
	// their right edge, and so do the lineage rows written account by
	// account.
	lines, newLines, err := l.assignLineage(ctx, stored)
	if err != nil {
		<-reserved
		return fmt.Errorf("assign lineage ids: %w", err)
	}
	res := <-reserved
	if res.err != nil {
		return fmt.Errorf("reserve account ids: %w", res.err)
	}
	nextAccount := res.first
	l.step("reserve")

	// Decide every person: new account, update, or unchanged.
	personAccount := make([]int64, len(persons))
	var updates []account.Update
	var conflicts []conflict
	for i := range persons {
		p := &persons[i]
		ex := have[string(p.Key[:])]
		kind := natural
		if p.Kind == schemas.KindLegal {
			kind = legal
		}
		kind.Persons++
		if ex == nil {
			personAccount[i], nextAccount = nextAccount, nextAccount+1
			led.New++
			kind.New++
		} else {
			personAccount[i] = ex.ID
			if u, changed := reconcile(ex, p, lines.sources(i, p)); changed {
				led.Updated++
				kind.Updated++
				updates = append(updates, u)
			} else {
				led.Unchanged++
				kind.Unchanged++
			}
		}
		var storedName *Candidate
		if ex != nil && ex.name.Value != "" {
			storedName = &ex.name
		}
		conflicts = append(conflicts, conflictRows(personAccount[i], p, storedName)...)
		conflicts = append(conflicts, repConflicts(l.cfg.Keyring, personAccount[i], p, ex)...)
	}
	if err := l.checkForced(); err != nil {
		return err
	}
	l.step("prepare")

	// Stream the new accounts, then the lineage rows, into binary COPY: no
	// row is held in memory longer than it takes to send it.
	if err := l.copyAccounts(ctx, personAccount, have, lines, newPersons); err != nil {
		return fmt.Errorf("copy the new accounts: %w", err)
	}
	l.step("copy_accounts")
	l.idle()
	if err := l.applyUpdates(ctx, updates); err != nil {
		return fmt.Errorf("update the stored accounts: %w", err)
	}
	l.step("updates")
	if err := l.copyLineage(ctx, lines, newLines); err != nil {
		return fmt.Errorf("copy the lineage: %w", err)
	}
	l.step("copy_lineage")
	foreign, err := l.foreignSources(ctx)
	if err != nil {
		return fmt.Errorf("check the sources of the updated accounts: %w", err)
	}
	l.foreign += foreign
	n, err := l.insertConflicts(ctx, conflicts)
	if err != nil {
		return fmt.Errorf("store the conflicts: %w", err)
	}
	led.Conflicts += n
	l.step("conflicts")
	return nil
}

// walLSN is the server's current WAL position, for the load_wal debug log
// ("": not asked for, or not allowed).
func (l *loader) walLSN(ctx context.Context) string {
	if !l.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		return ""
	}
	var lsn string
	// A savepoint: a role without the function's privilege must not fail
	// the run.
	sp, err := l.tx.Begin(ctx)
	if err != nil {
		return ""
	}
	if err := sp.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		_ = sp.Rollback(ctx)
		return ""
	}
	if sp.Commit(ctx) != nil {
		return ""
	}
	return lsn
}

// ErrForceChanged is wrapped when a file imported again with --force gives
// other results than the first time (its mapping or the rules changed):
// lineage rows would point at the wrong accounts, so nothing is written.
var ErrForceChanged = errors.New("forced re-import gives different results")

// checkForced makes sure a forced re-import maps every row of a file
// that the store has to the account the first import did, counting the
// rows matched for checkForcedFiles.
func (l *loader) checkForced() error {
	if len(l.storedAccount) == 0 {
		return nil
	}
	for i := range l.persons {
		for _, r := range l.persons[i].Rows {
			k := lineageKey{l.fileID(r.Dept, r.File), r.Row}
			acc, ok := l.storedAccount[k]
			if !ok {
				continue
			}
			if acc != l.persons[i].Key {
				return fmt.Errorf("%w: row %d of the %s file now belongs to another person (the mapping changed); import the corrected export as a new file instead", ErrForceChanged, r.Row, r.Dept)
			}
			l.matched[k.file]++
		}
	}
	return nil
}

// checkForcedFiles makes sure, once every batch is loaded, that a forced
// re-import accepted every row of a file the first import did.
func (l *loader) checkForcedFiles(files map[fileKey]int32) error {
	for _, f := range l.in.Files {
		id := files[fileKey{f.Dept, f.SHA256}]
		if n := l.storedCount[id]; l.matched[id] != n {
			return fmt.Errorf("%w: %d of the %d rows of %s (%s) imported before are no longer accepted (the mapping or the rules changed); import the corrected export as a new file instead", ErrForceChanged, n-l.matched[id], n, f.Name, f.Dept)
		}
	}
	return nil
}

type fileKey struct{ dept, sha string }

type lineageKey struct {
	file int32
	row  int64
}

// sourceFiles registers the run's files and returns their ids.
func (l *loader) sourceFiles(ctx context.Context) (map[fileKey]int32, error) {
	out := map[fileKey]int32{}
	for _, f := range l.in.Files {
		var id int32
		if err := l.tx.QueryRow(ctx, `WITH ins AS (
				INSERT INTO source_file (dept, sha256) VALUES ($1, $2) ON CONFLICT (dept, sha256) DO NOTHING RETURNING id)
			SELECT id FROM ins UNION ALL SELECT id FROM source_file WHERE dept = $1 AND sha256 = $2`, f.Dept, f.SHA256).Scan(&id); err != nil {
			return nil, fmt.Errorf("source file %s: %w", f.Name, err)
		}
		out[fileKey{f.Dept, f.SHA256}] = id
	}
	return out, nil
}
