package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// Valid unified social credit codes (GB 32100 check characters) and the
// representatives of the legal tests.
const (
	testCode, otherCode = "91460100MA5T0001AH", "91460100MA5T0002BM"
	repA, repB          = "460102199001011234", "460102198505051238"
	day2015             = 16436 // 2015-01-01
)

// lrow is a legal person's accepted row as cleanse gives it. from and to
// are days since the epoch, 0 for unknown.
type lrow struct {
	code, name, typ, repName, repID, contact, phone, addr string
	dept                                                  string
	prio, upd, row                                        int
	from, to                                              int32
}

// legalRecord builds a CleanLegal record of rows; a department's rows
// come from its file "sha-<dept>".
func legalRecord(t *testing.T, rows []lrow) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.CleanLegal)
	defer b.Release()
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	date := func(i int, d int32) {
		if d == 0 {
			b.Field(i).(*array.Date32Builder).AppendNull()
		} else {
			b.Field(i).(*array.Date32Builder).Append(arrow.Date32(d))
		}
	}
	for _, r := range rows {
		s(schemas.ColDept).Append(r.dept)
		s(schemas.ColFile).Append("sha-" + r.dept)
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(int64(r.row))
		s(schemas.LegalSourceKey).Append("")
		s(schemas.LegalCreditCode).Append(r.code)
		s(schemas.LegalName).Append(r.name)
		s(schemas.LegalTypeCol).Append(r.typ)
		s(schemas.LegalRepName).Append(r.repName)
		idType := ""
		if r.repID != "" {
			idType = "resident"
		}
		s(schemas.LegalRepIDType).Append(idType)
		s(schemas.LegalRepIDNumber).Append(r.repID)
		s(schemas.LegalRepNationality).Append(map[bool]string{true: "CHN"}[r.repID != ""])
		date(schemas.LegalRepIDStart, r.from)
		date(schemas.LegalRepIDEnd, r.to)
		s(schemas.LegalContactName).Append(r.contact)
		s(schemas.LegalPhone).Append(r.phone)
		s(schemas.LegalAddress).Append(r.addr)
		b.Field(schemas.LegalUpdatedAt).(*array.TimestampBuilder).Append(arrow.Timestamp(r.upd))
		b.Field(schemas.LegalPriority).(*array.Int32Builder).Append(int32(r.prio))
	}
	return b.NewRecord()
}

// loadMixed loads one department's file holding legal rows and natural
// rows (cleanRecord's) as one run.
func loadMixed(ctx context.Context, t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, legal []lrow, natural [][]any, forced bool, idle func()) (Ledger, error) {
	t.Helper()
	m := NewMerger(keys)
	defer m.Release()
	var dept string
	var prio int
	if len(legal) > 0 {
		rec := legalRecord(t, legal)
		m.AddClean(rec)
		rec.Release()
		dept, prio = legal[0].dept, legal[0].prio
	}
	if len(natural) > 0 {
		rec := cleanRecord(t, natural)
		m.AddClean(rec)
		rec.Release()
		dept, prio = natural[0][3].(string), natural[0][4].(int)
	}
	n := int64(len(legal) + len(natural))
	return Load(ctx, pool, Input{
		Started:  time.Now(),
		Forced:   forced,
		Mappings: []*schemas.Mapping{{Department: schemas.Department{Code: dept, Name: dept}, Priority: prio}},
		Files:    []FileLedger{{Dept: dept, Name: dept + ".csv", SHA256: "sha-" + dept, Format: "csv", Read: n, Accepted: n}},
		Persons:  m.Batches(),
	}, Config{Keyring: keys, Idle: idle})
}

func mustLoad(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, legal []lrow, natural [][]any) Ledger {
	t.Helper()
	led, err := loadMixed(context.Background(), t, pool, keys, legal, natural, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return led
}

// legalStored is a legal account as the tests compare it: each value with
// the department and row of its source ("" for none: the registrant's).
type legalStored struct {
	Kind, Type, Name, NameFrom, Phone, PhoneFrom, Address, AddressFrom string
	IDHint, Status, Realname                                           string
	Steps                                                              []string
	RepName, RepID, RepHint, RepNationality, RepFrom, RepTo, RepSource string
	Contact, ContactFrom                                               string
}

func readLegal(t *testing.T, pool *pgxpool.Pool, keys *pii.Keyring, code string) (s legalStored, id int64) {
	t.Helper()
	var phone, repID []byte
	var repBidx []byte
	src := func(col string) string {
		return `coalesce((SELECT f.dept || ':' || l.row_num FROM account_lineage l JOIN source_file f ON f.id = l.file_id
			WHERE l.id = a.` + col + ` AND l.account_bidx = a.id_bidx), '')`
	}
	err := pool.QueryRow(context.Background(), `SELECT a.id, a.kind, a.legal_type, a.name, `+src("name_source")+`, a.phone_sealed, `+src("phone_source")+`,
			a.address, `+src("address_source")+`, a.id_hint, a.status, a.realname_status, a.required_steps,
			coalesce(a.rep_name, ''), a.rep_id_sealed, a.rep_id_bidx, coalesce(a.rep_id_hint, ''), coalesce(a.rep_nationality, ''),
			coalesce(a.rep_id_valid_from::text, ''), coalesce(a.rep_id_valid_to::text, ''), `+src("rep_source")+`,
			coalesce(a.contact_name, ''), `+src("contact_source")+`
		FROM account a WHERE a.id_bidx = $1`, account.CreditCodeIndex(keys, code)).Scan(
		&id, &s.Kind, &s.Type, &s.Name, &s.NameFrom, &phone, &s.PhoneFrom, &s.Address, &s.AddressFrom, &s.IDHint, &s.Status, &s.Realname, &s.Steps,
		&s.RepName, &repID, &repBidx, &s.RepHint, &s.RepNationality, &s.RepFrom, &s.RepTo, &s.RepSource, &s.Contact, &s.ContactFrom)
	if err != nil {
		t.Fatal(err)
	}
	p, err := account.OpenPhone(keys, phone)
	if err != nil {
		t.Fatal(err)
	}
	s.Phone = p
	if repID != nil {
		if s.RepID, err = account.OpenRepID(keys, repID); err != nil {
			t.Fatal(err)
		}
		if string(repBidx) != string(account.IDIndex(keys, s.RepID)) {
			t.Errorf("rep_id_bidx is not the blind index of the representative's ID in the citizens' domain")
		}
	}
	return s, id
}

// The legal person of the load tests as two departments know it: scjg
// (market regulation, trust 1, older) and swj (tax, trust 2, newer).
var (
	scjgLegal = lrow{code: testCode, name: "海南某某科技有限公司", typ: "enterprise", repName: "韩梅梅", repID: repA, contact: "李雷",
		phone: "13900000011", addr: "海口市龙华区一号", dept: "scjg", prio: 1, upd: 1000, row: 2, from: day2015, to: int32(account.LongTermDays)}
	swjLegal = lrow{code: testCode, name: "海南某某科技公司", typ: "", repName: "王五", repID: repB, contact: "赵六",
		phone: "13900000022", addr: "海口市美兰区二号", dept: "swj", prio: 2, upd: 2000, row: 2}
)

// TestLoadLegalNew: a mixed run of legal and natural rows creates a legal
// account per credit code with the one survivorship (name and the whole
// representative by priority, phone, address and contact by recency),
// every value's lineage, the legal columns, pending completion of the
// fused steps, unverified; the ledger counts the legal persons apart; a
// second representative is a conflict showing masked IDs only.
func TestLoadLegalNew(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	m := NewMerger(keys)
	for _, rows := range [][]lrow{{scjgLegal}, {swjLegal, {code: otherCode, name: "某某协会", typ: "social_org", dept: "swj", prio: 2, upd: 2000, row: 3}}} {
		rec := legalRecord(t, rows)
		m.AddClean(rec)
		rec.Release()
	}
	nat := cleanRecord(t, [][]any{{repA, "韩梅梅", "13900000033", "swj", 2, 2000, 4}})
	m.AddClean(nat)
	nat.Release()
	defer m.Release()
	led, err := Load(context.Background(), pool, Input{
		Started: time.Now(),
		Mappings: []*schemas.Mapping{{Department: schemas.Department{Code: "scjg", Name: "市场监管局"}, Priority: 1},
			{Department: schemas.Department{Code: "swj", Name: "税务局"}, Priority: 2}},
		Files: []FileLedger{{Dept: "scjg", Name: "scjg.xlsx", SHA256: "sha-scjg", Format: "xlsx", Read: 1, Accepted: 1},
			{Dept: "swj", Name: "swj.csv", SHA256: "sha-swj", Format: "csv", Read: 3, Accepted: 3}},
		Persons: m.Batches(),
	}, Config{Keyring: keys})
	if err != nil {
		t.Fatal(err)
	}
	if led.Persons != 3 || led.New != 3 || !cmp.Equal(led.Legal, &KindLedger{Persons: 2, New: 2}) {
		t.Errorf("ledger %+v legal %+v: want 3 new persons, 2 of them legal", led, led.Legal)
	}
	got, id := readLegal(t, pool, keys, testCode)
	want := legalStored{Kind: "legal", Type: "enterprise", Name: scjgLegal.name, NameFrom: "scjg:2",
		Phone: swjLegal.phone, PhoneFrom: "swj:2", Address: swjLegal.addr, AddressFrom: "swj:2",
		IDHint: account.CreditCodeHint(testCode), Status: "pending_completion", Realname: "unverified", Steps: []string{"info", "password", "face"},
		RepName: "韩梅梅", RepID: repA, RepHint: pii.MaskID(repA), RepNationality: "CHN", RepFrom: "2015-01-01", RepTo: "infinity", RepSource: "scjg:2",
		Contact: "赵六", ContactFrom: "swj:2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("legal account (-want +got):\n%s", diff)
	}
	other, _ := readLegal(t, pool, keys, otherCode)
	if other.Type != "social_org" || other.RepName != "" || other.RepID != "" || other.RepSource != "" {
		t.Errorf("a legal person without a representative: %+v", other)
	}
	var fields []string
	if err := pool.QueryRow(context.Background(), `SELECT array_agg(field ORDER BY field) FROM merge_conflict WHERE account_id = $1`, id).Scan(&fields); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(fields, []string{"name", "rep_name"}) {
		t.Errorf("conflicts of %v, want the name and the representative", fields)
	}
	field := string(schemas.FieldRepName)
	var cands string
	if err := pool.QueryRow(context.Background(), `SELECT candidates::text FROM merge_conflict WHERE account_id = $1 AND field = $2`, id, field).Scan(&cands); err != nil {
		t.Fatalf("the representative conflict: %v", err)
	}
	if !strings.Contains(cands, pii.MaskID(repA)) || !strings.Contains(cands, pii.MaskID(repB)) ||
		strings.Contains(cands, repA) || strings.Contains(cands, repB) {
		t.Errorf("conflict %s %s: want both representatives with masked IDs only", field, cands)
	}
	// The reports: the run's legal counts, the conflict of a legal
	// account, its golden record masked.
	runs, err := report.Runs(context.Background(), pool, 0)
	if err != nil || len(runs) != 1 || !runs[0].Balanced || !cmp.Equal(runs[0].Legal, &report.KindCounts{Persons: 2, New: 2}) {
		t.Errorf("report.Runs = %+v, %v: want the legal counts, balanced", runs, err)
	}
	open, _, err := report.OpenConflicts(context.Background(), pool, report.ConflictFilter{Field: field})
	if err != nil || len(open) != 1 || open[0].Kind != "legal" || open[0].IDHint != account.CreditCodeHint(testCode) {
		t.Errorf("report.OpenConflicts = %+v, %v: want the legal account's", open, err)
	}
	var golden []report.Golden
	if _, err := report.Goldens(context.Background(), pool, report.GoldenOptions{}, func(g *report.Golden) error {
		if g.Kind == "legal" && g.AccountID == id {
			golden = append(golden, *g)
		}
		return nil
	}); err != nil || len(golden) != 1 {
		t.Fatalf("goldens %+v, %v", golden, err)
	}
	if g := golden[0]; g.RepIDHint != pii.MaskID(repA) || g.RepName != "韩梅梅" || g.LegalType != "enterprise" || g.Realname != "unverified" ||
		g.RepSource == nil || g.RepSource.Dept != "scjg" || g.ContactSource == nil || g.ContactSource.Dept != "swj" {
		t.Errorf("legal golden record %+v", g)
	}
	// The representative's citizen account links.
	var citizen int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM account WHERE id_bidx = $1`, account.IDIndex(keys, repA)).Scan(&citizen); err != nil {
		t.Fatal(err)
	}
	if rep, err := account.Representative(context.Background(), pool, id); err != nil || rep != citizen {
		t.Errorf("Representative = %d, %v; want the citizen %d", rep, err, citizen)
	}
}

// TestLegalSurvivorship: the rules of a legal person's fields, whatever
// the order of the rows.
func TestLegalSurvivorship(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	noRep := swjLegal
	noRep.repName, noRep.repID = "", ""
	noContact := swjLegal
	noContact.contact = ""
	tests := []struct {
		name                    string
		rows                    []lrow
		wantName, wantRep       string
		wantContact, wantPhone  string
		wantType                schemas.LegalType
		wantRepFrom, wantRepEnd bool
		wantReps                int
	}{
		{"trusted_identity_newer_contact", []lrow{scjgLegal, swjLegal}, scjgLegal.name, "韩梅梅", "赵六", swjLegal.phone, schemas.LegalEnterprise, true, true, 2},
		{"representative_from_the_one_row_that_has_one", []lrow{noRep, {code: testCode, name: "x", repName: "孙七", repID: repB, dept: "qt", prio: 3, upd: 1, row: 2}},
			swjLegal.name, "孙七", "赵六", swjLegal.phone, schemas.LegalEnterprise, false, false, 1},
		{"empty_contact_loses", []lrow{noContact, scjgLegal}, scjgLegal.name, "韩梅梅", "李雷", swjLegal.phone, schemas.LegalEnterprise, true, true, 2},
		{"type_from_a_row_that_has_one", []lrow{{code: testCode, name: "n", typ: "institution", dept: "qt", prio: 3, upd: 1, row: 2}, noRep},
			swjLegal.name, "", "赵六", swjLegal.phone, schemas.LegalInstitution, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, order := range [][]lrow{tt.rows, {tt.rows[1], tt.rows[0]}} {
				m := NewMerger(keys)
				for _, r := range order {
					rec := legalRecord(t, []lrow{r})
					m.AddClean(rec)
					rec.Release()
				}
				ps := m.Persons()
				if len(ps) != 1 || ps[0].Kind != schemas.KindLegal {
					t.Fatalf("%d persons: want one legal person", len(ps))
				}
				p := &ps[0]
				rep, _ := p.Rep()
				repName := ""
				if rep != nil {
					repName = rep.RepName
				}
				got := []any{p.Name().Value, repName, p.Contact().Value, p.Phone().Value, p.LegalType, rep != nil && rep.HasRepFrom, rep != nil && rep.HasRepTo, len(p.Reps)}
				want := []any{tt.wantName, tt.wantRep, tt.wantContact, tt.wantPhone, tt.wantType, tt.wantRepFrom, tt.wantRepEnd, tt.wantReps}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("name, rep, contact, phone, type, rep from/to known, reps (-want +got):\n%s", diff)
				}
				m.Release()
			}
		})
	}
}

// TestLoadLegalUpdates: a newer department's representative and contact
// replace the departments' values, never the registrant's (no source),
// also when the registrant sets them after the run read the account; a
// representative other than the stored one is a conflict.
func TestLoadLegalUpdates(t *testing.T) {
	t.Parallel()
	// newer is scjg's row again from a more trusted, newer file.
	newer := swjLegal
	newer.dept, newer.prio, newer.upd = "gsj", 0, 3000
	const registrantRep = "460102197001011111"
	setRegistrant := `UPDATE account SET rep_name = '注册人', rep_id_sealed = $3, rep_id_bidx = $2, rep_id_hint = '4****1', rep_source = NULL,
		contact_name = '注册联系人', contact_source = NULL WHERE id = $1`
	const pinRep = `UPDATE account SET rep_pinned = true WHERE id = $1 AND $2::bytea IS NOT NULL AND $3::bytea IS NOT NULL`
	tests := []struct {
		name                string
		before, during      string // the registrant's change before the run, after it read the account
		wantRep, wantSource string
		wantContact         string
	}{
		{"department_values_give_way", "", "", "王五", "gsj:2", "赵六"},
		{"registrant_values_stay", setRegistrant, "", "注册人", "", "注册联系人"},
		{"registrant_change_during_run_stays", "", setRegistrant, "注册人", "", "注册联系人"},
		// Staff chose scjg's representative (工作人员核定): it stays, with
		// its source; the contact is not pinned.
		{"staff_pinned_stays", pinRep, "", "韩梅梅", "scjg:2", "赵六"},
		{"staff_pin_during_run_stays", "", pinRep, "韩梅梅", "scjg:2", "赵六"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool, keys := dbtest.New(t), testKeys(t)
			mustLoad(t, pool, keys, []lrow{scjgLegal}, nil)
			_, id := readLegal(t, pool, keys, testCode)
			if tt.before != "" {
				if _, err := pool.Exec(context.Background(), tt.before, id, account.IDIndex(keys, registrantRep), account.SealRepID(keys, registrantRep)); err != nil {
					t.Fatal(err)
				}
			}
			idle := func() {
				if tt.during != "" {
					if _, err := pool.Exec(context.Background(), tt.during, id, account.IDIndex(keys, registrantRep), account.SealRepID(keys, registrantRep)); err != nil {
						t.Error(err)
					}
				}
			}
			led, err := loadMixed(context.Background(), t, pool, keys, []lrow{newer}, nil, false, idle)
			if err != nil {
				t.Fatal(err)
			}
			if led.Legal == nil || led.Legal.Updated != 1 {
				t.Errorf("ledger %+v: want the legal account updated", led.Legal)
			}
			got, _ := readLegal(t, pool, keys, testCode)
			if got.RepName != tt.wantRep || got.RepSource != tt.wantSource || got.Contact != tt.wantContact {
				t.Errorf("representative %q from %q, contact %q; want %q from %q, %q", got.RepName, got.RepSource, got.Contact, tt.wantRep, tt.wantSource, tt.wantContact)
			}
			if tt.wantSource == "gsj:2" && (got.RepID != repB || got.RepTo != "") {
				t.Errorf("the representative's fields come from one row: ID %s, valid to %q", got.RepID, got.RepTo)
			}
			// A forced re-run of the file records no other conflict when
			// its candidates are the same (their sealed rows differ); a
			// change during the first run makes them another.
			if _, err := loadMixed(context.Background(), t, pool, keys, []lrow{newer}, nil, true, nil); err != nil {
				t.Fatal(err)
			}
			want := 1
			if tt.during != "" {
				want = 2
			}
			var raw, sealed []byte
			var n int
			if err := pool.QueryRow(context.Background(), `SELECT candidates, reps, count(*) OVER () FROM merge_conflict
				WHERE account_id = $1 AND field = 'rep_name' ORDER BY id DESC LIMIT 1`, id).Scan(&raw, &sealed, &n); err != nil || n != want {
				t.Fatalf("%d representative conflicts (%v), want %d", n, err, want)
			}
			// gsj's candidate has its row's representative sealed, for
			// staff to choose; the pinned one is staff's.
			var cs []struct {
				Source string `json:"source"`
				From   []struct {
					Dept string `json:"dept"`
				} `json:"sources"`
			}
			var reps []string
			if err := json.Unmarshal(raw, &cs); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(sealed, &reps); err != nil || len(reps) != len(cs) {
				t.Fatalf("reps %s for candidates %s (%v)", sealed, raw, err)
			}
			var gsj *account.ConflictRep
			staff := false
			for i, c := range cs {
				staff = staff || c.Source == "staff"
				if len(c.From) == 1 && c.From[0].Dept == "gsj" {
					r, err := account.OpenConflictRep(keys, reps[i])
					if err != nil {
						t.Fatalf("gsj's sealed representative: %v", err)
					}
					gsj = &r
				}
			}
			if gsj == nil || gsj.Name != "王五" || gsj.ID != repB || gsj.ValidTo != nil {
				t.Errorf("gsj's candidate's representative %+v; want 王五 %s", gsj, repB)
			}
			if staff != (tt.before == pinRep || tt.during == pinRep) || bytes.Contains(raw, []byte(repB)) || bytes.Contains(sealed, []byte(repB)) {
				t.Errorf("candidates %s: a staff candidate %v, want it when pinned; no clear ID", raw, staff)
			}
		})
	}
}

// TestLoadLegalLinksStoredCitizen: a legal account whose representative
// is a citizen the store already has links to it; a forced re-run of the
// same file changes nothing.
func TestLoadLegalLinksStoredCitizen(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	ctx := context.Background()
	loadRows(t, pool, keys, rensheRows, nil) // the citizen testID = repA
	citizen := accountID(t, pool, keys)
	led := mustLoad(t, pool, keys, []lrow{scjgLegal}, nil)
	if led.New != 1 || led.Legal == nil || led.Legal.New != 1 {
		t.Fatalf("ledger %+v", led)
	}
	before, id := readLegal(t, pool, keys, testCode)
	if rep, err := account.Representative(ctx, pool, id); err != nil || rep != citizen {
		t.Errorf("Representative = %d, %v; want the citizen %d", rep, err, citizen)
	}
	if ids, err := account.RepresentedBy(ctx, pool, citizen); err != nil || !cmp.Equal(ids, []int64{id}) {
		t.Errorf("RepresentedBy = %v, %v; want [%d]", ids, err, id)
	}
	if rep, err := account.Representative(ctx, pool, citizen); err != nil || rep != 0 {
		t.Errorf("a citizen's Representative = %d, %v; want 0", rep, err)
	}
	led, err := loadMixed(ctx, t, pool, keys, []lrow{scjgLegal}, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if led.New != 0 || led.Unchanged != 1 || !cmp.Equal(led.Legal, &KindLedger{Persons: 1, Unchanged: 1}) {
		t.Errorf("re-run ledger %+v legal %+v: want the legal account unchanged", led, led.Legal)
	}
	if after, _ := readLegal(t, pool, keys, testCode); !cmp.Equal(before, after) {
		t.Errorf("re-run changed the account:\n%s", cmp.Diff(before, after))
	}
	var lineage int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM account_lineage l JOIN account a ON a.id_bidx = l.account_bidx WHERE a.id = $1`, id).Scan(&lineage); err != nil || lineage != 1 {
		t.Errorf("%d lineage rows (%v), want 1", lineage, err)
	}
}

// TestLoadLegalKilled: a run stopped while it loads (its context ends
// once the new accounts are sent) leaves nothing: no account, lineage,
// conflict or run.
func TestLoadLegalKilled(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := loadMixed(ctx, t, pool, keys, []lrow{scjgLegal, {code: otherCode, name: "某某协会", dept: "scjg", prio: 1, upd: 1, row: 3}},
		[][]any{{repA, "韩梅梅", "13900000033", "scjg", 1, 2000, 4}}, false, cancel)
	if err == nil {
		t.Fatal("the killed run committed")
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM account) + (SELECT count(*) FROM account_lineage)
		+ (SELECT count(*) FROM merge_conflict) + (SELECT count(*) FROM import_run)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the killed run left %d rows", n)
	}
}

// TestCheckLedgerLegal: a legal account whose representative or contact
// comes from another account's lineage row fails the run's ledger check.
func TestCheckLedgerLegal(t *testing.T) {
	t.Parallel()
	for _, col := range []string{"rep_source", "contact_source"} {
		t.Run(col, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tx := dbtest.NewTx(t)
			var run, legal, other, own, foreign int64
			var file int32
			scan := func(dst any, sql string, args ...any) {
				t.Helper()
				if err := tx.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			scan(&run, `INSERT INTO import_run (started_at, ledger) VALUES (now(), '{}') RETURNING id`)
			if _, err := tx.Exec(ctx, `INSERT INTO department (code, name, priority) VALUES ('scjg', '市场监管局', 1)`); err != nil {
				t.Fatal(err)
			}
			scan(&file, `INSERT INTO source_file (dept, sha256) VALUES ('scjg', 'f1') RETURNING id`)
			scan(&legal, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, updated_run, kind, legal_type, realname_status)
				VALUES ('l', '\x00', '9146**********001A', 'uscc', '某公司', 'pending_completion', 'fused', $1, 'legal', 'enterprise', 'unverified') RETURNING id`, run)
			scan(&other, `INSERT INTO account (id_bidx, id_sealed, id_hint, id_type, name, status, origin, updated_run)
				VALUES ('n', '\x00', '1*****1', 'resident', '张三', 'pending_completion', 'fused', $1) RETURNING id`, run)
			lineage := `INSERT INTO account_lineage (account_bidx, run_id, file_id, row_num, priority) VALUES ((SELECT id_bidx FROM account WHERE id = $1), $2, $3, $4, 1) RETURNING id`
			scan(&own, lineage, legal, run, file, 2)
			scan(&foreign, lineage, other, run, file, 3)
			if _, err := tx.Exec(ctx, `UPDATE account SET name_source = $1, `+col+` = $2, contact_name = '李雷' WHERE id = $3`, own, foreign, legal); err != nil {
				t.Fatal(err)
			}
			l := &loader{tx: tx, runID: run, updated: []int64{legal}}
			led := Ledger{Files: []FileLedger{{Dept: "scjg", SHA256: "f1", Name: "scjg.csv", Read: 2, Accepted: 2}},
				Persons: 2, Unchanged: 1, Updated: 1, Legal: &KindLedger{Persons: 2, Updated: 1}}
			err := l.checkLedger(ctx, &led, map[fileKey]int32{{"scjg", "f1"}: file})
			if !errors.Is(err, ErrLedger) || !strings.Contains(err.Error(), "1 accounts have a value whose source is not their own lineage") {
				t.Errorf("err = %v, want the foreign %s found", err, col)
			}
			if err == nil || !strings.Contains(err.Error(), "legal persons 2 != new 0 + updated 1 + unchanged 0") {
				t.Errorf("err = %v, want the legal counts found unbalanced", err)
			}
		})
	}
}

// TestLoadLegalAsImportRole: the import's database role may create and
// update legal accounts, and read them for the reports, with the grants
// it has (migration 022) and no more.
func TestLoadLegalAsImportRole(t *testing.T) {
	t.Parallel()
	pool, keys := dbtest.New(t), testKeys(t)
	imp, err := pgxpool.New(context.Background(), dbtest.MemberConnString(t, pool.Config().ConnString(), "idfusion_import"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(imp.Close)
	mustLoad(t, imp, keys, []lrow{scjgLegal}, [][]any{{repA, "韩梅梅", "13900000033", "scjg", 1, 2000, 4}})
	newer := swjLegal
	newer.dept, newer.prio, newer.upd = "gsj", 0, 3000
	if led := mustLoad(t, imp, keys, []lrow{newer}, nil); led.Legal == nil || led.Legal.Updated != 1 {
		t.Errorf("ledger %+v: want the legal account updated", led.Legal)
	}
	if got, _ := readLegal(t, pool, keys, testCode); got.RepName != newer.repName || got.Contact != newer.contact {
		t.Errorf("representative %q, contact %q after the update", got.RepName, got.Contact)
	}
	if _, err := report.Goldens(context.Background(), imp, report.GoldenOptions{}, func(*report.Golden) error { return nil }); err != nil {
		t.Errorf("export as the import role: %v", err)
	}
	if _, _, err := report.OpenConflicts(context.Background(), imp, report.ConflictFilter{}); err != nil {
		t.Errorf("conflicts as the import role: %v", err)
	}
}
