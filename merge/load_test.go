package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// The person of the load tests, as two departments know them: renshe
// (trust 2) first, then gongan (trust 1) with newer data, whose name,
// phone and address therefore replace renshe's unless they are the
// citizen's. The citizen's own values are a third set.
const (
	testID = "460102199001011234"

	renshePhone, gonganPhone, citizenPhone = "13900000001", "13900000002", "13800000003"
	rensheAddr, gonganAddr, citizenAddr    = "海口市一号", "三亚市二号", "文昌市三号"
)

var (
	rensheRows = [][]any{{testID, "张三", renshePhone, "renshe", 2, 1000, 2, rensheAddr}}
	gonganRows = [][]any{{testID, "张叁", gonganPhone, "gongan", 1, 2000, 2, gonganAddr}}
)

// loadRows loads rows of one department's file as one run.
func loadRows(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, rows [][]any, idle func()) Ledger {
	t.Helper()
	led, err := load(t, pool, keys, rows, false, idle)
	if err != nil {
		t.Fatal(err)
	}
	return led
}

// load loads rows of one department's file as one run, forced or not.
func load(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, rows [][]any, forced bool, idle func()) (Ledger, error) {
	t.Helper()
	m := NewMerger(keys)
	rec := cleanRecord(t, rows)
	m.AddClean(rec)
	rec.Release()
	defer m.Release()
	dept := rows[0][3].(string)
	n := int64(len(rows))
	return Load(context.Background(), pool, Input{
		Started:  time.Now(),
		Forced:   forced,
		Mappings: []*schemas.Mapping{{Department: schemas.Department{Code: dept, Name: dept}, Priority: rows[0][4].(int)}},
		Files:    []FileLedger{{Dept: dept, Name: dept + ".csv", SHA256: "sha-" + dept, Format: "csv", Read: n, Accepted: n}},
		Persons:  m.Batches(),
	}, Config{Keyring: keys, Idle: idle})
}

// stored is an account as the tests compare it: each value with the run
// whose lineage row is its source (0: no source, the citizen's).
type stored struct {
	Name          string
	NameRun       int64
	Phone         string
	PhoneRun      int64
	PhoneVerified bool
	Address       string
	AddressRun    int64
	Status        string
	UpdatedRun    int64
	Lineage       map[int64]int // lineage rows by run
	Conflicts     map[string][]candidate
}

// candidate is a conflict's candidate as merge_conflict stores it.
type candidate struct {
	Value  string `json:"value"`
	Source string `json:"source"`
	From   []struct {
		Dept string `json:"dept"`
		File string `json:"file_sha256"`
		Row  int64  `json:"row"`
	} `json:"sources"`
}

// readAccount reads the account of testID and returns it with its id.
func readAccount(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring) (s stored, id int64) {
	t.Helper()
	ctx := context.Background()
	var sealed, bidx []byte
	var hint string
	if err := pool.QueryRow(ctx, `SELECT a.id, a.name, coalesce(ln.run_id, 0), a.phone_sealed, a.phone_bidx, a.phone_hint,
			coalesce(lp.run_id, 0), a.phone_verified, a.address, coalesce(la.run_id, 0), a.status, a.updated_run
		FROM account a
		LEFT JOIN account_lineage ln ON ln.id = a.name_source
		LEFT JOIN account_lineage lp ON lp.id = a.phone_source
		LEFT JOIN account_lineage la ON la.id = a.address_source
		WHERE a.id_bidx = $1`, keys.BlindIndex(string(schemas.FieldIDNumber), testID)).Scan(
		&id, &s.Name, &s.NameRun, &sealed, &bidx, &hint,
		&s.PhoneRun, &s.PhoneVerified, &s.Address, &s.AddressRun, &s.Status, &s.UpdatedRun); err != nil {
		t.Fatal(err)
	}
	phone, err := keys.Open(sealed, []byte(schemas.FieldPhone))
	if err != nil {
		t.Fatal(err)
	}
	s.Phone = string(phone)
	// The phone's blind index and hint are the sealed phone's.
	if !bytes.Equal(bidx, keys.BlindIndex(string(schemas.FieldPhone), s.Phone)) || hint != pii.MaskPhone(s.Phone) {
		t.Errorf("phone %s stored with hint %q and another phone's blind index", s.Phone, hint)
	}
	s.Lineage = map[int64]int{}
	rows, err := pool.Query(ctx, `SELECT run_id, count(*) FROM account_lineage WHERE account_bidx = (SELECT id_bidx FROM account WHERE id = $1) GROUP BY run_id`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var run int64
		var n int
		if err := rows.Scan(&run, &n); err != nil {
			t.Fatal(err)
		}
		s.Lineage[run] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	s.Conflicts = map[string][]candidate{}
	rows, err = pool.Query(ctx, `SELECT field, candidates FROM merge_conflict WHERE account_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var field string
		var cs []candidate
		if err := rows.Scan(&field, &cs); err != nil {
			t.Fatal(err)
		}
		s.Conflicts[field] = cs
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s, id
}

// from is a conflict candidate from a department's row 2.
func from(value, dept string) candidate {
	c := candidate{Value: value}
	c.From = append(c.From, struct {
		Dept string `json:"dept"`
		File string `json:"file_sha256"`
		Row  int64  `json:"row"`
	}{dept, "sha-" + dept, 2})
	return c
}

// citizenChange is a change the login service makes to an account: what
// the citizen sets or verifies.
type citizenChange struct {
	name string
	sql  string // $1 the account id, $2 the citizen's phone sealed, $3 its blind index, $4 its hint
}

var (
	// verifyPhone is an SMS login of an active account (authsvc/login.go).
	verifyPhone = citizenChange{"sms_login_verifies_phone", `UPDATE account SET phone_verified = true, phone_source = NULL WHERE id = $1`}
	// completeWithAddress is ③ of a flow that set an address, after a
	// face login that proved no phone (authsvc/flow.go activate).
	completeWithAddress = citizenChange{"completion_sets_address", `UPDATE account SET address = '` + citizenAddr + `', address_source = NULL,
		status = 'active', required_steps = '{}' WHERE id = $1`}
	// completeWithPhone is ③ of a flow that proved a new phone.
	completeWithPhone = citizenChange{"completion_sets_new_phone", `UPDATE account SET phone_sealed = $2, phone_bidx = $3, phone_hint = $4,
		phone_verified = true, phone_source = NULL, status = 'active', required_steps = '{}' WHERE id = $1`}
)

// apply makes the change on its own connection, committed.
func (c citizenChange) apply(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, account int64) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), c.sql, append([]any{account}, citizenPhoneArgs(keys, c.sql)...)...); err != nil {
		t.Errorf("%s: %v", c.name, err)
	}
}

// citizenPhoneArgs are the citizen's phone as the statement sql needs it.
func citizenPhoneArgs(keys *pii.Keyring, sql string) []any {
	if !bytes.Contains([]byte(sql), []byte("$2")) {
		return nil
	}
	return []any{keys.Seal([]byte(citizenPhone), []byte(schemas.FieldPhone)),
		keys.BlindIndex(string(schemas.FieldPhone), citizenPhone), pii.MaskPhone(citizenPhone)}
}

// TestLoadKeepsCitizenValues: an import over an existing account replaces
// the departments' values with newer ones, but never a phone the citizen
// verified, nor any value the citizen entered (no department source); it
// still links its row to the account, records the name conflict (the
// citizen's name as such) and counts the account unchanged when it
// changed nothing.
func TestLoadKeepsCitizenValues(t *testing.T) {
	t.Parallel()
	const run1, run2 = 1, 2
	lineage := map[int64]int{run1: 1, run2: 1}
	departmentNames := map[string][]candidate{"name": {from("张叁", "gongan"), from("张三", "renshe")}}
	gongan := stored{Name: "张叁", NameRun: run2, Phone: gonganPhone, PhoneRun: run2, Address: gonganAddr, AddressRun: run2,
		Status: "pending_completion", UpdatedRun: run2, Lineage: lineage, Conflicts: departmentNames}
	with := func(s stored, change func(*stored)) stored { change(&s); return s }
	tests := []struct {
		name    string
		citizen string // the change before the import; $1 the account, $2.. the citizen's phone
		want    stored
		updated bool
	}{
		{"department_values_give_way_to_newer", ``, gongan, true},
		{"verified_phone_stays", `UPDATE account SET phone_verified = true, phone_source = NULL WHERE id = $1`,
			with(gongan, func(s *stored) { s.Phone, s.PhoneRun, s.PhoneVerified = renshePhone, 0, true }), true},
		// Verified is the citizen's whatever its source says.
		{"verified_phone_with_department_source_stays", `UPDATE account SET phone_verified = true WHERE id = $1`,
			with(gongan, func(s *stored) { s.Phone, s.PhoneRun, s.PhoneVerified = renshePhone, run1, true }), true},
		{"phone_entered_not_yet_verified_stays", `UPDATE account SET phone_sealed = $2, phone_bidx = $3, phone_hint = $4, phone_source = NULL WHERE id = $1`,
			with(gongan, func(s *stored) { s.Phone, s.PhoneRun = citizenPhone, 0 }), true},
		{"address_entered_stays", `UPDATE account SET address = '` + citizenAddr + `', address_source = NULL WHERE id = $1`,
			with(gongan, func(s *stored) { s.Address, s.AddressRun = citizenAddr, 0 }), true},
		{"registered_account_stays_whole", `UPDATE account SET name = '自己注册', name_source = NULL, phone_sealed = $2, phone_bidx = $3, phone_hint = $4,
				phone_verified = true, phone_source = NULL, address = '` + citizenAddr + `', address_source = NULL,
				status = 'active', required_steps = '{}', origin = 'registered' WHERE id = $1`,
			stored{Name: "自己注册", Phone: citizenPhone, PhoneVerified: true, Address: citizenAddr, Status: "active", UpdatedRun: run1,
				Lineage: lineage, Conflicts: map[string][]candidate{"name": {{Value: "自己注册", Source: "citizen"}, from("张叁", "gongan")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, keys := dbtest.New(t), testKeys(t)
			loadRows(t, pool, keys, rensheRows, nil)
			if tt.citizen != "" {
				citizenChange{tt.name, tt.citizen}.apply(t, pool, keys, accountID(t, pool, keys))
			}
			led := loadRows(t, pool, keys, gonganRows, nil)
			wantLed := Ledger{RunID: run2, Persons: 1, Unchanged: 1}
			if tt.updated {
				wantLed.Updated, wantLed.Unchanged = 1, 0
			}
			led.Files, led.Conflicts = nil, 0
			if diff := cmp.Diff(wantLed, led); diff != "" {
				t.Errorf("ledger (-want +got):\n%s", diff)
			}
			got, _ := readAccount(t, pool, keys)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
		})
	}
}

// accountID is the id of testID's account.
func accountID(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring) int64 {
	t.Helper()
	_, id := readAccount(t, pool, keys)
	return id
}

// TestLoadCitizenChangesDuringRun: the login service changes the account
// after the run has read it (a citizen verifies the phone, finishes ③),
// committed before the run writes, or holding the account's row while the
// run's update waits for it: the citizen's change stays, and the
// department's other values still arrive.
func TestLoadCitizenChangesDuringRun(t *testing.T) {
	t.Parallel()
	const run1, run2 = 1, 2
	gongan := stored{Name: "张叁", NameRun: run2, Phone: gonganPhone, PhoneRun: run2, Address: gonganAddr, AddressRun: run2,
		Status: "pending_completion", UpdatedRun: run2, Lineage: map[int64]int{run1: 1, run2: 1},
		Conflicts: map[string][]candidate{"name": {from("张叁", "gongan"), from("张三", "renshe")}}}
	tests := []struct {
		change citizenChange
		want   func(*stored)
	}{
		{verifyPhone, func(s *stored) { s.Phone, s.PhoneRun, s.PhoneVerified = renshePhone, 0, true }},
		{completeWithAddress, func(s *stored) { s.Address, s.AddressRun, s.Status = citizenAddr, 0, "active" }},
		{completeWithPhone, func(s *stored) { s.Phone, s.PhoneRun, s.PhoneVerified, s.Status = citizenPhone, 0, true, "active" }},
	}
	for _, tt := range tests {
		for _, held := range []bool{false, true} {
			name := tt.change.name + "_committed_before_update"
			if held {
				name = tt.change.name + "_while_update_waits"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				pool, keys := dbtest.New(t), testKeys(t)
				loadRows(t, pool, keys, rensheRows, nil)
				account := accountID(t, pool, keys)
				done := make(chan error, 1)
				idle := func() { // the run has read the account and decided
					if !held {
						tt.change.apply(t, pool, keys, account)
						done <- nil
						return
					}
					commit, err := hold(pool, tt.change.sql, append([]any{account}, citizenPhoneArgs(keys, tt.change.sql)...))
					if err != nil {
						done <- err
						return
					}
					go func() { done <- commit() }()
				}
				led := loadRows(t, pool, keys, gonganRows, idle)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if led.Updated != 1 {
					t.Errorf("ledger %+v: want the account updated (its name)", led)
				}
				want := gongan
				tt.want(&want)
				got, _ := readAccount(t, pool, keys)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("account (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestLoadStaffPinDuringRun: staff pin the stored name (a conflict
// resolved, 工作人员核定) after the run has read the account: the run's
// more trusted name does not replace it.
func TestLoadStaffPinDuringRun(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	loadRows(t, pool, keys, rensheRows, nil)
	before, id := readAccount(t, pool, keys)
	idle := func() {
		if _, err := pool.Exec(context.Background(), `UPDATE account SET name_pinned = true WHERE id = $1`, id); err != nil {
			t.Error(err)
		}
	}
	loadRows(t, pool, keys, gonganRows, idle)
	if after, _ := readAccount(t, pool, keys); after.Name != before.Name || after.NameRun != before.NameRun || after.Address != gonganAddr {
		t.Errorf("name %q (run %d), address %q after the pin; want %q (run %d) kept and %q", after.Name, after.NameRun, after.Address, before.Name, before.NameRun, gonganAddr)
	}
}

// hold runs sql in a transaction of its own, which keeps the rows it
// changed locked; commit commits it once another session's UPDATE of
// account waits for them.
func hold(pool *pgxpool.Pool, sql string, args []any) (commit func() error, err error) {
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	return func() error {
		defer tx.Rollback(ctx)
		return commitWhenUpdateWaits(pool, tx)
	}, nil
}

// commitWhenUpdateWaits commits tx once an UPDATE of account waits for a
// lock in the pool's database.
func commitWhenUpdateWaits(pool *pgxpool.Pool, tx pgx.Tx) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		var waiting bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE account a SET%')`).Scan(&waiting); err != nil {
			return err
		}
		if waiting {
			return tx.Commit(ctx)
		}
		select {
		case <-ctx.Done():
			return errors.New("the run's update never waited for the account's row")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestLoadForced: a file imported again with --force gives the same
// accounts and reuses its lineage rows; if its rows now belong to other
// persons, or rows imported before are no longer accepted, the run is
// refused and nothing of it is written.
func TestLoadForced(t *testing.T) {
	t.Parallel()
	const other = "460102199001011250"
	first := [][]any{
		{testID, "张三", renshePhone, "renshe", 2, 1000, 2, rensheAddr},
		{other, "李四", "", "renshe", 2, 1000, 3, ""},
	}
	tests := []struct {
		name    string
		rows    [][]any
		wantErr string
	}{
		{"same_rows", first, ""},
		{"row_now_another_person", [][]any{first[0], {testID, "李四", "", "renshe", 2, 1000, 3, ""}},
			"row 3 of the renshe file now belongs to another person"},
		{"row_no_longer_accepted", first[:1], "1 of the 2 rows of renshe.csv (renshe) imported before are no longer accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, keys := dbtest.New(t), testKeys(t)
			loadRows(t, pool, keys, first, nil)
			before, _ := readAccount(t, pool, keys)
			var lineage, runs int
			count := func() {
				t.Helper()
				if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM account_lineage), (SELECT count(*) FROM import_run)`).Scan(&lineage, &runs); err != nil {
					t.Fatal(err)
				}
			}
			led, err := load(t, pool, keys, tt.rows, true, nil)
			count()
			if tt.wantErr != "" {
				if !errors.Is(err, ErrForceChanged) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrForceChanged saying %q", err, tt.wantErr)
				}
				if lineage != 2 || runs != 1 {
					t.Errorf("refused run left %d lineage rows and %d runs, want 2 and 1", lineage, runs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if led.New != 0 || led.Unchanged != 2 || lineage != 2 {
				t.Errorf("ledger %+v, %d lineage rows: want 2 unchanged accounts and the 2 lineage rows reused", led, lineage)
			}
			if after, _ := readAccount(t, pool, keys); !cmp.Equal(before, after) {
				t.Errorf("account changed (-before +after):\n%s", cmp.Diff(before, after))
			}
		})
	}
}

// TestConflictRowsMismatches: a department's gender or birth date that
// disagrees with the ID number is a conflict of its field, the ID's value
// first; a field no department disagrees on has none.
func TestConflictRowsMismatches(t *testing.T) {
	t.Parallel()
	p := &Person{Gender: "F", Birth: 7305, HasBirth: true, Rows: []*Row{{Name: "张三"}},
		Mismatches: []Mismatch{
			{Field: schemas.FieldGender, Value: "男", Source: Source{Dept: "gongan", File: "sha-gongan", Row: 2}},
			{Field: schemas.FieldGender, Value: "1", Source: Source{Dept: "renshe", File: "sha-renshe", Row: 2}},
			{Field: schemas.FieldBirthDate, Value: "1990-01-02", Source: Source{Dept: "gongan", File: "sha-gongan", Row: 2}},
		}}
	got := map[string][]candidate{}
	for _, c := range conflictRows(7, p, nil) {
		var cs []candidate
		if err := json.Unmarshal([]byte(c.candidates), &cs); err != nil || c.account != 7 {
			t.Fatalf("conflict %+v: %v", c, err)
		}
		got[string(c.field)] = cs
	}
	want := map[string][]candidate{
		"gender":     {{Value: "F", Source: "id_number"}, from("男", "gongan"), from("1", "renshe")},
		"birth_date": {{Value: "1990-01-01", Source: "id_number"}, from("1990-01-02", "gongan")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
	p.Mismatches = p.Mismatches[2:]
	if cs := conflictRows(7, p, nil); len(cs) != 1 || cs[0].field != schemas.FieldBirthDate {
		t.Errorf("only the birth date disagrees, conflicts %+v", cs)
	}
}

// TestLoadTruncatesOnlyEmpty: the first run into an empty store, as a role
// that may TRUNCATE, writes the lineage into a new file of the table (the
// table is truncated in the run's transaction and COPYed with FREEZE); a
// later run, or a role without the privilege, keeps the table and its rows.
func TestLoadTruncatesOnlyEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	filenode := func(t *testing.T, pool *pgxpool.Pool) (n int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT pg_relation_filenode('account_lineage')::bigint`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lineage := func(t *testing.T, pool *pgxpool.Pool) (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM account_lineage`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("owner", func(t *testing.T) {
		t.Parallel()
		pool, keys := dbtest.New(t), testKeys(t)
		before := filenode(t, pool)
		loadRows(t, pool, keys, rensheRows, nil)
		first := filenode(t, pool)
		if first == before {
			t.Error("the first run into an empty store did not truncate account_lineage")
		}
		// COPY FREEZE marks the pages all-visible: an index-only scan
		// then reads no row from the table.
		var plan []map[string]any
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // read only
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) SELECT account_bidx, id FROM account_lineage WHERE account_bidx > ''`).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if p := plan[0]["Plan"].(map[string]any); p["Node Type"] != "Index Only Scan" || p["Heap Fetches"] != float64(0) {
			t.Errorf("lineage not written frozen: %s with %v heap fetches", p["Node Type"], p["Heap Fetches"])
		}
		loadRows(t, pool, keys, gonganRows, nil)
		if filenode(t, pool) != first {
			t.Error("a run into a store with lineage truncated account_lineage")
		}
		if n := lineage(t, pool); n != 2 {
			t.Errorf("%d lineage rows after two runs of one row each, want 2", n)
		}
	})
	t.Run("a reader", func(t *testing.T) {
		// A session reading the rejects (a report) keeps that table: the
		// run copies them the ordinary way instead of queueing behind the
		// reader, and still writes the lineage it truncated frozen.
		t.Parallel()
		pool, keys := dbtest.New(t), testKeys(t)
		reader, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Rollback(ctx) //nolint:errcheck // read only
		if _, err := reader.Exec(ctx, `SELECT count(*) FROM import_reject`); err != nil {
			t.Fatal(err)
		}
		var rejects int64
		if err := pool.QueryRow(ctx, `SELECT pg_relation_filenode('import_reject')::bigint`).Scan(&rejects); err != nil {
			t.Fatal(err)
		}
		before := filenode(t, pool)
		done := make(chan error, 1)
		go func() { _, err := load(t, pool, keys, rensheRows, false, nil); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			reader.Rollback(ctx) //nolint:errcheck // unblocks the run
			<-done
			t.Fatal("the first import waited behind a reader of import_reject")
		}
		var after int64
		if err := pool.QueryRow(ctx, `SELECT pg_relation_filenode('import_reject')::bigint`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != rejects {
			t.Error("the run truncated a table another session was reading")
		}
		if filenode(t, pool) == before {
			t.Error("the run did not truncate the unread account_lineage")
		}
		if n := lineage(t, pool); n != 1 {
			t.Errorf("%d lineage rows, want 1", n)
		}
	})
	t.Run("import role", func(t *testing.T) {
		t.Parallel()
		pool, keys := dbtest.New(t), testKeys(t)
		imp, err := pgxpool.New(ctx, dbtest.MemberConnString(t, pool.Config().ConnString(), "idfusion_import"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(imp.Close)
		before := filenode(t, pool)
		loadRows(t, imp, keys, rensheRows, nil)
		if filenode(t, pool) != before {
			t.Error("a role without the TRUNCATE privilege truncated account_lineage")
		}
		if n := lineage(t, pool); n != 1 {
			t.Errorf("%d lineage rows, want 1", n)
		}
	})
}

// TestLoadAccountIDTaken: an account id given twice (here: the sequence set
// back behind the data) fails the run, which leaves the store as it was:
// an id is unique nationally through account_key, not in account.
func TestLoadAccountIDTaken(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	ctx := context.Background()
	loadRows(t, pool, keys, rensheRows, nil)
	var before int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM account`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('account', 'id'), (SELECT min(id) FROM account), false)`); err != nil {
		t.Fatal(err)
	}
	other := [][]any{{"460102199001011250", "李四", "13900000009", "gongan", 1, 2000, 2, "三亚市"}}
	_, err := load(t, pool, keys, other, false, nil)
	if err == nil || !strings.Contains(err.Error(), "another account's") {
		t.Fatalf("a run whose new account got a taken id: err %v", err)
	}
	var after, keyed int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM account_key)`).Scan(&after, &keyed); err != nil {
		t.Fatal(err)
	}
	if after != before || keyed != before {
		t.Errorf("after the failed run: %d accounts, %d ids, want %d", after, keyed, before)
	}
}
