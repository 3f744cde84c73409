package authsvc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// staffBrowser is a browser signed in to the console as a new staff
// member with the roles.
func (b *testBundle) staffBrowser(t testing.TB, username string, roles ...string) *browser {
	t.Helper()
	u := b.addStaff(t, username, "测试"+username, roles...)
	return b.staffIn(t, &u)
}

// staffIn signs u in with a new browser; a 客服 made by someone else
// changes the password first (to staffNewPassword, u's from then on).
func (b *testBundle) staffIn(t testing.TB, u *staffUser) *browser {
	t.Helper()
	br := b.browser(t)
	if r := br.staffLogin(u.username, u.password, b.code(*u)); r.Status != http.StatusOK {
		t.Fatalf("staff %s sign-in: %d %s", u.username, r.Status, r.Raw)
	}
	if me := br.get("/api/v1/admin/me"); me.Body["must_change"] == true {
		if r := br.post("/api/v1/admin/password", map[string]string{"current": u.password, "password": staffNewPassword, "confirm": staffNewPassword}); r.Status != http.StatusOK {
			t.Fatalf("staff %s password change: %d %s", u.username, r.Status, r.Raw)
		}
		u.password = staffNewPassword
	}
	return br
}

// staffNewPassword is what the tests' 客服 change their password to.
const staffNewPassword = "Kf#2026-desk!"

var wildcardRE = regexp.MustCompile(`\{[a-z_]+\}`)

// TestConsoleRoleMatrix: every console route is refused (403, audited as
// admin_denied with the staff member and the route) to a staff member
// holding none of its roles, and not refused to one holding one of them;
// without a staff session every one is refused.
func TestConsoleRoleMatrix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var routes []staffRoute
	for _, unit := range b.svc.consoleUnits() {
		routes = append(routes, unit()...)
	}
	if len(routes) == 0 {
		t.Fatal("the console has no routes")
	}
	anon := b.browser(t)
	for _, role := range staffRoleOrder {
		br := b.staffBrowser(t, "only."+role, role)
		denied := 0
		for _, rt := range routes {
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = wildcardRE.ReplaceAllString(path, "x")
			var body any
			if method != http.MethodGet {
				body = map[string]string{}
			}
			r := br.do(method, path, body)
			allowed := slices.Contains(rt.roles, role)
			if refused := r.Status == http.StatusForbidden; refused == allowed {
				t.Errorf("%s as %s: %d %.200s, allowed %v", rt.pattern, role, r.Status, r.Raw, allowed)
			}
			if !allowed {
				denied++
				if r.str("error") != "staff_forbidden" && strings.HasPrefix(path, "/api/") {
					t.Errorf("%s as %s: %s, want staff_forbidden", rt.pattern, role, r.Raw)
				}
			}
			if role == staffRoleOrder[0] {
				if r := anon.do(method, path, body); r.Status != http.StatusUnauthorized && r.Status != http.StatusSeeOther {
					t.Errorf("%s without a staff session: %d", rt.pattern, r.Status)
				}
			}
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_denied' AND subject = $1 AND outcome = 'fail'
			AND detail LIKE 'staff=' || $1 || '; roles=' || $2 || '; target=%'`, "only."+role, role); n != denied {
			t.Errorf("%s: %d admin_denied rows, want %d", role, n, denied)
		}
	}
}

// TestConsoleLookup: a lookup finds an account by the whole ID number,
// credit code, username or phone, and by nothing less; what it shows is
// masked; each lookup is audited with the value masked; the case
// reference it hands out opens the account in this staff session only,
// for 30 minutes, and not once tampered with.
func TestConsoleLookup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩洪阳", "13812340001")
	b.setUsername(t, c.id, "hanhy2026")
	other := b.fused(t, "李四", "13812340001") // a department gave both the same phone
	e := b.fusedLegal(t, "海南椰风科技有限公司", "13812340002")
	kf := b.staffBrowser(t, "kf.one", "kefu")

	find := func(br *browser, kind, value string) response {
		t.Helper()
		return br.post("/api/v1/admin/lookup", map[string]string{"kind": kind, "value": value})
	}
	ids := func(r response) []string {
		var out []string
		for _, a := range r.Body["accounts"].([]any) {
			out = append(out, a.(map[string]any)["id_hint"].(string))
		}
		slices.Sort(out)
		return out
	}
	r := find(kf, "id_number", " "+strings.ToLower(c.IDNumber)+" ")
	if r.Status != http.StatusOK || len(r.Body["accounts"].([]any)) != 1 {
		t.Fatalf("lookup by ID number: %d %s", r.Status, r.Raw)
	}
	got := r.Body["accounts"].([]any)[0].(map[string]any)
	if got["name"] != "韩****" || strings.Contains(r.Raw, c.IDNumber) || strings.Contains(r.Raw, "13812340001") {
		t.Errorf("lookup shows more than masked data: %s", r.Raw)
	}
	ref := got["ref"].(string)
	if r := find(kf, "username", "HANHY2026"); r.Status != http.StatusOK || len(ids(r)) != 1 || ids(r)[0] != got["id_hint"] {
		t.Errorf("lookup by username: %d %s", r.Status, r.Raw)
	}
	if r := find(kf, "phone", "138-1234-0001"); r.Status != http.StatusOK || len(ids(r)) != 2 {
		t.Errorf("lookup by a shared phone: %d %s, want both accounts", r.Status, r.Raw)
	}
	if r := find(kf, "credit_code", e.CreditCode); r.Status != http.StatusOK || len(ids(r)) != 1 {
		t.Errorf("lookup by credit code: %d %s", r.Status, r.Raw)
	}
	// A credit code is not an ID number and the other way round.
	if r := find(kf, "id_number", e.CreditCode); r.Status == http.StatusOK && len(ids(r)) != 0 {
		t.Errorf("a credit code found as an ID number: %s", r.Raw)
	}
	if r := find(kf, "phone", "13812349999"); r.Status != http.StatusOK || len(ids(r)) != 0 {
		t.Errorf("lookup of an unknown phone: %d %s", r.Status, r.Raw)
	}
	// Partial data is refused, whatever the kind.
	for _, p := range [][2]string{
		{"id_number", c.IDNumber[len(c.IDNumber)-6:]}, {"id_number", c.IDNumber[:17]}, {"id_number", "韩洪阳"},
		{"credit_code", e.CreditCode[:10]}, {"phone", "1381234"}, {"username", "h"}, {"name", "韩洪阳"}, {"id_number", "%"},
	} {
		if r := find(kf, p[0], p[1]); r.Status != http.StatusBadRequest || r.str("error") != "lookup_partial" {
			t.Errorf("lookup %s %q: %d %s, want 400 lookup_partial", p[0], p[1], r.Status, r.Raw)
		}
	}
	// Audited, the value masked.
	var detail, subject string
	if err := b.pool.QueryRow(context.Background(), `SELECT subject, detail FROM auth_audit WHERE event = 'admin_lookup' ORDER BY id LIMIT 1`).
		Scan(&subject, &detail); err != nil {
		t.Fatal(err)
	}
	if subject != "kf.one" || !strings.HasPrefix(detail, "staff=kf.one; role=kefu; target=") || !strings.HasSuffix(detail, "by=id_number; found=1") ||
		strings.Contains(detail, c.IDNumber) {
		t.Errorf("lookup audited as %q %q", subject, detail)
	}
	// One row per account found, by its key (who looked it up), one per
	// lookup that found none or was refused.
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_lookup'`); n != 15 {
		t.Errorf("%d lookup rows audited, want 15", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_lookup' AND outcome = 'ok' AND account_id = $1
		AND account_bidx = (SELECT id_bidx FROM account WHERE id = $1)`, c.id); n != 3 {
		t.Errorf("%d lookups of the citizen audited with its key, want 3 (ID number, username, phone)", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_lookup' AND outcome = 'refused' AND detail LIKE '%; partial'`); n < 8 {
		t.Errorf("%d partial lookups audited as refused, want at least 8", n)
	}

	// The reference opens the account here, masked.
	acc := kf.get("/api/v1/admin/accounts/" + ref)
	if acc.Status != http.StatusOK || acc.str("name") != "韩****" || acc.str("status_name") != "待完善信息" || acc.str("phone_hint") != "138****0001" {
		t.Errorf("account view: %d %s", acc.Status, acc.Raw)
	}
	// Not in another staff session, even of the same staff member's role;
	// not tampered with; not after 30 minutes.
	kf2 := b.staffBrowser(t, "kf.two", "kefu")
	if r := kf2.get("/api/v1/admin/accounts/" + ref); r.Status != http.StatusNotFound || r.str("error") != "case_expired" {
		t.Errorf("another session's reference: %d %s", r.Status, r.Raw)
	}
	bad := []byte(ref)
	bad[len(bad)/2] ^= 1
	if r := kf.get("/api/v1/admin/accounts/" + string(bad)); r.Status != http.StatusNotFound {
		t.Errorf("a tampered reference: %d %s", r.Status, r.Raw)
	}
	if r := kf.get("/api/v1/admin/accounts/" + strings.Repeat("A", 300)); r.Status != http.StatusNotFound {
		t.Errorf("a long reference: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(caseLifetime - time.Second)
	if r := kf.get("/api/v1/admin/accounts/" + ref); r.Status != http.StatusOK {
		t.Errorf("a reference before its end: %d %s", r.Status, r.Raw)
	}
	b.clock.Advance(time.Second)
	if r := kf.get("/api/v1/admin/accounts/" + ref); r.Status != http.StatusNotFound {
		t.Errorf("an expired reference: %d %s", r.Status, r.Raw)
	}
	_ = other

	// At most 100 accounts an hour per staff member, counted one after
	// the other however the requests come; then 429, audited.
	u3 := b.addStaff(t, "kf.three", "客服丙", "kefu")
	kf3 := b.staffIn(t, &u3)
	for range maxLookupsPerHour - 5 {
		if r := find(kf3, "username", "hanhy2026"); r.Status != http.StatusOK {
			t.Fatalf("lookup within the bound: %d %s", r.Status, r.Raw)
		}
	}
	var wg sync.WaitGroup
	var ok, limited atomic.Int32
	for range 10 {
		wg.Go(func() {
			switch r := find(kf3, "username", "hanhy2026"); {
			case r.Status == http.StatusOK:
				ok.Add(1)
			case r.Status == http.StatusTooManyRequests && r.str("error") == "lookup_limit":
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || limited.Load() != 5 {
		t.Errorf("10 lookups at the bound: %d found, %d limited, want 5 and 5", ok.Load(), limited.Load())
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'admin_lookup' AND subject = 'kf.three' AND outcome = 'refused' AND detail LIKE '%; limit'`); n != 5 {
		t.Errorf("%d limited lookups audited, want 5", n)
	}
	if r := find(b.staffBrowser(t, "kf.four", "kefu"), "username", "hanhy2026"); r.Status != http.StatusOK {
		t.Errorf("another staff member's lookup: %d", r.Status)
	}
	b.clock.Advance(time.Hour)
	if r := kf3.staffLogin(u3.username, u3.password, b.code(u3)); r.Status != http.StatusOK {
		t.Fatalf("kf.three an hour later: %d", r.Status)
	}
	if r := find(kf3, "username", "hanhy2026"); r.Status != http.StatusOK {
		t.Errorf("a lookup an hour later: %d", r.Status)
	}
}

// TestConsoleLookupPage: the lookup page finds one account and goes to
// its page; partial data is refused on the page too.
func TestConsoleLookupPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "韩洪阳", "13812340003")
	kf := b.staffBrowser(t, "kf.page", "kefu")
	if r := kf.get("/admin/lookup"); r.Status != http.StatusOK || !strings.Contains(r.Raw, "不支持部分查询") {
		t.Fatalf("lookup page: %d", r.Status)
	}
	r := kf.form("/admin/lookup", url.Values{"kind": {"id_number"}, "value": {c.IDNumber}})
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/accounts/") {
		t.Fatalf("lookup form: %d %s", r.Status, loc)
	}
	page := kf.get(loc)
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, "韩****") || !strings.Contains(page.Raw, "138****0003") ||
		strings.Contains(page.Raw, c.IDNumber) || strings.Contains(page.Raw, "洪阳") {
		t.Errorf("account page: %d %s", page.Status, page.Raw)
	}
	if r := kf.form("/admin/lookup", url.Values{"kind": {"id_number"}, "value": {c.IDNumber[10:]}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Raw, "不支持部分查询") {
		t.Errorf("partial lookup on the page: %d", r.Status)
	}
}

// TestConsoleApart: with ConsoleApart the service's handler has no
// console, and the console's handler has nothing but the console (and
// the health checks).
func TestConsoleApart(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.ConsoleApart = true })
	u := b.addStaff(t, "ops.apart", "运维甲", "yunwei")
	br := b.browser(t)
	for _, p := range []string{"/admin/login", "/admin/lookup", "/api/v1/admin/me"} {
		if r := br.get(p); r.Status != http.StatusNotFound {
			t.Errorf("%s on the service's handler: %d, want 404", p, r.Status)
		}
	}
	if r := br.staffLogin(u.username, u.password, b.code(u)); r.Status != http.StatusNotFound {
		t.Errorf("staff sign-in on the service's handler: %d", r.Status)
	}
	console := httptest.NewTLSServer(b.svc.ConsoleHandler())
	t.Cleanup(console.Close)
	cb := b.browser(t)
	cb.hc = console.Client()
	get := func(p string) int {
		resp, err := cb.hc.Get(console.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/admin/login"); s != http.StatusOK {
		t.Errorf("/admin/login on the console's handler: %d", s)
	}
	if s := get("/healthz"); s != http.StatusOK {
		t.Errorf("/healthz on the console's handler: %d", s)
	}
	for _, p := range []string{"/login", "/center", "/oidc/.well-known/openid-configuration"} {
		if s := get(p); s != http.StatusNotFound {
			t.Errorf("%s on the console's handler: %d, want 404", p, s)
		}
	}
}
