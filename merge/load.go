package merge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	Persons  []Person
	Rejects  []Reject
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
	// updated are the ids of the existing accounts the run changes.
	updated []int64
	// lastFile caches fileID's last answer.
	lastFile struct {
		dept, sha string
		id        int32
	}
	// storedAccount is the account of each lineage row the store already
	// has for the run's files (a forced re-import).
	storedAccount map[lineageKey]int64
	last          time.Time
}

// step logs how long the step just finished took.
func (l *loader) step(name string) {
	now := time.Now()
	if !l.last.IsZero() {
		l.cfg.Logger.Debug("load_step", slog.String("step", name), slog.Duration("took", now.Sub(l.last)))
	}
	l.last = now
}

// existing is an account the store already has for a person of the run.
type existing struct {
	id                int64
	name, address     Candidate
	phone             Candidate
	phoneBidx         []byte
	phoneVerified     bool
	nameSrc, phoneSrc *int64
	addrSrc           *int64
}

func (l *loader) run(ctx context.Context) (Ledger, error) {
	tx, in := l.tx, l.in
	led := Ledger{Files: in.Files, Persons: int64(len(in.Persons))}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, importLockKey); err != nil {
		return led, err
	}
	// Another import may have committed the same files while this one was
	// reading them: decide again, under the lock.
	if !in.Forced {
		for _, f := range in.Files {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_file WHERE dept = $1 AND sha256 = $2)`, f.Dept, f.SHA256).Scan(&done); err != nil {
				return led, err
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
		return led, err
	}
	led.RunID = l.runID
	l.cfg.Logger.Info("load_started", slog.Int64("run_id", l.runID), slog.Int("persons", len(in.Persons)))
	l.step("")
	fileIDs, err := l.sourceFiles(ctx)
	if err != nil {
		return led, err
	}
	l.files = fileIDs
	have, err := l.existing(ctx)
	if err != nil {
		return led, err
	}
	stored, err := l.lineageIDs(ctx, fileIDs)
	if err != nil {
		return led, err
	}
	l.step("existing")

	var newPersons int64
	for i := range in.Persons {
		if have[string(in.Persons[i].Key[:])] == nil {
			newPersons++
		}
	}
	// Account ids come from the sequence the login service shares: they
	// are reserved on another connection, in a transaction of their own,
	// while this one reserves the lineage block.
	reserved := make(chan reservation, 1)
	go func() {
		first, err := reserveAccounts(ctx, l.pool, newPersons)
		reserved <- reservation{first, err}
	}()
	// Persons come in blind index order: new accounts get ascending ids in
	// that order, so the primary key and the unique blind index grow at
	// their right edge, and so do the lineage rows written account by
	// account.
	lines, newLines, err := l.assignLineage(ctx, stored)
	if err != nil {
		return led, err
	}
	res := <-reserved
	if res.err != nil {
		return led, res.err
	}
	nextAccount := res.first
	l.step("reserve")

	// Decide every person: new account, update, or unchanged.
	personAccount := make([]int64, len(in.Persons))
	var updates []accountUpdate
	var conflicts []conflict
	for i := range in.Persons {
		p := &in.Persons[i]
		ex := have[string(p.Key[:])]
		if ex == nil {
			personAccount[i], nextAccount = nextAccount, nextAccount+1
			led.New++
		} else {
			personAccount[i] = ex.id
			if u, changed := l.update(ex.id, ex, p, lines.sources(i, p)); changed {
				led.Updated++
				updates = append(updates, u)
			} else {
				led.Unchanged++
			}
		}
		var storedName *Candidate
		if ex != nil && ex.name.Value != "" {
			storedName = &ex.name
		}
		conflicts = append(conflicts, conflictRows(personAccount[i], p, storedName)...)
	}
	if err := l.checkForced(personAccount, fileIDs); err != nil {
		return led, err
	}
	l.step("prepare")

	// Stream the new accounts, then the lineage rows, into binary COPY: no
	// row is held in memory longer than it takes to send it.
	if err := l.copyAccounts(ctx, personAccount, have, lines, newPersons); err != nil {
		return led, err
	}
	l.step("copy_accounts")
	if l.cfg.Idle != nil {
		l.cfg.Idle()
	}
	if err := l.applyUpdates(ctx, updates); err != nil {
		return led, err
	}
	l.step("updates")
	if err := l.copyLineage(ctx, personAccount, lines, newLines); err != nil {
		return led, err
	}
	l.step("copy_lineage")
	if led.Conflicts, err = l.insertConflicts(ctx, conflicts); err != nil {
		return led, err
	}
	l.step("conflicts")
	if err := l.copyRejects(ctx); err != nil {
		return led, err
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
	b, _ := json.Marshal(led)
	if _, err := tx.Exec(ctx, `UPDATE import_run SET ledger = $2, finished_at = clock_timestamp() WHERE id = $1`, l.runID, b); err != nil {
		return led, err
	}
	return led, nil
}

// ErrForceChanged is wrapped when a file imported again with --force gives
// other results than the first time (its mapping or the rules changed):
// lineage rows would point at the wrong accounts, so nothing is written.
var ErrForceChanged = errors.New("forced re-import gives different results")

// checkForced makes sure a forced re-import maps every row of a file to
// the account the first import did, and accepts the same rows.
func (l *loader) checkForced(personAccount []int64, files map[fileKey]int32) error {
	if len(l.storedAccount) == 0 {
		return nil
	}
	matched := map[int32]int{}
	for i := range l.in.Persons {
		for _, r := range l.in.Persons[i].Rows {
			k := lineageKey{files[fileKey{r.Dept, r.File}], r.Row}
			acc, ok := l.storedAccount[k]
			if !ok {
				continue
			}
			if acc != personAccount[i] {
				return fmt.Errorf("%w: row %d of the %s file now belongs to another person (the mapping changed); import the corrected export as a new file instead", ErrForceChanged, r.Row, r.Dept)
			}
			matched[k.file]++
		}
	}
	stored := map[int32]int{}
	for k := range l.storedAccount {
		stored[k.file]++
	}
	for _, f := range l.in.Files {
		id := files[fileKey{f.Dept, f.SHA256}]
		if n := stored[id]; matched[id] != n {
			return fmt.Errorf("%w: %d of the %d rows of %s (%s) imported before are no longer accepted (the mapping or the rules changed); import the corrected export as a new file instead", ErrForceChanged, n-matched[id], n, f.Name, f.Dept)
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

// existing loads the accounts that already exist for the run's persons,
// with the sources of their surviving values.
func (l *loader) existing(ctx context.Context) (map[string]*existing, error) {
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_key (bidx bytea NOT NULL) ON COMMIT DROP`); err != nil {
		return nil, err
	}
	if err := copyAll(ctx, l.tx, "stage_key", []string{"bidx"}, l.in.Persons, func(r *database.CopyRow, p *Person) { r.Bytea(p.Key[:]) }); err != nil {
		return nil, err
	}
	rows, err := l.tx.Query(ctx, `
		SELECT a.id, a.id_bidx, a.phone_verified, a.name, a.phone_bidx, a.address,
		       a.name_source, a.phone_source, a.address_source,
		       fn.dept, fn.sha256, ln.row_num, ln.priority, ln.record_updated_at,
		       fp.dept, fp.sha256, lp.row_num, lp.priority, lp.record_updated_at,
		       fa.dept, fa.sha256, la.row_num, la.priority, la.record_updated_at
		FROM stage_key s JOIN account a ON a.id_bidx = s.bidx
		LEFT JOIN account_lineage ln ON ln.account_id = a.id AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_id = a.id AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id
		LEFT JOIN account_lineage la ON la.account_id = a.id AND la.id = a.address_source LEFT JOIN source_file fa ON fa.id = la.file_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*existing{}
	for rows.Next() {
		var ex existing
		var key []byte
		var srcs [3]nullableSource
		if err := rows.Scan(&ex.id, &key, &ex.phoneVerified, &ex.name.Value, &ex.phoneBidx, &ex.address.Value,
			&ex.nameSrc, &ex.phoneSrc, &ex.addrSrc,
			&srcs[0].dept, &srcs[0].file, &srcs[0].row, &srcs[0].priority, &srcs[0].updated,
			&srcs[1].dept, &srcs[1].file, &srcs[1].row, &srcs[1].priority, &srcs[1].updated,
			&srcs[2].dept, &srcs[2].file, &srcs[2].row, &srcs[2].priority, &srcs[2].updated); err != nil {
			return nil, err
		}
		ex.name.Source = srcs[0].source()
		ex.phone.Source = srcs[1].source()
		ex.address.Source = srcs[2].source()
		// A value without a department source was set by the citizen (at
		// registration or first login), and one the citizen verified is
		// theirs whatever its source: both outrank every department. This
		// is where the rule lives; applyUpdates only refuses to write over
		// a value that changed since it was read here.
		ex.name.Citizen = ex.name.Value != "" && ex.nameSrc == nil
		ex.address.Citizen = ex.address.Value != "" && ex.addrSrc == nil
		if ex.phoneBidx != nil {
			ex.phone.Value = "\x00stored" // compared by blind index, never decrypted
			ex.phone.Citizen = ex.phoneVerified || ex.phoneSrc == nil
		}
		out[string(key)] = &ex
	}
	return out, rows.Err()
}

type nullableSource struct {
	dept, file *string
	row        *int64
	priority   *int32
	updated    *time.Time
}

func (n nullableSource) source() Source {
	if n.dept == nil {
		return Source{Priority: 1 << 30} // no lineage: ranks below every department
	}
	s := Source{Dept: *n.dept, File: *n.file, Row: *n.row, Priority: *n.priority}
	if n.updated != nil {
		s.UpdatedAt = n.updated.UnixMilli()
	}
	return s
}

// lineageIDs returns the lineage rows the store already has for the run's
// files (only when a file is imported again with --force).
func (l *loader) lineageIDs(ctx context.Context, files map[fileKey]int32) (map[lineageKey]int64, error) {
	out := map[lineageKey]int64{}
	l.storedAccount = map[lineageKey]int64{}
	for _, id := range files {
		rows, err := l.tx.Query(ctx, `SELECT row_num, id, account_id FROM account_lineage WHERE file_id = $1`, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var row, lid, account int64
			if err := rows.Scan(&row, &lid, &account); err != nil {
				rows.Close()
				return nil, err
			}
			out[lineageKey{id, row}] = lid
			l.storedAccount[lineageKey{id, row}] = account
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type reservation struct {
	first int64
	err   error
}

// reserveAccounts takes a block of n consecutive ids of the account
// sequence and returns the first. The login service takes ids from the
// same sequence (registrations), one nextval at a time: the database
// function reserve_account_ids (migration 012) holds their nextval with
// ALTER SEQUENCE for the few milliseconds of this short transaction (the
// increment it sets is the one the sequence has), so the block can be
// taken with one setval instead of n nextvals. It runs as the sequence's
// owner: only the owner may alter it, and the importer's role is not the
// owner. Like nextval, the block is not given back if the run rolls back.
func reserveAccounts(ctx context.Context, pool *pgxpool.Pool, n int64) (first int64, err error) {
	if n == 0 {
		return 0, nil
	}
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT reserve_account_ids($1)`, n).Scan(&first)
	})
	if err != nil {
		return 0, fmt.Errorf("reserve account ids: %w", err)
	}
	return first, nil
}

// reserveLineage takes a block of n lineage ids and returns the first.
// Only imports insert lineage, under the import lock, so one setval is
// safe.
func (l *loader) reserveLineage(ctx context.Context, n int64) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	var last int64
	err := l.tx.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence('account_lineage', 'id'),
		nextval(pg_get_serial_sequence('account_lineage', 'id')) + $1 - 1)`, n).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("reserve lineage ids: %w", err)
	}
	return last - n + 1, nil
}

var accountColumns = []string{"id", "id_bidx", "id_sealed", "id_hint", "id_type", "name", "gender", "birth_date",
	"phone_sealed", "phone_bidx", "phone_hint", "address", "status", "origin", "required_steps",
	"name_source", "phone_source", "address_source", "created_run", "updated_run"}

// copyAccounts COPYs the new accounts, in blind index order. Values are
// sealed straight into the COPY buffer while PostgreSQL inserts the rows
// sent before.
func (l *loader) copyAccounts(ctx context.Context, accounts []int64, have map[string]*existing, lines *lineTable, want int64) error {
	if want == 0 {
		return nil
	}
	k := l.cfg.Keyring
	steps := database.EncodeTextArray(stepNames(schemas.FusedAccountSteps))
	idAAD, phoneAAD := []byte(schemas.FieldIDNumber), []byte(schemas.FieldPhone)
	persons, next := l.in.Persons, 0
	n, err := database.CopyBinary(ctx, l.tx, "account", accountColumns, func(r *database.CopyRow) (bool, error) {
		for ; next < len(persons) && have[string(persons[next].Key[:])] != nil; next++ {
		}
		if next == len(persons) {
			return false, nil
		}
		i := next
		next++
		p := &persons[i]
		r.Int64(accounts[i])
		r.Bytea(p.Key[:])
		r.ByteaFunc(k.SealedLen(len(p.ID)), func(b []byte) []byte { return k.AppendSealString(b, p.ID, idAAD) })
		r.TextFunc(func(b []byte) []byte { return pii.AppendMaskID(b, p.ID) })
		r.Text(p.IDType)
		r.Text(p.Name().Value)
		r.Text(p.Gender)
		if p.HasBirth {
			r.Date(p.Birth)
		} else {
			r.Null()
		}
		if ph := p.Phone().Value; ph != "" {
			r.ByteaFunc(k.SealedLen(len(ph)), func(b []byte) []byte { return k.AppendSealString(b, ph, phoneAAD) })
			r.ByteaFunc(pii.BlindIndexLen, func(b []byte) []byte { return k.AppendBlindIndex(b, string(schemas.FieldPhone), ph) })
			r.TextFunc(func(b []byte) []byte { return pii.AppendMaskPhone(b, ph) })
		} else {
			r.Null()
			r.Null()
			r.Text("")
		}
		r.Text(p.Address().Value)
		r.Text(string(schemas.StatusPendingCompletion))
		r.Text(string(schemas.OriginFused))
		r.Raw(steps)
		src := lines.sources(i, p)
		r.Int64Ptr(src.name)
		r.Int64Ptr(src.phone)
		r.Int64Ptr(src.address)
		r.Int64(l.runID)
		r.Int64(l.runID)
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("copy into account: %d of %d rows", n, want)
	}
	return nil
}

// lineTable holds the lineage id of every input row of the run, person by
// person: the rows of person i at ids[off[i]:off[i+1]].
type lineTable struct {
	off []int
	ids []int64
	// first is the first id of the run's block: ids below it are rows the
	// store had before (a forced re-import).
	first int64
}

// sources are the lineage ids of the rows a person's values came from;
// nil for an empty value.
type sources struct{ name, phone, address *int64 }

func (t *lineTable) sources(i int, p *Person) sources {
	at := func(j int32) *int64 {
		if j < 0 {
			return nil
		}
		return &t.ids[t.off[i]+int(j)]
	}
	return sources{at(p.nameRow), at(p.phoneRow), at(p.addressRow)}
}

// assignLineage gives every input row its lineage id: the one stored for
// it, or the next of a block reserved for the run, in the order the rows
// are written (persons in blind index order, a person's rows together).
func (l *loader) assignLineage(ctx context.Context, stored map[lineageKey]int64) (*lineTable, int64, error) {
	persons := l.in.Persons
	t := &lineTable{off: make([]int, len(persons)+1)}
	for i := range persons {
		t.off[i+1] = t.off[i] + len(persons[i].Rows)
	}
	t.ids = make([]int64, t.off[len(persons)])
	storedID := func(r *Row) (int64, bool) {
		if len(stored) == 0 {
			return 0, false
		}
		id, ok := stored[lineageKey{l.fileID(r.Dept, r.File), r.Row}]
		return id, ok
	}
	n := int64(len(t.ids))
	if len(stored) > 0 {
		for i := range persons {
			for j := range persons[i].Rows {
				if _, ok := storedID(persons[i].Rows[j]); ok {
					n--
				}
			}
		}
	}
	first, err := l.reserveLineage(ctx, n)
	if err != nil {
		return nil, 0, err
	}
	t.first = first
	next := first
	for i := range persons {
		rows := persons[i].Rows
		for j := range rows {
			id, ok := storedID(rows[j])
			if !ok {
				id, next = next, next+1
			}
			t.ids[t.off[i]+j] = id
		}
	}
	return t, n, nil
}

// copyLineage COPYs the run's new lineage rows, account by account.
func (l *loader) copyLineage(ctx context.Context, accounts []int64, lines *lineTable, want int64) error {
	if want == 0 {
		return nil
	}
	persons := l.in.Persons
	i, j := 0, 0
	n, err := database.CopyBinary(ctx, l.tx, "account_lineage",
		[]string{"id", "account_id", "run_id", "file_id", "row_num", "source_key", "priority", "record_updated_at"},
		func(w *database.CopyRow) (bool, error) {
			for ; i < len(persons); i, j = i+1, 0 {
				rows := persons[i].Rows
				for ; j < len(rows); j++ {
					id := lines.ids[lines.off[i]+j]
					if id < lines.first {
						continue // stored before
					}
					r := rows[j]
					j++
					w.Int64(id)
					w.Int64(accounts[i])
					w.Int64(l.runID)
					w.Int32(l.fileID(r.Dept, r.File))
					w.Int64(r.Row)
					w.Text(r.SourceKey)
					w.Int32(r.Priority)
					if r.UpdatedAt != 0 {
						w.TimestampMilli(r.UpdatedAt)
					} else {
						w.Null()
					}
					return true, nil
				}
			}
			return false, nil
		})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("copy into account_lineage: %d of %d rows", n, want)
	}
	return nil
}

// fileID returns the id of one of the run's files. A run has few files and
// a row's strings are shared with its neighbours', so a scan beats a map.
func (l *loader) fileID(dept, sha string) int32 {
	if l.lastFile.id != 0 && l.lastFile.sha == sha && l.lastFile.dept == dept {
		return l.lastFile.id
	}
	id, ok := l.files[fileKey{dept, sha}]
	if !ok {
		panic(fmt.Sprintf("merge: a row of %s file %s is not among the run's files", dept, sha)) // rows come from the run's files
	}
	l.lastFile = struct {
		dept, sha string
		id        int32
	}{dept, sha, id}
	return id
}

func stepNames(steps []schemas.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = string(s)
	}
	return out
}

// accountUpdate is what a run changes in an existing account: each value
// with its source, when set, and the account as the run read it.
type accountUpdate struct {
	id                         int64
	setName, setAddr, setPhone bool
	name, address              string
	nameSrc, addrSrc           *int64
	phone                      string
	phoneSrc                   *int64
	was                        *existing
}

// update merges the run's values into an existing account. Its status,
// completion state and citizen-set values are never touched: survivorship
// ranks them above every department (their Candidate.Citizen).
func (l *loader) update(id int64, ex *existing, p *Person, src sources) (accountUpdate, bool) {
	// won reports whether the run's candidate replaces the stored value,
	// and the lineage id of its source.
	won := func(f schemas.Field, stored, run Candidate, runSrc, storedSrc *int64) (bool, *int64) {
		if run.Value == "" {
			return false, nil
		}
		if best, _ := Survivorship[f].Best([]Candidate{stored, run}); best != run {
			return false, nil
		}
		return !sameSource(runSrc, storedSrc), runSrc
	}
	setName, nameSrc := won(schemas.FieldName, ex.name, p.Name(), src.name, ex.nameSrc)
	setAddr, addrSrc := won(schemas.FieldAddress, ex.address, p.Address(), src.address, ex.addrSrc)
	setPhone, phoneSrc := won(schemas.FieldPhone, ex.phone, p.Phone(), src.phone, ex.phoneSrc)
	if !setName && !setPhone && !setAddr {
		return accountUpdate{}, false
	}
	return accountUpdate{id: id, setName: setName, setAddr: setAddr, setPhone: setPhone,
		name: p.Name().Value, address: p.Address().Value, nameSrc: nameSrc, addrSrc: addrSrc,
		phone: p.Phone().Value, phoneSrc: phoneSrc, was: ex}, true
}

func sameSource(a, b *int64) bool { return a != nil && b != nil && *a == *b }

// applyUpdates writes the changes to existing accounts (staged by COPY,
// applied by one UPDATE), sealing the phones as they are sent.
func (l *loader) applyUpdates(ctx context.Context, updates []accountUpdate) error {
	for _, u := range updates {
		l.updated = append(l.updated, u.id)
	}
	if len(updates) == 0 {
		return nil
	}
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_update (
		id bigint, set_name bool, name text, name_source bigint, set_address bool, address text, address_source bigint,
		set_phone bool, phone_sealed bytea, phone_bidx bytea, phone_hint text, phone_source bigint,
		was_address text, was_address_source bigint, was_phone_bidx bytea, was_phone_source bigint, was_phone_verified bool) ON COMMIT DROP`); err != nil {
		return err
	}
	k := l.cfg.Keyring
	phoneAAD := []byte(schemas.FieldPhone)
	if err := copyAll(ctx, l.tx, "stage_update", []string{"id", "set_name", "name", "name_source", "set_address", "address", "address_source",
		"set_phone", "phone_sealed", "phone_bidx", "phone_hint", "phone_source",
		"was_address", "was_address_source", "was_phone_bidx", "was_phone_source", "was_phone_verified"}, updates, func(r *database.CopyRow, u *accountUpdate) {
		r.Int64(u.id)
		r.Bool(u.setName)
		r.Text(u.name)
		r.Int64Ptr(u.nameSrc)
		r.Bool(u.setAddr)
		r.Text(u.address)
		r.Int64Ptr(u.addrSrc)
		r.Bool(u.setPhone)
		if u.setPhone {
			r.ByteaFunc(k.SealedLen(len(u.phone)), func(b []byte) []byte { return k.AppendSealString(b, u.phone, phoneAAD) })
			r.ByteaFunc(pii.BlindIndexLen, func(b []byte) []byte { return k.AppendBlindIndex(b, string(schemas.FieldPhone), u.phone) })
			r.TextFunc(func(b []byte) []byte { return pii.AppendMaskPhone(b, u.phone) })
		} else {
			r.Null()
			r.Null()
			r.Text("")
		}
		r.Int64Ptr(u.phoneSrc)
		r.Text(u.was.address.Value)
		r.Int64Ptr(u.was.addrSrc)
		r.Bytea(u.was.phoneBidx)
		r.Int64Ptr(u.was.phoneSrc)
		r.Bool(u.was.phoneVerified)
	}); err != nil {
		return err
	}
	// The decisions were taken on the accounts as the run read them. The
	// login service may change an address or phone meanwhile (③ sets the
	// citizen's address and phone, an SMS login verifies the phone): a
	// value is written only over the one the run read, compared on the
	// row as it is now (also after waiting for the login service's lock),
	// so the citizen's change stays. Only imports change names, and they
	// run one at a time.
	_, err := l.tx.Exec(ctx, `
		UPDATE account a SET
			name           = CASE WHEN s.set_name THEN s.name ELSE a.name END,
			name_source    = CASE WHEN s.set_name THEN s.name_source ELSE a.name_source END,
			address        = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address ELSE a.address END,
			address_source = CASE WHEN s.set_address AND `+addressAsRead+` THEN s.address_source ELSE a.address_source END,
			phone_sealed   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_sealed ELSE a.phone_sealed END,
			phone_bidx     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_bidx ELSE a.phone_bidx END,
			phone_hint     = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_hint ELSE a.phone_hint END,
			phone_source   = CASE WHEN s.set_phone AND `+phoneAsRead+` THEN s.phone_source ELSE a.phone_source END,
			updated_run    = $1,
			updated_at     = now()
		FROM stage_update s
		WHERE a.id = s.id`, l.runID)
	return err
}

// addressAsRead and phoneAsRead hold when an account's address or phone is
// still the one the run read (stage_update s, account a).
const (
	addressAsRead = `(a.address, a.address_source) IS NOT DISTINCT FROM (s.was_address, s.was_address_source)`
	phoneAsRead   = `(a.phone_bidx, a.phone_source, a.phone_verified) IS NOT DISTINCT FROM (s.was_phone_bidx, s.was_phone_source, s.was_phone_verified)`
)

// conflictRows lists the conflicts of a person: different names (in this
// run, or against the stored name), and departments' genders or birth dates
// that disagree with the ID number.
func conflictRows(accountID int64, p *Person, stored *Candidate) []conflict {
	type src struct {
		Dept string `json:"dept"`
		File string `json:"file_sha256"`
		Row  int64  `json:"row"`
	}
	type cand struct {
		Value  string `json:"value"`
		Source string `json:"source,omitempty"`
		From   []src  `json:"sources,omitempty"`
	}
	var out []conflict
	names := p.Names
	if len(names) == 0 {
		names = []Candidate{p.Name()}
	}
	if stored != nil && !slices.ContainsFunc(names, func(c Candidate) bool { return c.Value == stored.Value }) {
		names = append(slices.Clone(names), *stored)
		slices.SortFunc(names, Survivorship[schemas.FieldName].compare)
	}
	if len(names) > 1 {
		var cs []cand
		for _, n := range names {
			if n.Citizen {
				cs = append(cs, cand{Value: n.Value, Source: "citizen"})
				continue
			}
			cs = append(cs, cand{Value: n.Value, From: []src{{n.Dept, n.File, n.Row}}})
		}
		b, _ := json.Marshal(cs)
		out = append(out, conflict{accountID, schemas.FieldName, string(b)})
	}
	for _, f := range []schemas.Field{schemas.FieldGender, schemas.FieldBirthDate} {
		var cs []cand
		for _, m := range p.Mismatches {
			if m.Field == f {
				cs = append(cs, cand{Value: m.Value, From: []src{{m.Dept, m.File, m.Row}}})
			}
		}
		if len(cs) == 0 {
			continue
		}
		idValue := p.Gender
		if f == schemas.FieldBirthDate {
			idValue = time.Unix(int64(p.Birth)*86400, 0).UTC().Format("2006-01-02")
		}
		cs = append([]cand{{Value: idValue, Source: "id_number"}}, cs...)
		b, _ := json.Marshal(cs)
		out = append(out, conflict{accountID, f, string(b)})
	}
	return out
}

// conflict is a conflict for review: the competing values of a field of
// an account, as JSON.
type conflict struct {
	account    int64
	field      schemas.Field
	candidates string
}

// insertConflicts stores the run's conflicts; a conflict already recorded
// (the same candidates) is not recorded again.
func (l *loader) insertConflicts(ctx context.Context, cs []conflict) (int64, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	if _, err := l.tx.Exec(ctx, `CREATE TEMP TABLE stage_conflict (account_id bigint, field text, candidates text) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if err := copyAll(ctx, l.tx, "stage_conflict", []string{"account_id", "field", "candidates"}, cs, func(r *database.CopyRow, c *conflict) {
		r.Int64(c.account)
		r.Text(string(c.field))
		r.Text(c.candidates)
	}); err != nil {
		return 0, err
	}
	tag, err := l.tx.Exec(ctx, `INSERT INTO merge_conflict (account_id, field, candidates, run_id)
		SELECT account_id, field, candidates::jsonb, $1 FROM stage_conflict
		ON CONFLICT (account_id, field, md5(candidates::text)) DO NOTHING`, l.runID)
	return tag.RowsAffected(), err
}

// copyRejects stores the run's rejected rows.
func (l *loader) copyRejects(ctx context.Context) error {
	return copyAll(ctx, l.tx, "import_reject", []string{"run_id", "file_id", "row_num", "source_key", "code", "field", "value"}, l.in.Rejects,
		func(w *database.CopyRow, r *Reject) {
			w.Int64(l.runID)
			w.Int32(l.fileID(r.Dept, r.File))
			w.Int64(r.Row)
			w.Text(r.SourceKey)
			w.Text(string(r.Code))
			w.Text(string(r.Field))
			w.Text(r.Value)
		})
}

// copyAll COPYs every element of rows, encoded by encode, into table.
func copyAll[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, rows []T, encode func(*database.CopyRow, *T)) error {
	if len(rows) == 0 {
		return nil
	}
	i := 0
	n, err := database.CopyBinary(ctx, tx, table, cols, func(r *database.CopyRow) (bool, error) {
		if i == len(rows) {
			return false, nil
		}
		encode(r, &rows[i])
		i++
		return true, nil
	})
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("copy into %s: %d of %d rows", table, n, len(rows))
	}
	return nil
}

// checkLedger checks the run against the database: every file balances,
// every accepted row has its lineage, every lineage row its account, every
// surviving value its lineage row, and the new accounts are the ones
// counted.
func (l *loader) checkLedger(ctx context.Context, led *Ledger, files map[fileKey]int32) error {
	// Set-based checks: hash joins, not millions of index probes.
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
		return err
	}
	ids := make([]int32, len(led.Files))
	for i, f := range led.Files {
		ids[i] = files[fileKey{f.Dept, f.SHA256}]
	}
	lineage, rejects := map[int32]int64{}, map[int32]int64{}
	rows, err := l.tx.Query(ctx, `SELECT file_id, count(*), 'lineage' FROM account_lineage WHERE file_id = ANY($1) GROUP BY file_id
		UNION ALL SELECT file_id, count(*), 'reject' FROM import_reject WHERE run_id = $2 GROUP BY file_id`, ids, l.runID)
	if err != nil {
		return err
	}
	var id int32
	var n int64
	var kind string
	if _, err := pgx.ForEachRow(rows, []any{&id, &n, &kind}, func() error {
		if kind == "lineage" {
			lineage[id] = n
		} else {
			rejects[id] = n
		}
		return nil
	}); err != nil {
		return err
	}
	var problems []string
	for i := range led.Files {
		f := &led.Files[i]
		f.Lineage = lineage[ids[i]]
		if f.Read != f.Accepted+f.Rejected {
			problems = append(problems, fmt.Sprintf("%s: read %d != accepted %d + rejected %d", f.Name, f.Read, f.Accepted, f.Rejected))
		}
		if f.Lineage != f.Accepted {
			problems = append(problems, fmt.Sprintf("%s: lineage rows %d != accepted %d", f.Name, f.Lineage, f.Accepted))
		}
		if r := rejects[ids[i]]; r != f.Rejected {
			problems = append(problems, fmt.Sprintf("%s: stored rejects %d != rejected %d", f.Name, r, f.Rejected))
		}
	}
	if led.Persons != led.New+led.Updated+led.Unchanged {
		problems = append(problems, fmt.Sprintf("persons %d != new %d + updated %d + unchanged %d", led.Persons, led.New, led.Updated, led.Unchanged))
	}
	// Every lineage row and conflict of the run points at an account. (The
	// new accounts are the ones counted: COPY reported as many rows as
	// were new.)
	var orphans, foreign int64
	if err := l.tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM account_lineage l WHERE l.run_id = $1 AND NOT EXISTS (SELECT 1 FROM account a WHERE a.id = l.account_id)) +
		(SELECT count(*) FROM merge_conflict c WHERE c.run_id = $1 AND NOT EXISTS (SELECT 1 FROM account a WHERE a.id = c.account_id))`,
		l.runID).Scan(&orphans); err != nil {
		return err
	}
	if orphans > 0 {
		problems = append(problems, fmt.Sprintf("%d of the run's lineage rows and conflicts have no account", orphans))
	}
	// Every surviving value of the existing accounts the run changed comes
	// from a lineage row of that same account: their sources mix rows of
	// earlier runs with this one's. (A new account's sources are found
	// among the rows written with it, and nowhere else.) Few accounts:
	// index probes.
	if _, err := l.tx.Exec(ctx, `SET LOCAL enable_nestloop = on`); err != nil {
		return err
	}
	if err := l.tx.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT a.id FROM account a LEFT JOIN account_lineage l ON l.account_id = a.id
		WHERE a.id = ANY($1)
		GROUP BY a.id
		HAVING NOT coalesce(bool_or(l.id = a.name_source) OR a.name_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.phone_source) OR a.phone_source IS NULL, false)
		    OR NOT coalesce(bool_or(l.id = a.address_source) OR a.address_source IS NULL, false)) bad`,
		l.updated).Scan(&foreign); err != nil {
		return err
	}
	if foreign > 0 {
		problems = append(problems, fmt.Sprintf("%d accounts have a value whose source is not their own lineage", foreign))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %v", ErrLedger, problems)
	}
	return nil
}

// Imported reports whether a file (department + sha256) has been imported
// by a committed run.
func Imported(ctx context.Context, pool *pgxpool.Pool, dept, sha256 string) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM import_file WHERE dept = $1 AND sha256 = $2)`, dept, sha256).Scan(&ok)
	return ok, err
}
