package authsvc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/upstreamdev"
	"github.com/idfusion/idfusion/schemas"
)

// upstand is a service with the stand-in upstream provider "gov" on a
// listener of its own.
type upstand struct {
	*testBundle
	up  *upstreamdev.Provider
	srv *httptest.Server
	// down makes the provider answer 404 to everything.
	down *atomic.Bool
}

// setupUpstream starts the stand-in with citizens and a service that
// trusts it (mod changes the provider's configuration).
func setupUpstream(t *testing.T, citizens []upstreamdev.Citizen, mod ...func(*UpstreamProvider)) *upstand {
	t.Helper()
	return setupUpstreamWith(t, citizens, nil, mod...)
}

// setupUpstreamWith is setupUpstream with a change of the service's
// configuration too.
func setupUpstreamWith(t *testing.T, citizens []upstreamdev.Citizen, cfg func(*Config), mod ...func(*UpstreamProvider)) *upstand {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := UpstreamProvider{ID: "gov", Name: "国家政务服务平台", Issuer: srv.URL + "/up", ClientID: "idfusion", ClientSecret: "s3cret", Level: "LV3"}
	for _, m := range mod {
		m(&p)
	}
	b := setup(t, func(c *Config) {
		c.Upstream = []UpstreamProvider{p}
		if cfg != nil {
			cfg(c)
		}
	})
	for i := range citizens {
		citizens[i].Subject = "sub-" + citizens[i].IDNumber
	}
	up, err := upstreamdev.New(upstreamdev.Config{Issuer: srv.URL + "/up", Title: p.Name, Citizens: citizens, Now: b.clock.Now,
		Clients: []upstreamdev.Client{{ID: "idfusion", Secret: "s3cret", RedirectURIs: []string{b.ts.URL + "/login/upstream/gov/callback"}}}})
	if err != nil {
		t.Fatal(err)
	}
	down := new(atomic.Bool)
	mux.Handle("/up/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.NotFound(w, r)
			return
		}
		up.ServeHTTP(w, r)
	}))
	return &upstand{testBundle: b, up: up, srv: srv, down: down}
}

// upstreamAuthorize starts a login at the provider in br and plays the
// citizen picking idNumber there; it returns the callback URL the
// provider sends the browser back to (not followed).
func (u *upstand) upstreamAuthorize(br *browser, idNumber, returnTo string) string {
	br.t.Helper()
	path := "/login/upstream/gov"
	if returnTo != "" {
		path += "?return_to=" + url.QueryEscape(returnTo)
	}
	r := br.get(path)
	if r.Status != http.StatusFound {
		br.t.Fatalf("start: %d %s", r.Status, r.Raw)
	}
	auth, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		br.t.Fatal(err)
	}
	form := auth.Query()
	form.Set("sub", "sub-"+idNumber)
	resp, err := br.hc.PostForm(auth.Scheme+"://"+auth.Host+auth.Path, form)
	if err != nil {
		br.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, u.ts.URL+"/login/upstream/gov/callback?") {
		br.t.Fatalf("authorize: %d %q", resp.StatusCode, loc)
	}
	return loc
}

// callback follows the provider's redirect back.
func (br *browser) callback(loc string) response {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodGet, loc, nil)
	if err != nil {
		br.t.Fatal(err)
	}
	return br.send(req)
}

// upstreamAudit is the newest audit row of an event: outcome and detail.
func (b *testBundle) lastAudit(t *testing.T, event string) (outcome, detail string, account *int64) {
	t.Helper()
	if err := b.pool.QueryRow(context.Background(), `SELECT outcome, detail, account_id FROM auth_audit WHERE event = $1 ORDER BY id DESC LIMIT 1`, event).
		Scan(&outcome, &detail, &account); err != nil {
		t.Fatal(err)
	}
	return
}

func TestUpstreamLoginKnownCitizen(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id, Phone: "13900001111"}})
	c := citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}
	c.id = u.insert(t, c, schemas.StatusActive, []string{}, nil)
	br := u.browser(t)
	if r := br.get("/login"); !strings.Contains(r.Raw, `id="upstream-gov"`) || !strings.Contains(r.Raw, "国家政务服务平台") {
		t.Fatalf("login page has no provider link: %s", r.Raw)
	}
	loc := u.upstreamAuthorize(br, id, "/center?x=1")
	r := br.callback(loc)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center?x=1" {
		t.Fatalf("callback: %d %q %s", r.Status, r.Header.Get("Location"), r.Raw)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Fatalf("me: %d %s", r.Status, r.Raw)
	}
	outcome, detail, acc := u.lastAudit(t, "login_upstream")
	if outcome != "ok" || !strings.Contains(detail, "provider=国家政务服务平台") || acc == nil || *acc != c.id {
		t.Fatalf("audit: %s %q %v", outcome, detail, acc)
	}
	if r := br.get("/api/v1/settings/logins"); !strings.Contains(r.Raw, "第三方账号登录") {
		t.Fatalf("login records: %s", r.Raw)
	}
	if r := br.get("/center"); !strings.Contains(r.Raw, `href="/settings/upstream"`) {
		t.Fatalf("center has no 第三方账号绑定 link")
	}
	// The link, listed in the center and removed there (the account stays).
	lr := br.get("/api/v1/settings/upstream")
	links, _ := lr.Body["links"].([]any)
	if lr.Status != http.StatusOK || len(links) != 1 || links[0].(map[string]any)["provider"] != "gov" {
		t.Fatalf("links: %d %s", lr.Status, lr.Raw)
	}
	if p := br.get("/settings/upstream"); !strings.Contains(p.Raw, `id="unlink-gov"`) {
		t.Fatalf("settings page: %d %s", p.Status, p.Raw)
	}
	// Another account's link to the provider is not this one's to remove.
	otherID := u.insert(t, citizen{IDNumber: residentID("19850512"), Name: "韩梅", Phone: "13900001119"}, schemas.StatusActive, []string{}, nil)
	if err := linkUpstream(u.pool, otherID, "gov", "someone"); err != nil {
		t.Fatal(err)
	}
	if d := br.post("/settings/upstream/gov/delete", nil); d.Status != http.StatusSeeOther || d.Header.Get("Location") != "/settings/upstream?done=unlinked" {
		t.Fatalf("解除绑定: %d %s", d.Status, d.Raw)
	}
	if p := br.get("/settings/upstream"); !strings.Contains(p.Raw, `id="no-links"`) {
		t.Fatalf("settings page after 解除绑定: %s", p.Raw)
	}
	if d := br.do(http.MethodDelete, "/api/v1/settings/upstream/gov", nil); d.Status != http.StatusNotFound {
		t.Fatalf("unlink twice: %d %s", d.Status, d.Raw)
	}
	if o, d, _ := u.lastAudit(t, "upstream_unlink"); o != "ok" || d != "provider=gov" {
		t.Fatalf("unlink audit: %s %q", o, d)
	}
	var others, subjects int
	u.pool.QueryRow(context.Background(), `SELECT count(*) FROM upstream_link WHERE account_id = $1`, otherID).Scan(&others)
	if others != 1 {
		t.Fatal("解除绑定 removed another account's link")
	}
	// The subject went with the link (the other's stays).
	u.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE account_id = $1) * 10 + count(*) FILTER (WHERE account_id = $2) FROM upstream_subject`, c.id, otherID).Scan(&subjects)
	if subjects != 1 {
		t.Fatalf("subjects after 解除绑定: %d of the account's, %d of the other's", subjects/10, subjects%10)
	}
	var n int
	u.pool.QueryRow(context.Background(), `SELECT count(*) FROM account WHERE id = $1`, c.id).Scan(&n)
	if n != 1 {
		t.Fatal("the account went with its link")
	}

	// The same callback URL again: the state is spent.
	if r := br.callback(loc); r.Status != http.StatusUnauthorized || !strings.Contains(r.Raw, "第三方平台登录未成功") {
		t.Fatalf("replayed state: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "state") || !strings.Contains(d, "国家政务服务平台") {
		t.Fatalf("replay audit: %s %q", o, d)
	}
	// Another browser's state.
	loc = u.upstreamAuthorize(br, id, "")
	if r := u.browser(t).callback(loc); r.Status != http.StatusUnauthorized {
		t.Fatalf("another browser's state: %d %s", r.Status, r.Raw)
	}
	other := u.browser(t)
	other.get("/login/upstream/gov") // a session of its own
	if r := other.callback(loc); r.Status != http.StatusUnauthorized {
		t.Fatalf("another session's state: %d %s", r.Status, r.Raw)
	}
	// The owner's browser still can use it (the refusals did not spend it).
	if r := br.callback(loc); r.Status != http.StatusSeeOther {
		t.Fatalf("own state after the refusals: %d %s", r.Status, r.Raw)
	}
	// An expired one.
	loc = u.upstreamAuthorize(br, id, "")
	u.clock.Advance(upstreamLoginTTL + 1)
	if r := br.callback(loc); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired state: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "state") {
		t.Fatalf("expired audit: %s %q", o, d)
	}
}

func TestUpstreamTokenRefused(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}})
	c := citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}
	u.insert(t, c, schemas.StatusActive, []string{}, nil)
	for _, tc := range []struct {
		name   string
		tamper func(map[string]any)
		why    string
	}{
		{"wrong nonce", func(m map[string]any) { m["nonce"] = "other" }, "nonce"},
		{"wrong audience", func(m map[string]any) { m["aud"] = "someone-else" }, "audience"},
		{"wrong issuer", func(m map[string]any) { m["iss"] = "https://impostor.example" }, "different provider"},
		{"not a resident ID", func(m map[string]any) { m["id_type"] = "passport" }, "resident"},
	} {
		u.up.Tamper(tc.tamper)
		br := u.browser(t)
		loc := u.upstreamAuthorize(br, id, "")
		if r := br.callback(loc); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", tc.name, r.Status, r.Raw)
		}
		if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, tc.why) {
			t.Fatalf("%s: audit %s %q", tc.name, o, d)
		}
		// The refusal spent the state: the same callback again (same
		// session) is refused before any exchange.
		if r := br.callback(loc); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: replay: %d %s", tc.name, r.Status, r.Raw)
		}
		if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "state unknown, used") {
			t.Fatalf("%s: replay audit %s %q", tc.name, o, d)
		}
	}
	u.up.Tamper(nil)
	if err := u.up.SignWithForeignKey(); err != nil {
		t.Fatal(err)
	}
	br := u.browser(t)
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("foreign key: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "signature") {
		t.Fatalf("foreign key: audit %s %q", o, d)
	}
}

func TestUpstreamRegistersUnknownCitizen(t *testing.T) {
	t.Parallel()
	id := residentID("19920101")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "李雷", IDNumber: id, Phone: "13900002222"}}, func(p *UpstreamProvider) { p.Level = "LV2" })
	br := u.browser(t)
	r := br.callback(u.upstreamAuthorize(br, id, "/center?from=gov"))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login/upstream/register" {
		t.Fatalf("callback: %d %q %s", r.Status, r.Header.Get("Location"), r.Raw)
	}
	page := br.get("/login/upstream/register")
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, "李****") || !strings.Contains(page.Raw, "同意并注册") || strings.Contains(page.Raw, id) {
		t.Fatalf("agreement page: %d %s", page.Status, page.Raw)
	}
	count := func() (n int) {
		u.pool.QueryRow(context.Background(), `SELECT count(*) FROM account WHERE id_bidx = $1`, u.svc.idIndex(id)).Scan(&n)
		return n
	}
	// Another browser has nothing to accept; not accepting creates nothing.
	other := u.browser(t)
	other.get("/login/upstream/gov") // a session of its own
	if r := other.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status != http.StatusGone {
		t.Fatalf("another browser registered: %d %s", r.Status, r.Raw)
	}
	if j := br.get("/api/v1/login/upstream/register"); j.Status != http.StatusOK || j.str("name") != "李****" || j.str("provider") != "国家政务服务平台" || j.str("agreement_version") != AgreementVersion {
		t.Fatalf("registration twin: %d %s", j.Status, j.Raw)
	}
	// The page's form without the box ticked.
	resp, err := br.hc.PostForm(u.ts.URL+"/login/upstream/register", url.Values{"agreement_version": {AgreementVersion}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || count() != 0 {
		t.Fatalf("form without agreeing: %d (accounts %d)", resp.StatusCode, count())
	}
	if r := br.post("/api/v1/login/upstream/register", map[string]any{"agree": false, "agreement_version": AgreementVersion}); r.Status != http.StatusUnprocessableEntity || count() != 0 {
		t.Fatalf("without agreeing: %d %s (accounts %d)", r.Status, r.Raw, count())
	}
	r = br.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion})
	if r.Status != http.StatusOK || r.str("next") != "/center?from=gov" || count() != 1 {
		t.Fatalf("register: %d %s (accounts %d)", r.Status, r.Raw, count())
	}
	var level, status string
	var verified bool
	var links int
	u.pool.QueryRow(context.Background(), `SELECT realname_level, status, phone_verified, (SELECT count(*) FROM upstream_link l WHERE l.account_id = a.id AND provider = 'gov')
		FROM account a WHERE id_bidx = $1`, u.svc.idIndex(id)).Scan(&level, &status, &verified, &links)
	if level != "LV2" || status != "active" || verified || links != 1 {
		t.Fatalf("account: %s %s phone verified %v links %d", level, status, verified, links)
	}
	if o, d, acc := u.lastAudit(t, "register_upstream"); o != "ok" || d != "provider=国家政务服务平台 level=LV2" || acc == nil {
		t.Fatalf("registration audit: %s %q %v", o, d, acc)
	}
	if me := br.get("/api/v1/me"); me.Status != http.StatusOK {
		t.Fatalf("me: %d %s", me.Status, me.Raw)
	}
	// Spent: a second registration finds nothing.
	if r := br.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status != http.StatusGone {
		t.Fatalf("again: %d %s", r.Status, r.Raw)
	}
	// The next login at the provider signs the new account in.
	br2 := u.browser(t)
	if r := br2.callback(u.upstreamAuthorize(br2, id, "")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center" {
		t.Fatalf("login after registration: %d %q", r.Status, r.Header.Get("Location"))
	}
}

func TestUpstreamRegistrationRefused(t *testing.T) {
	t.Parallel()
	id, late := residentID("19920101"), residentID("19920101")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "李雷", IDNumber: id}, {Name: "王五", IDNumber: late}})
	// The agreement accepted after the login expired.
	br := u.browser(t)
	br.callback(u.upstreamAuthorize(br, late, ""))
	u.clock.Advance(upstreamLoginTTL + time.Second)
	if r := br.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status != http.StatusGone {
		t.Fatalf("expired: %d %s", r.Status, r.Raw)
	}
	// Registered meanwhile.
	br = u.browser(t)
	br.callback(u.upstreamAuthorize(br, id, ""))
	u.insert(t, citizen{IDNumber: id, Name: "李雷", Phone: "13900003333"}, schemas.StatusActive, []string{}, nil)
	if r := br.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status != http.StatusConflict {
		t.Fatalf("registered meanwhile: %d %s", r.Status, r.Raw)
	}
	if o, _, _ := u.lastAudit(t, "register_upstream"); o != "refused" {
		t.Fatalf("audit: %s", o)
	}
}

func TestUpstreamLinkedElsewhereAndLocked(t *testing.T) {
	t.Parallel()
	id, other := residentID("19850512"), residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}})
	a := u.insert(t, citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}, schemas.StatusActive, []string{}, nil)
	b := u.insert(t, citizen{IDNumber: other, Name: "韩梅", Phone: "13900001112"}, schemas.StatusActive, []string{}, nil)
	// The provider's subject is linked to another account already.
	if err := linkUpstream(u.pool, b, "gov", "sub-"+id); err != nil {
		t.Fatal(err)
	}
	br := u.browser(t)
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("subject of another account: %d %s", r.Status, r.Raw)
	}
	if o, d, acc := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "another account") || acc == nil || *acc != a {
		t.Fatalf("audit: %s %q %v", o, d, acc)
	}
	// The linked subject now says an ID number without an account: not a
	// registration (the subject is another account's).
	u.up.Tamper(func(m map[string]any) { m["id_number"] = residentID("19850513") })
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("linked subject with an unknown ID number: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "another account") {
		t.Fatalf("audit: %s %q", o, d)
	}
	u.up.Tamper(nil)
	// The account is linked to another subject of the provider.
	u.pool.Exec(context.Background(), `DELETE FROM upstream_link`)
	u.pool.Exec(context.Background(), `DELETE FROM upstream_subject`)
	if err := linkUpstream(u.pool, a, "gov", "an-earlier-subject"); err != nil {
		t.Fatal(err)
	}
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("account of another subject: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "another subject") {
		t.Fatalf("audit: %s %q", o, d)
	}
	u.pool.Exec(context.Background(), `DELETE FROM upstream_link`)
	u.pool.Exec(context.Background(), `DELETE FROM upstream_subject`)
	// A locked account.
	u.pool.Exec(context.Background(), `UPDATE account SET locked_until = $2 WHERE id = $1`, a, u.clock.Now().Add(time.Hour))
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("locked: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "locked") {
		t.Fatalf("audit: %s %q", o, d)
	}
	var links int
	u.pool.QueryRow(context.Background(), `SELECT count(*) FROM upstream_link`).Scan(&links)
	if links != 0 {
		t.Fatal("a locked account was linked")
	}
}

// A fused account pending completion gets its restricted session; a
// provider that verified the face proves ③, ① and ② still come first.
func TestUpstreamPendingCompletion(t *testing.T) {
	t.Parallel()
	for _, face := range []bool{false, true} {
		id := residentID("19900307")
		u := setupUpstream(t, []upstreamdev.Citizen{{Name: "张三", IDNumber: id}}, func(p *UpstreamProvider) { p.FaceVerified = face })
		c := citizen{IDNumber: id, Name: "张三", Phone: "13900004444"}
		c.id = u.insert(t, c, schemas.StatusPendingCompletion, []string{"info", "password", "face"}, nil)
		br := u.browser(t)
		r := br.callback(u.upstreamAuthorize(br, id, ""))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(schemas.StepInfo) {
			t.Fatalf("face %v: callback %d %q", face, r.Status, r.Header.Get("Location"))
		}
		// ③ before ①②: refused, whatever the provider proved.
		if r := br.post("/api/v1/completion/face", nil); r.Status != http.StatusConflict {
			t.Fatalf("face %v: ③ first: %d %s", face, r.Status, r.Raw)
		}
		if r := br.newPhoneInfo(c.Phone, "海口市龙华区滨海大道1号"); r.Status != http.StatusOK {
			t.Fatalf("face %v: ①: %d %s", face, r.Status, r.Raw)
		}
		if r := br.post("/api/v1/completion/password", map[string]string{"password": "K9#vTq2!mZ", "confirm": "K9#vTq2!mZ"}); r.Status != http.StatusOK {
			t.Fatalf("face %v: ②: %d %s", face, r.Status, r.Raw)
		}
		r = br.post("/api/v1/completion/face", nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("face %v: ③: %d %s", face, r.Status, r.Raw)
		}
		st := br.get("/api/v1/completion/face/" + r.str("challenge"))
		if face && (st.str("status") != "used" || st.str("next") == "") {
			t.Fatalf("face-verified provider: ③ not done at once: %s", st.Raw)
		}
		if !face && st.str("status") != "pending" {
			t.Fatalf("provider without face: ③ not pending: %s", st.Raw)
		}
	}
}

// Single sign-on: a business system's authorization, the login at the
// upstream provider, back to the business system.
func TestUpstreamSSO(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}})
	u.syncClock()
	u.insert(t, citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}, schemas.StatusActive, []string{}, nil)
	rp := u.rp(t, Client{ID: "portal"})
	br := u.browser(t)
	returnTo, verifier := rp.start(br)
	r := br.callback(u.upstreamAuthorize(br, id, returnTo))
	if r.Header.Get("Location") != returnTo {
		t.Fatalf("callback led to %q, want %q", r.Header.Get("Location"), returnTo)
	}
	if _, err := rp.exchange(rp.code(br, returnTo), verifier); err != nil {
		t.Fatal(err)
	}
}

// A provider that does not answer: the service runs, its button answers
// 暂时无法使用 (at once while it is taken as down), and works once the
// provider answers.
func TestUpstreamProviderDown(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}})
	u.insert(t, citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}, schemas.StatusActive, []string{}, nil)
	u.down.Store(true)
	br := u.browser(t)
	for range 2 {
		if r := br.get("/api/v1/login/upstream/gov"); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.str("message"), "暂时无法使用") {
			t.Fatalf("provider down: %d %s", r.Status, r.Raw)
		}
	}
	if r := br.get("/login/upstream/nobody"); r.Status != http.StatusNotFound {
		t.Fatalf("unknown provider: %d", r.Status)
	}
	u.down.Store(false)
	if r := br.get("/api/v1/login/upstream/gov"); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("asked again before upstreamRetry: %d %s", r.Status, r.Raw)
	}
	u.clock.Advance(upstreamRetry)
	r := br.get("/api/v1/login/upstream/gov")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.str("next"), u.srv.URL+"/up/authorize?") {
		t.Fatalf("provider back: %d %s", r.Status, r.Raw)
	}
}

// The callback is limited per client address; a provider's error
// (the citizen cancelled) is refused and audited.
func TestUpstreamCallbackLimitedAndCancelled(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstreamWith(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}}, func(c *Config) { c.RequestsPerMinute = 4 })
	br := u.browser(t)
	r := br.get("/login/upstream/gov")
	auth := mustURL(r.Header.Get("Location"))
	form := auth.Query()
	form.Set("cancel", "1")
	resp, err := br.hc.PostForm(auth.Scheme+"://"+auth.Host+auth.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := br.callback(resp.Header.Get("Location")); r.Status != http.StatusUnauthorized {
		t.Fatalf("cancelled: %d %s", r.Status, r.Raw)
	}
	if o, d, _ := u.lastAudit(t, "login_upstream"); o != "fail" || !strings.Contains(d, "access_denied") {
		t.Fatalf("cancelled: audit %s %q", o, d)
	}
	last := 0
	for range 4 {
		last = br.get("/login/upstream/gov/callback?state=x&code=y").Status
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("callback not limited: %d", last)
	}
}

// A provider configured by its endpoints, without discovery.
func TestUpstreamExplicitEndpoints(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}}, func(p *UpstreamProvider) {
		p.AuthURL, p.TokenURL, p.JWKSURL = p.Issuer+"/authorize", p.Issuer+"/token", p.Issuer+"/jwks"
	})
	u.insert(t, citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}, schemas.StatusActive, []string{}, nil)
	br := u.browser(t)
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center" {
		t.Fatalf("callback: %d %q %s", r.Status, r.Header.Get("Location"), r.Raw)
	}
	// Its ID tokens are still checked against its issuer.
	u.up.Tamper(func(m map[string]any) { m["iss"] = "https://impostor.example" })
	if r := br.callback(u.upstreamAuthorize(br, id, "")); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong issuer: %d %s", r.Status, r.Raw)
	}
}

// The provider's phone when another account has it: the account is
// registered without a phone.
func TestUpstreamRegistrationPhoneBound(t *testing.T) {
	t.Parallel()
	id := residentID("19920101")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "李雷", IDNumber: id, Phone: "13900005555"}})
	u.insert(t, citizen{IDNumber: residentID("19920101"), Name: "王五", Phone: "13900005555"}, schemas.StatusActive, []string{}, nil)
	br := u.browser(t)
	br.callback(u.upstreamAuthorize(br, id, ""))
	if r := br.post("/api/v1/login/upstream/register", map[string]any{"agree": true, "agreement_version": AgreementVersion}); r.Status != http.StatusOK {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	var hasPhone bool
	u.pool.QueryRow(context.Background(), `SELECT phone_bidx IS NOT NULL FROM account WHERE id_bidx = $1`, u.svc.idIndex(id)).Scan(&hasPhone)
	if hasPhone {
		t.Fatal("registered with another account's phone")
	}
}

// linkUpstream links the account to its subject at the provider as the
// service does: the link and, in the same transaction, the subject's row
// of the lookup table (docs/scale-out.md §3.2).
func linkUpstream(pool *pgxpool.Pool, accountID int64, provider, sub string) error {
	return database.Transact(context.Background(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `INSERT INTO upstream_link (account_id, account_bidx, provider, subject_hash, linked_at, last_login_at)
			SELECT id, id_bidx, $2, $3, now(), now() FROM account WHERE id = $1`, accountID, provider, upstreamSubject(provider, sub)); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `INSERT INTO upstream_subject (subject_hash, provider, account_bidx, account_id)
			SELECT $3, $2, id_bidx, id FROM account WHERE id = $1`, accountID, provider, upstreamSubject(provider, sub))
		return err
	})
}
