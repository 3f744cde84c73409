package authsvc

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// legalSetup is a service whose enterprise verifier is the development
// registry, over real HTTP, on the bundle's clock: codes stay unavailable
// for delay after the registry first sees them.
func legalSetup(t *testing.T, delay time.Duration) (*testBundle, *EnterpriseRegistry) {
	t.Helper()
	reg := NewEnterpriseRegistry(nil, delay, nil)
	reg.Secret = "dev-secret"
	rs := httptest.NewServer(reg)
	t.Cleanup(rs.Close)
	b := setup(t, func(c *Config) {
		c.Enterprise = &HTTPEnterpriseVerifier{URL: rs.URL, Secret: "dev-secret", Client: rs.Client()}
	})
	reg.Now = b.clock.Now
	return b, reg
}

// legalRegistrant is a legal person registering: the browser and what
// they type.
type legalRegistrant struct {
	br    *browser
	e     enterprise
	typed string // the credit code as typed
}

func (b *testBundle) legalRegistrant(t testing.TB, phone string) *legalRegistrant {
	t.Helper()
	e := enterprise{CreditCode: creditCode(), Name: "海南椰风科技有限公司", RepName: "吴斌", RepID: residentID("19700101"), Contact: "韩洪阳", Phone: phone}
	return &legalRegistrant{br: b.browser(t), e: e, typed: e.CreditCode}
}

func (lr *legalRegistrant) fixture() Enterprise {
	return Enterprise{CreditCode: lr.e.CreditCode, Name: lr.e.Name, RepName: lr.e.RepName, RepIDType: "resident", RepID: lr.e.RepID}
}

func (lr *legalRegistrant) start() {
	lr.br.t.Helper()
	if r := lr.br.post("/api/v1/register/legal", nil); r.Status != http.StatusCreated || r.str("next_step") != "info" {
		lr.br.t.Fatalf("legal register start: %d %s", r.Status, r.Raw)
	}
}

func (lr *legalRegistrant) info() response {
	lr.br.t.Helper()
	return lr.br.post("/api/v1/register/legal/info", map[string]any{"legal_type": "enterprise", "name": lr.e.Name, "credit_code": lr.typed,
		"rep_name": lr.e.RepName, "rep_id_type": "resident", "rep_id_number": lr.e.RepID, "valid_from": "2015-03-01", "valid_period": "long",
		"agree": true, "agreement_version": AgreementVersion})
}

func (lr *legalRegistrant) account() response {
	lr.br.t.Helper()
	if r := lr.br.postSolving("/api/v1/register/legal/sms", map[string]string{"phone": lr.e.Phone}); r.Status != http.StatusAccepted {
		lr.br.t.Fatalf("legal register sms: %d %s", r.Status, r.Raw)
	}
	return lr.br.post("/api/v1/register/legal/account", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ",
		"contact_name": lr.e.Contact, "address": "海口市龙华区滨海大道1号", "phone": lr.e.Phone, "code": lr.br.b.lastCodeTo(lr.br.t, lr.e.Phone)})
}

// register walks the whole registration and returns ②'s answer.
func (lr *legalRegistrant) register() response {
	lr.br.t.Helper()
	lr.start()
	if r := lr.info(); r.Status != http.StatusOK || r.str("next_step") != "account" {
		lr.br.t.Fatalf("legal info: %d %s", r.Status, r.Raw)
	}
	r := lr.account()
	if r.Status != http.StatusOK {
		lr.br.t.Fatalf("legal account: %d %s", r.Status, r.Raw)
	}
	return r
}

// legalRow is a legal account as stored, by its credit code.
type legalRow struct {
	id                         int64
	kind, status, realname     string
	source                     *string
	checkedAt, next            *time.Time
	attempts                   int
	repBidx                    []byte
	validTo                    string
	hasPassword, phoneVerified bool
	contact, address           string
}

func (b *testBundle) legalRow(t testing.TB, code string) (legalRow, bool) {
	t.Helper()
	var l legalRow
	err := b.pool.QueryRow(context.Background(), `SELECT id, kind, status, realname_status, realname_source, realname_checked_at, realname_next_check_at,
			realname_attempts, rep_id_bidx, rep_id_valid_to::text, password_hash IS NOT NULL, phone_verified, contact_name, address
		FROM account WHERE id_bidx = $1`, account.CreditCodeIndex(b.keys, code)).Scan(&l.id, &l.kind, &l.status, &l.realname, &l.source,
		&l.checkedAt, &l.next, &l.attempts, &l.repBidx, &l.validTo, &l.hasPassword, &l.phoneVerified, &l.contact, &l.address)
	if err != nil {
		return l, false
	}
	return l, true
}

// TestLegalRegisterVerified: a legal person the enterprise interface knows
// registers over HTTP (the credit code typed full-width, lower case and
// spaced) and is 实名用户 at once; its representative is linked by the
// citizens' blind index.
func TestLegalRegisterVerified(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	lr := b.legalRegistrant(t, "13912340001")
	reg.Add(lr.fixture())
	code := lr.e.CreditCode
	lr.typed = " " + strings.ToLower(code[:6]) + " " + toFullWidth(code[6:])
	r := lr.register()
	if r.str("realname_status") != "verified" || r.str("realname_label") != "实名用户" || r.str("message") != "注册成功" ||
		r.str("login_name_hint") != account.CreditCodeHint(code) {
		t.Fatalf("registered: %s", r.Raw)
	}
	l, ok := b.legalRow(t, code)
	if !ok {
		t.Fatal("no legal account")
	}
	if l.kind != "legal" || l.status != "active" || l.realname != "verified" || l.source == nil || *l.source != "registration" || l.next != nil ||
		!l.hasPassword || !l.phoneVerified || l.contact != lr.e.Contact || l.validTo != "infinity" ||
		string(l.repBidx) != string(account.IDIndex(b.keys, lr.e.RepID)) {
		t.Errorf("stored: %+v", l)
	}
	// The flow is over.
	if r := lr.br.get("/api/v1/register/legal"); r.Status != http.StatusConflict {
		t.Errorf("flow after registration: %d %s", r.Status, r.Raw)
	}
	got := b.column(t, `SELECT event || ':' || outcome FROM auth_audit WHERE event LIKE 'legal_register%' ORDER BY id`)
	want := []string{"legal_register_start:ok", "legal_register_info:ok", "legal_register_sms:ok", "legal_register:ok"}
	if !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
	// The subjects are masked: never the clear credit code.
	for _, s := range b.column(t, `SELECT coalesce(subject, '') FROM auth_audit`) {
		if strings.Contains(s, code) {
			t.Errorf("clear credit code in the audit: %s", s)
		}
	}
}

func toFullWidth(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r > ' ' && r <= '~' {
			r += 0xFEE0
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// TestLegalRegisterScheduled: the interface has no data yet at
// registration: the account is created 未实名用户 with the seed's notice,
// and the scheduled re-check verifies it once the data arrive, with
// backoff in between (injected clock).
func TestLegalRegisterScheduled(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 2*time.Hour)
	lr := b.legalRegistrant(t, "13912340002")
	reg.Add(lr.fixture())
	r := lr.register()
	if r.str("realname_status") != "unverified" || !strings.Contains(r.str("message"), "未通过实名认证") || !strings.Contains(r.str("message"), "系统会定时自动实名认证") {
		t.Fatalf("registered: %s", r.Raw)
	}
	l, _ := b.legalRow(t, lr.e.CreditCode)
	if l.realname != "unverified" || l.next == nil || !l.next.Equal(b.clock.Now().Add(10*time.Minute)) || !l.hasPassword {
		t.Fatalf("stored: %+v", l)
	}
	ctx := context.Background()
	recheck := func(wantChecked, wantVerified int) {
		t.Helper()
		res, err := b.svc.RecheckRealname(ctx)
		if err != nil || res.Checked != wantChecked || res.Verified != wantVerified {
			t.Fatalf("recheck at %v: %+v %v, want %d checked %d verified", b.clock.Now(), res, err, wantChecked, wantVerified)
		}
	}
	recheck(0, 0) // not due yet
	b.clock.Advance(10 * time.Minute)
	recheck(1, 0) // due, still not available: backoff 20 minutes
	if l, _ = b.legalRow(t, lr.e.CreditCode); l.attempts != 1 || !l.next.Equal(b.clock.Now().Add(20*time.Minute)) {
		t.Fatalf("after a check without a verdict: %+v", l)
	}
	b.clock.Advance(19 * time.Minute)
	recheck(0, 0)
	b.clock.Advance(time.Minute)
	recheck(1, 0) // backoff 40 minutes now
	if l, _ = b.legalRow(t, lr.e.CreditCode); l.attempts != 2 || !l.next.Equal(b.clock.Now().Add(40*time.Minute)) {
		t.Fatalf("after a second check: %+v", l)
	}
	// The registrant logs in, 未实名用户, before the data arrives.
	in := b.browser(t)
	if r := in.post("/api/v1/login/legal/password", map[string]string{"credit_code": lr.e.CreditCode, "password": "K9#vTq2!mZ"}); r.Status != http.StatusOK {
		t.Fatalf("legal login: %d %s", r.Status, r.Raw)
	}
	// A row another instance holds is skipped, not waited for.
	b.clock.Advance(2 * time.Hour)
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM account WHERE id = $1 FOR UPDATE`, l.id); err != nil {
		t.Fatal(err)
	}
	recheck(0, 0)
	tx.Rollback(ctx)
	recheck(1, 1)
	l, _ = b.legalRow(t, lr.e.CreditCode)
	if l.realname != "verified" || l.source == nil || *l.source != "scheduled" || l.next != nil || l.checkedAt == nil || !l.checkedAt.Equal(b.clock.Now()) {
		t.Fatalf("after the data arrived: %+v", l)
	}
	recheck(0, 0)
	// The verification takes effect at the next login: the session from
	// before is told to log in again.
	if r := in.get("/api/v1/me"); r.Status != http.StatusUnauthorized || r.str("error") != "reauth_required" {
		t.Errorf("session from before the verification: %d %s, want 401 reauth_required", r.Status, r.Raw)
	}
	if got := b.column(t, `SELECT event FROM auth_audit WHERE event = 'realname_scheduled' AND account_id = $1`, l.id); len(got) != 1 {
		t.Errorf("realname_scheduled audited %d times", len(got))
	}

	// A fused legal account (the import's: never checked) is due at once.
	fused := b.fusedLegal(t, "海南融合有限公司", "13912340061")
	reg.Add(Enterprise{CreditCode: fused.CreditCode, Name: fused.Name, RepName: fused.RepName, RepIDType: "resident", RepID: fused.RepID})
	recheck(1, 0) // the registry sees the code first now
	b.clock.Advance(3 * time.Hour)
	recheck(1, 1)
	if l, _ := b.legalRow(t, fused.CreditCode); l.realname != "verified" || *l.source != "scheduled" {
		t.Errorf("fused account after the job: %+v", l)
	}
}

// TestLegalRegisterMismatch: the interface has other values for the code:
// the account is created unverified with the same notice, and the job
// keeps asking.
func TestLegalRegisterMismatch(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	lr := b.legalRegistrant(t, "13912340003")
	f := lr.fixture()
	f.RepName = "王强"
	reg.Add(f)
	r := lr.register()
	if r.str("realname_status") != "unverified" || !strings.Contains(r.str("message"), "系统会定时自动实名认证") {
		t.Fatalf("registered: %s", r.Raw)
	}
	if l, ok := b.legalRow(t, lr.e.CreditCode); !ok || l.realname != "unverified" || l.next == nil {
		t.Fatalf("stored: %+v", l)
	}
}

// TestLegalRegisterStepOrder: the server enforces ① then ②: ② before ①
// is refused, ① twice is refused, and of parallel ①s exactly one passes.
func TestLegalRegisterStepOrder(t *testing.T) {
	t.Parallel()
	b, _ := legalSetup(t, 0)
	lr := b.legalRegistrant(t, "13912340004")
	if r := lr.info(); r.Status != http.StatusConflict || r.str("error") != "step_out_of_order" {
		t.Fatalf("① without a registration: %d %s", r.Status, r.Raw)
	}
	lr.start()
	r := lr.br.post("/api/v1/register/legal/account", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ",
		"contact_name": "韩洪阳", "address": "海口市", "phone": lr.e.Phone, "code": "123456"})
	if r.Status != http.StatusConflict || r.str("next_step") != "info" {
		t.Fatalf("② before ①: %d %s", r.Status, r.Raw)
	}
	if r := lr.br.post("/api/v1/register/legal/sms", map[string]string{"phone": lr.e.Phone}); r.Status != http.StatusConflict {
		t.Fatalf("② code before ①: %d %s", r.Status, r.Raw)
	}
	// Parallel ①s: one passes, the others are told the next step is ②.
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = lr.info().Status })
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("parallel ①: %d", st)
		}
	}
	if ok != 1 {
		t.Fatalf("parallel ①: %d passed, want 1 (%v)", ok, statuses)
	}
	if r := lr.info(); r.Status != http.StatusConflict || r.str("next_step") != "account" {
		t.Fatalf("① twice: %d %s", r.Status, r.Raw)
	}
	if got := b.column(t, `SELECT event FROM auth_audit WHERE event = 'legal_register_info'`); len(got) != 1 {
		t.Errorf("legal_register_info audited %d times", len(got))
	}
}

// TestLegalRegisterDuplicate: a credit code with an account is never
// registered twice, and the registrant cannot tell from the answers: the
// same JSON as a new registration, no account; the truth goes by SMS to
// the contact phone they proved to hold.
func TestLegalRegisterDuplicate(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	first := b.legalRegistrant(t, "13912340005")
	reg.Add(first.fixture())
	r1 := first.register()
	existing := b.activeLegal(t, "海南老字号有限公司", "13912340006", "Xy7#pQ2!wL")

	// The same code registered again, and a fused account's code: each
	// answered as the fresh one with the same verdict.
	for i, tc := range []struct {
		name    string
		e       enterprise
		fixture bool
	}{
		{"registered", first.e, true},
		{"fused", existing, false},
	} {
		before := b.accountCount(t)
		again := b.legalRegistrant(t, fmt.Sprintf("1391234002%d", i))
		again.e, again.typed = tc.e, tc.e.CreditCode
		again.e.Phone = fmt.Sprintf("1391234002%d", i)
		fresh := b.legalRegistrant(t, fmt.Sprintf("1391234003%d", i))
		if tc.fixture {
			reg.Add(fresh.fixture())
		}
		ra := again.register()
		rf := fresh.register()
		if ra.Status != rf.Status || ra.str("status") != rf.str("status") || ra.str("realname_status") != rf.str("realname_status") ||
			ra.str("message") != rf.str("message") || len(ra.Body) != len(rf.Body) {
			t.Errorf("%s: the answer differs from a new registration's:\n%s\n%s", tc.name, ra.Raw, rf.Raw)
		}
		if tc.fixture && (ra.str("realname_status") != r1.str("realname_status")) {
			t.Errorf("%s: %s", tc.name, ra.Raw)
		}
		if n := b.accountCount(t); n != before+1 {
			t.Errorf("%s: %d accounts after, want %d (only the fresh one)", tc.name, n, before+1)
		}
		notices := b.column(t, `SELECT body FROM sms_outbox WHERE phone_hint = $1 ORDER BY id DESC LIMIT 1`, pii.MaskPhone(again.e.Phone))
		if len(notices) != 1 || !strings.Contains(notices[0], "已注册过法人账号") {
			t.Errorf("%s: notice %v", tc.name, notices)
		}
	}
	// The first account is untouched.
	if l, _ := b.legalRow(t, first.e.CreditCode); l.contact != first.e.Contact {
		t.Errorf("first account's contact: %s", l.contact)
	}
	if got := b.column(t, `SELECT detail FROM auth_audit WHERE event = 'legal_register' AND outcome = 'refused'`); len(got) != 2 {
		t.Errorf("refusals audited: %v", got)
	}
}

// signInAs gives br a full session of the account, as a login would
// (the legal login is another part's).
func (b *testBundle) signInAs(t testing.TB, br *browser, accountID int64) {
	t.Helper()
	token, hash, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	if _, err := b.pool.Exec(context.Background(), `INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, 'full', $3, $3, $4)`, hash, accountID, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	br.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: token, Path: "/", Secure: true}})
}

// TestLegalRealnameUpgrade: 实名等级升级 of an unverified legal account:
// a mismatch is refused (the session lives on); a match writes the new
// values verified and makes every session of the account stale: the next
// request of each is told 认证成功，请重新登录, and a new login shows
// 实名用户. A citizen has no such page.
func TestLegalRealnameUpgrade(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	e := enterprise{CreditCode: creditCode(), Name: "海南旧名有限公司", RepName: "吴斌", RepID: residentID("19700101"), Contact: "韩洪阳", Phone: "13912340009"}
	e.id = b.insertLegal(t, e, schemas.StatusActive, []string{}, nil, schemas.RealnameUnverified)
	newRep := residentID("19800202")
	reg.Add(Enterprise{CreditCode: e.CreditCode, Name: "海南新名有限公司", RepName: "王强", RepIDType: "resident", RepID: newRep})

	br, other := b.browser(t), b.browser(t)
	b.signInAs(t, br, e.id)
	b.signInAs(t, other, e.id)
	if r := br.get("/api/v1/settings/legal/realname"); r.Status != http.StatusOK || r.str("realname_label") != "未实名用户" || r.str("credit_code_hint") != account.CreditCodeHint(e.CreditCode) {
		t.Fatalf("realname page: %d %s", r.Status, r.Raw)
	}
	upgrade := func(name string) response {
		return br.post("/api/v1/settings/legal/realname", map[string]any{"legal_type": "social_org", "name": name, "rep_name": "王强",
			"rep_id_type": "resident", "rep_id_number": newRep, "valid_from": "2020-01-01", "valid_period": "20",
			// Never changed, whatever is sent.
			"credit_code": creditCode()})
	}
	if r := upgrade("海南别名有限公司"); r.Status != http.StatusUnprocessableEntity || r.str("error") != "realname_failed" {
		t.Fatalf("mismatch: %d %s", r.Status, r.Raw)
	}
	if r := br.get("/api/v1/settings/legal/realname"); r.Status != http.StatusOK || r.str("realname_status") != "unverified" {
		t.Fatalf("after a mismatch: %d %s", r.Status, r.Raw)
	}
	if r := upgrade("海南新名有限公司"); r.Status != http.StatusOK || r.str("message") != "认证成功，请重新登录" {
		t.Fatalf("match: %d %s", r.Status, r.Raw)
	}
	for _, c := range []*browser{br, other} {
		if r := c.get("/api/v1/settings/legal/realname"); r.Status != http.StatusUnauthorized || r.str("error") != "reauth_required" || r.str("message") != "认证成功，请重新登录" {
			t.Fatalf("stale session: %d %s", r.Status, r.Raw)
		}
		if r := c.get("/api/v1/settings/legal/realname"); r.Status != http.StatusUnauthorized || r.str("error") != "unauthenticated" {
			t.Fatalf("after the stale answer: %d %s", r.Status, r.Raw)
		}
	}
	again := b.browser(t)
	b.signInAs(t, again, e.id)
	r := again.get("/api/v1/settings/legal/realname")
	if r.Status != http.StatusOK || r.str("realname_label") != "实名用户" || r.str("name") != "海南新名有限公司" || r.str("legal_type") != "social_org" ||
		r.str("credit_code_hint") != account.CreditCodeHint(e.CreditCode) || r.str("rep_id_hint") != pii.MaskID(newRep) {
		t.Fatalf("after a new login: %d %s", r.Status, r.Raw)
	}
	var src string
	var repBidx []byte
	if err := b.pool.QueryRow(context.Background(), `SELECT realname_source, rep_id_bidx FROM account WHERE id = $1`, e.id).Scan(&src, &repBidx); err != nil ||
		src != "upgrade" || string(repBidx) != string(account.IDIndex(b.keys, newRep)) {
		t.Errorf("stored: %s %v", src, err)
	}
	if got := b.column(t, `SELECT outcome FROM auth_audit WHERE event = 'realname_upgrade' AND account_id = $1 ORDER BY id`, e.id); !slices.Equal(got, []string{"fail", "ok"}) {
		t.Errorf("audit: %v", got)
	}
	// A citizen has no 实名等级升级 of a legal person.
	c := b.active(t, "李四", "13912340010", "Xy7#pQ2!wL")
	cb := b.browser(t)
	b.signInAs(t, cb, c.id)
	if r := cb.get("/api/v1/settings/legal/realname"); r.Status != http.StatusForbidden || r.str("error") != "not_legal" {
		t.Errorf("citizen: %d %s", r.Status, r.Raw)
	}
}

// TestLegalRegisterVerifierDown: the enterprise interface does not answer:
// the registration still succeeds, 未实名用户, its check scheduled.
func TestLegalRegisterVerifierDown(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	b := setup(t, func(c *Config) {
		c.Enterprise = &HTTPEnterpriseVerifier{URL: down.URL, Client: &http.Client{Timeout: time.Second}}
	})
	lr := b.legalRegistrant(t, "13912340041")
	if r := lr.register(); r.str("realname_status") != "unverified" || !strings.Contains(r.str("message"), "系统会定时自动实名认证") {
		t.Fatalf("registered: %s", r.Raw)
	}
	if l, ok := b.legalRow(t, lr.e.CreditCode); !ok || l.realname != "unverified" || l.next == nil {
		t.Fatalf("stored: %+v", l)
	}
	if got := b.column(t, `SELECT detail FROM auth_audit WHERE event = 'legal_register'`); len(got) != 1 || !strings.Contains(got[0], "verifier:") {
		t.Errorf("audit: %v", got)
	}
}

// TestLegalRealnamePages: the HTML twin of 实名等级升级: the page shows the
// status and the credit code masked, not editable; a refused verification
// is shown inline; a verified one says 认证成功，请重新登录, and so does
// the stale session's next page.
func TestLegalRealnamePages(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	e := enterprise{CreditCode: creditCode(), Name: "海南页面有限公司", RepName: "吴斌", RepID: residentID("19700101"), Contact: "韩洪阳", Phone: "13912340051"}
	e.id = b.insertLegal(t, e, schemas.StatusActive, []string{}, nil, schemas.RealnameUnverified)
	reg.Add(Enterprise{CreditCode: e.CreditCode, Name: e.Name, RepName: e.RepName, RepIDType: "resident", RepID: e.RepID})
	br := b.browser(t)
	b.signInAs(t, br, e.id)
	r := br.get("/settings/legal/realname")
	if r.Status != http.StatusOK || !strings.Contains(r.Raw, `id="realname-status">未实名用户`) || !strings.Contains(r.Raw, account.CreditCodeHint(e.CreditCode)) ||
		strings.Contains(r.Raw, e.CreditCode) || strings.Contains(r.Raw, `name="credit_code"`) || strings.Contains(r.Raw, e.RepID) {
		t.Fatalf("page: %d %s", r.Status, r.Raw)
	}
	form := url.Values{"legal_type": {"enterprise"}, "name": {e.Name}, "rep_name": {"王强"}, "rep_id_type": {"resident"},
		"rep_id_number": {e.RepID}, "valid_from": {"2015-01-01"}, "valid_period": {"long"}}
	if r := br.form("/settings/legal/realname", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, "认证未通过") {
		t.Fatalf("mismatch: %d %s", r.Status, r.Raw)
	}
	form.Set("rep_name", e.RepName)
	if r := br.form("/settings/legal/realname", form); r.Status != http.StatusOK || !strings.Contains(r.Raw, "认证成功，请重新登录") {
		t.Fatalf("match: %d %s", r.Status, r.Raw)
	}
	// The browser dropped its cookie; another of the account's sessions
	// is told the same on its next page.
	other := b.browser(t)
	b.signInAs(t, other, e.id)
	b.pool.Exec(context.Background(), `UPDATE auth_session SET stale_at = now() WHERE account_id = $1`, e.id)
	if r := other.get("/settings/legal/realname"); r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, "认证成功，请重新登录") {
		t.Fatalf("stale page: %d %s", r.Status, r.Raw)
	}
}

// TestLegalRegisterRacedAccount: parallel ②s of one registration create
// one account; the others are refused.
func TestLegalRegisterRacedAccount(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	lr := b.legalRegistrant(t, "13912340071")
	reg.Add(lr.fixture())
	lr.start()
	if r := lr.info(); r.Status != http.StatusOK {
		t.Fatalf("①: %d %s", r.Status, r.Raw)
	}
	if r := lr.br.postSolving("/api/v1/register/legal/sms", map[string]string{"phone": lr.e.Phone}); r.Status != http.StatusAccepted {
		t.Fatalf("sms: %d %s", r.Status, r.Raw)
	}
	code := b.lastCodeTo(t, lr.e.Phone)
	before := b.accountCount(t)
	const n = 4
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = lr.br.post("/api/v1/register/legal/account", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ",
				"contact_name": lr.e.Contact, "address": "海口市龙华区滨海大道1号", "phone": lr.e.Phone, "code": code}).Status
		})
	}
	wg.Wait()
	if got := slices.Index(statuses, http.StatusOK); got < 0 || slices.IndexFunc(statuses[got+1:], func(s int) bool { return s == http.StatusOK }) >= 0 {
		t.Errorf("parallel ②: %v, want exactly one 200", statuses)
	}
	if n := b.accountCount(t); n != before+1 {
		t.Errorf("%d accounts, want %d", n, before+1)
	}
}

// TestLegalRegisterInfoErrors: ①'s checks, each shown on its field, and
// nothing stored: the credit code (bad check character, I/O letters), the
// type, the representative's ID by cleanse's rules, the validity.
func TestLegalRegisterInfoErrors(t *testing.T) {
	t.Parallel()
	b, _ := legalSetup(t, 0)
	lr := b.legalRegistrant(t, "13912340081")
	lr.start()
	code := lr.e.CreditCode
	good := map[string]any{"legal_type": "institution", "name": lr.e.Name, "credit_code": code, "rep_name": lr.e.RepName, "rep_id_type": "resident",
		"rep_id_number": lr.e.RepID, "valid_from": "2015-03-01", "valid_period": "10", "agree": true, "agreement_version": AgreementVersion}
	badCheck := code[:17] + map[bool]string{true: "1", false: "0"}[code[17] == '0']
	for _, tc := range []struct {
		field string
		value any
		key   string // the field refused
	}{
		{"credit_code", badCheck, "credit_code"},
		{"credit_code", "91460100MA5TO0001" + "X", "credit_code"},
		{"credit_code", "", "credit_code"},
		{"legal_type", "company", "legal_type"},
		{"rep_id_number", lr.e.RepID[:17] + map[bool]string{true: "1", false: "0"}[lr.e.RepID[17] == '0'], "rep_id_number"},
		{"rep_id_type", "passport_x", "rep_id_type"},
		{"rep_name", "", "rep_name"},
		{"name", "", "name"},
		{"valid_from", "2015-13-01", "valid_from"},
		{"valid_period", "", "valid_to"},
		{"agree", false, "agree"},
	} {
		in := maps.Clone(good)
		in[tc.field] = tc.value
		r := lr.br.post("/api/v1/register/legal/info", in)
		fields, _ := r.Body["fields"].(map[string]any)
		if r.Status != http.StatusUnprocessableEntity || fields[tc.key] == nil {
			t.Errorf("%s=%v: %d %s", tc.field, tc.value, r.Status, r.Raw)
		}
	}
	if st := lr.br.get("/api/v1/register/legal"); st.str("next_step") != "info" {
		t.Fatalf("after refusals: %s", st.Raw)
	}
	if r := lr.br.post("/api/v1/register/legal/info", good); r.Status != http.StatusOK {
		t.Fatalf("good: %d %s", r.Status, r.Raw)
	}
	var to string
	if err := b.pool.QueryRow(context.Background(), `SELECT rep_id_valid_to::text FROM legal_registration_flow`).Scan(&to); err != nil || to != "2025-03-01" {
		t.Errorf("10 years from 2015-03-01: %q %v", to, err)
	}
	if st := lr.br.get("/api/v1/register/legal"); st.str("credit_code_hint") != account.CreditCodeHint(code) || st.str("legal_type") != "institution" || strings.Contains(st.Raw, code) {
		t.Errorf("status: %s", st.Raw)
	}
}

// TestRealnameClaims: a scheduled check claims its account for a lease,
// committed at once (no row stays locked while the interface is asked):
// another run finds it not due until the lease ends; a match for values
// the account no longer has verifies nothing.
func TestRealnameClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.fusedLegal(t, "海南椰林贸易有限公司", "13912340071")
	now := b.clock.Now()
	first, err := account.ClaimRealnameChecks(ctx, b.pool, now, time.Hour, 10)
	if err != nil || len(first) != 1 || first[0].ID != e.id {
		t.Fatalf("first claim: %+v %v", first, err)
	}
	if again, err := account.ClaimRealnameChecks(ctx, b.pool, now.Add(59*time.Minute), time.Hour, 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %+v %v", again, err)
	}
	later, err := account.ClaimRealnameChecks(ctx, b.pool, now.Add(time.Hour), time.Hour, 10)
	if err != nil || len(later) != 1 {
		t.Fatalf("after the lease: %+v %v", later, err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET name = '海南椰林贸易集团有限公司' WHERE id = $1`, e.id); err != nil {
		t.Fatal(err)
	}
	if ok, err := account.SetCheckedVerified(ctx, b.pool, later[0], now); err != nil || ok {
		t.Errorf("verified values the account no longer has: %v %v", ok, err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET name = $2, rep_id_bidx = $3 WHERE id = $1`, e.id, e.Name, account.IDIndex(b.keys, residentID("19800101"))); err != nil {
		t.Fatal(err)
	}
	if ok, err := account.SetCheckedVerified(ctx, b.pool, later[0], now); err != nil || ok {
		t.Errorf("verified a representative the account no longer has: %v %v", ok, err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET rep_id_bidx = $2 WHERE id = $1`, e.id, later[0].RepIDBidx); err != nil {
		t.Fatal(err)
	}
	if ok, err := account.SetCheckedVerified(ctx, b.pool, later[0], now); err != nil || !ok {
		t.Errorf("the values checked: %v %v", ok, err)
	}
}

// TestRecheckHoldsNoLock: while the scheduled check waits for the
// interface, the account's row is free (a login of the account updates
// it), and the claimed account is not due for another run.
func TestRecheckHoldsNoLock(t *testing.T) {
	t.Parallel()
	asked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(asked) })
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte(`{"result":"not_yet_available"}`))
	}))
	t.Cleanup(slow.Close)
	b := setup(t, func(c *Config) { c.Enterprise = &HTTPEnterpriseVerifier{URL: slow.URL, Client: slow.Client()} })
	e := b.fusedLegal(t, "海南椰林贸易有限公司", "13912340072")
	ctx := context.Background()
	var runErr error
	finished := make(chan struct{})
	go func() { _, runErr = b.svc.RecheckRealname(ctx); close(finished) }()
	defer func() { close(release); <-finished }()
	select {
	case <-asked:
	case <-finished:
		t.Fatalf("the run ended without asking the interface: %v", runErr)
	}
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET lock_timeout = '2s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE account SET password_failures = password_failures WHERE id = $1`, e.id); err != nil {
		t.Errorf("the account's row is locked while the interface is asked: %v", err)
	}
	second, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if res, err := b.svc.RecheckRealname(second); err != nil || res.Checked != 0 {
		t.Errorf("another run while the first asks: %+v %v, want nothing due", res, err)
	}
}

// TestLegalRegisterUsername: a registrant may choose a login name at ②
// (the credit code otherwise): the 法人登录 tab then takes it; a name
// taken (whatever the case), not of the username rule, or that is a
// valid credit code is refused before the code is spent.
func TestLegalRegisterUsername(t *testing.T) {
	t.Parallel()
	b, reg := legalSetup(t, 0)
	account2 := func(lr *legalRegistrant, username string) response {
		t.Helper()
		lr.start()
		if r := lr.info(); r.Status != http.StatusOK {
			t.Fatalf("legal info: %d %s", r.Status, r.Raw)
		}
		if r := lr.br.postSolving("/api/v1/register/legal/sms", map[string]string{"phone": lr.e.Phone}); r.Status != http.StatusAccepted {
			t.Fatalf("legal register sms: %d %s", r.Status, r.Raw)
		}
		return lr.br.post("/api/v1/register/legal/account", map[string]string{"username": username, "password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ",
			"contact_name": lr.e.Contact, "address": "海口市龙华区滨海大道1号", "phone": lr.e.Phone, "code": lr.br.b.lastCodeTo(lr.br.t, lr.e.Phone)})
	}
	first := b.legalRegistrant(t, "13912340081")
	reg.Add(first.fixture())
	if r := account2(first, "yefeng_tech"); r.Status != http.StatusOK {
		t.Fatalf("registration with a login name: %d %s", r.Status, r.Raw)
	}
	signedIn(t, "login by the login name", b.browser(t).legalPasswordLogin("YeFeng_Tech", "K9#vTq2!mZ"))
	signedIn(t, "login by the credit code", b.browser(t).legalPasswordLogin(first.e.CreditCode, "K9#vTq2!mZ"))

	for i, bad := range []string{"YEFENG_TECH", "9yefeng", "N" + creditCode()[1:17]} {
		lr := b.legalRegistrant(t, fmt.Sprintf("1391234009%d", i))
		if bad[0] == 'N' { // a valid credit code with the letter N as its authority
			bad = bad[:17] + string(cleanse.USCCCheckChar(bad[:17]))
		}
		r := account2(lr, bad)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Raw, `"username"`) {
			t.Errorf("login name %q: %d %s", bad, r.Status, r.Raw)
		}
		if l, ok := b.legalRow(t, lr.e.CreditCode); ok {
			t.Errorf("login name %q: account %+v created", bad, l)
		}
		// The code was not spent on the refusal: another name goes through.
		r = lr.br.post("/api/v1/register/legal/account", map[string]string{"username": fmt.Sprintf("yefeng%d", i), "password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ",
			"contact_name": lr.e.Contact, "address": "海口市龙华区滨海大道1号", "phone": lr.e.Phone, "code": b.lastCodeTo(t, lr.e.Phone)})
		if r.Status != http.StatusOK {
			t.Errorf("after login name %q was refused, another: %d %s", bad, r.Status, r.Raw)
		}
	}
}
