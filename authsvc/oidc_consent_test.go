package authsvc

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/browsertest"
)

// page gets path (no redirects followed) and returns the status and body.
func (br *browser) page(path string) (int, string) {
	br.t.Helper()
	r := br.get(path)
	return r.Status, r.Raw
}

// form posts a form as a browser on this origin does.
func (br *browser) form(path string, v url.Values, header ...string) response {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.b.ts.URL+path, strings.NewReader(v.Encode()))
	if err != nil {
		br.t.Fatal(err)
	}
	return br.send(req, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

// signIn logs c in with a password (an SMS code could not be sent again
// to the same phone within a minute).
func (br *browser) signIn(c citizen, password string) {
	br.t.Helper()
	if r := br.passwordLogin(c, password); r.Status != http.StatusOK {
		br.t.Fatalf("password login: %d %s", r.Status, r.Raw)
	}
}

// column is the one-column answer of sql.
func (b *testBundle) column(t testing.TB, sql string, args ...any) []string {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var (
	hiddenRE   = regexp.MustCompile(`name="(id|account)" value="([^"]*)"`)
	continueRE = regexp.MustCompile(`content="0;url=([^"]+)"`)
)

// consentForm reads the consent page that u leads to: the fields it posts
// back, and the page.
func (br *browser) consentForm(u string) (url.Values, string) {
	br.t.Helper()
	status, body := br.page(u)
	if status != http.StatusOK || !strings.Contains(body, `id="consent"`) {
		br.t.Fatalf("%s: %d, want the consent page:\n%s", u, status, body)
	}
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v, body
}

// consent answers the consent page u leads to with decision (approve,
// deny) and returns where the answer's page moves on to.
func (rp *relyingParty) consent(br *browser, u, decision string) string {
	rp.t.Helper()
	v, _ := br.consentForm(u)
	v.Set("decision", decision)
	r := br.form("/oidc/consent", v)
	m := continueRE.FindStringSubmatch(r.Raw)
	if r.Status != http.StatusOK || m == nil {
		rp.t.Fatalf("consent %s: %d, want a page moving on:\n%s", decision, r.Status, r.Raw)
	}
	return html.UnescapeString(m[1])
}

// authorize starts an authorization for a browser that is signed in
// already and returns its resume path (where the login gate is).
func (rp *relyingParty) authorize(br *browser, opts ...oauth2.AuthCodeOption) (resume, verifier string) {
	rp.t.Helper()
	verifier = oauth2.GenerateVerifier()
	u := rp.conf.AuthCodeURL("st4te", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n0nce")}, opts...)...)
	for range 5 {
		resp := br.get(strings.TrimPrefix(u, br.b.ts.URL))
		loc := resp.Header.Get("Location")
		if resp.Status != http.StatusSeeOther && resp.Status != http.StatusFound {
			rp.t.Fatalf("%s: %d, want a redirect", u, resp.Status)
		}
		if strings.HasPrefix(loc, "/oidc/resume?") {
			return loc, verifier
		}
		u = br.b.ts.URL + loc
	}
	rp.t.Fatal("no resume")
	return "", ""
}

// A business system asking for the full ID number gets it only after the
// citizen approved, on the consent page, what is released to whom; 拒绝
// ends at the business system with access_denied; the approval is
// remembered, asked again for more scopes, and revoked in the personal
// center, which revokes the system's tokens too.
func TestOIDCConsent(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "tax", Name: "电子税务局", Scopes: []string{ScopeIDCard, "phone", "offline_access"}})
	c := b.active(t, "冯十五", "13912341501", "Xy7#pQ2!wL")
	br := b.browser(t)
	idcard := oauth2.SetAuthURLParam("scope", "openid "+ScopeIDCard+" offline_access")
	returnTo, _ := rp.start(br, idcard)
	br.smsLoginTo(c, returnTo)

	// The page names the system and what it receives; no code yet, and the
	// provider's callback refuses to make one.
	_, body := br.consentForm(returnTo)
	for _, want := range []string{"电子税务局", "姓名", "证件号码（完整）及证件类型", "长期访问", "同意授权", "拒绝"} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(body, "手机号码") {
		t.Error("consent page lists the phone, not asked for")
	}
	id := mustURL(returnTo).Query().Get("id")
	if n := b.count(t, `SELECT count(*) FROM oidc_auth_request WHERE id = $1 AND (done OR code_hash IS NOT NULL)`, id); n != 0 {
		t.Fatal("request done or code issued before the consent")
	}
	if u, _ := br.follow("/oidc/authorize/callback?id=" + id); u.Query().Get("code") != "" {
		t.Fatalf("the callback issued a code before the consent: %s", u)
	}

	// 拒绝: access_denied at the business system, with its state.
	returnTo, _ = rp.authorize(br, idcard)
	next := rp.consent(br, returnTo, "deny")
	u, _ := br.follow(next)
	if got := u.Query(); u.Host != "rp.example" || got.Get("error") != "access_denied" || got.Get("state") != "st4te" || got.Get("code") != "" {
		t.Errorf("refusal led to %s, want access_denied at the business system", u)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_consent WHERE account_id = $1`, c.id); n != 0 {
		t.Errorf("%d consents after a refusal, want 0", n)
	}

	// 同意授权: the code, and the ID number released.
	returnTo, verifier := rp.authorize(br, idcard)
	tok, err := rp.exchange(rp.code(br, rp.consent(br, returnTo, "approve")), verifier)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := rp.userinfo(tok)
	if err != nil || claims["id_number"] != c.IDNumber {
		t.Fatalf("userinfo after the consent: %v %v, want the ID number", claims, err)
	}

	// Remembered: the next login of the same scopes shows no page.
	returnTo, verifier = rp.authorize(br, idcard)
	if _, err := rp.exchange(rp.code(br, returnTo), verifier); err != nil {
		t.Fatal(err)
	}
	// More scopes than approved: asked again, for the phone too.
	returnTo, _ = rp.authorize(br)
	if _, body := br.consentForm(returnTo); !strings.Contains(body, "手机号码") {
		t.Error("consent page for the phone lacks 手机号码")
	}
	rp.code(br, rp.consent(br, returnTo, "approve"))
	if n := b.count(t, `SELECT count(*) FROM oidc_consent WHERE account_id = $1 AND client_id = 'tax' AND scopes = '{idcard,phone}'`, c.id); n != 1 {
		t.Error("consent does not hold both scopes")
	}

	// The personal center lists it; 撤销授权 revokes the tokens too.
	if status, body := br.page("/center"); status != http.StatusOK || !strings.Contains(body, "已授权的业务系统") ||
		!strings.Contains(body, "电子税务局") || !strings.Contains(body, "证件号码（完整）及证件类型、手机号码") {
		t.Errorf("center: %d, want the consent listed:\n%s", status, body)
	}
	if r := br.form("/center/consents/revoke", url.Values{"client_id": {"tax"}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/center" {
		t.Fatalf("revoke: %d %s", r.Status, r.Header.Get("Location"))
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("userinfo after the consent was revoked")
	}
	if _, err := rp.refresh(tok); err == nil {
		t.Error("refresh after the consent was revoked")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE account_id = $1 AND client_id = 'tax' AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d live tokens after the consent was revoked", n)
	}
	if _, body := br.page("/center"); !strings.Contains(body, "暂无授权") {
		t.Error("center still lists the revoked consent")
	}
	returnTo, _ = rp.authorize(br, idcard)
	br.consentForm(returnTo) // asked again

	got := b.column(t, `SELECT event || ' ' || outcome || ' ' || detail FROM auth_audit WHERE account_id = $1 AND event LIKE 'oidc_consent%' ORDER BY id`, c.id)
	want := []string{"oidc_consent refused tax idcard", "oidc_consent ok tax idcard", "oidc_consent ok tax idcard phone", "oidc_consent_revoke ok tax tokens revoked: 4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit mismatch (-want +got):\n%s", diff)
	}
}

// The consent is checked when the data is released, not only when the
// code is: without it (removed here behind the service's back, so the
// token stays live) userinfo refuses.
func TestOIDCConsentCheckedAtRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	for _, scope := range []string{ScopeIDCard, "phone"} {
		t.Run(scope, func(t *testing.T) {
			rp := b.rp(t, Client{ID: "c-" + scope, Scopes: []string{scope}})
			c := b.active(t, "褚十六", "1391234160"+string(rune('0'+len(scope))), "Xy7#pQ2!wL")
			tok, _ := rp.signedIn(b.browser(t), c)
			if _, err := rp.userinfo(tok); err != nil {
				t.Fatalf("userinfo with the consent: %v", err)
			}
			if _, err := b.pool.Exec(context.Background(), `DELETE FROM oidc_consent WHERE account_id = $1`, c.id); err != nil {
				t.Fatal(err)
			}
			if claims, err := rp.userinfo(tok); err == nil {
				t.Errorf("userinfo without the consent released %v", claims)
			}
		})
	}
}

// The answer to the consent page counts only from the browser the request
// is bound to, for the account the page was shown to, from this origin.
func TestOIDCConsentFormBound(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "tax", Scopes: []string{ScopeIDCard}})
	c := b.active(t, "卫十七", "13912341701", "Xy7#pQ2!wL")
	other := b.active(t, "蒋十八", "13912341801", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, _ := rp.start(br)
	br.smsLoginTo(c, returnTo)
	fields, _ := br.consentForm(returnTo)

	thief := b.browser(t)
	thief.signIn(c, "Xy7#pQ2!wL")
	forged := []string{"Cookie", bindCookie(fields.Get("id")) + "=forged"}
	foreign := b.browser(t)
	foreign.signIn(other, "Xy7#pQ2!wL")
	with := func(k, v string) url.Values {
		f := url.Values{"decision": {"approve"}}
		for key := range fields {
			f.Set(key, fields.Get(key))
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name   string
		br     *browser
		form   url.Values
		header []string
		status int
	}{
		{"another browser of the same account", thief, with("decision", "approve"), nil, http.StatusBadRequest},
		{"a forged bind cookie", thief, with("decision", "approve"), forged, http.StatusBadRequest},
		{"another account's session", foreign, with("decision", "approve"), nil, http.StatusBadRequest},
		{"the page shown to another account", br, with("account", b.svc.subject(other.id)), nil, http.StatusBadRequest},
		{"another request", br, with("id", "nonexistent"), nil, http.StatusBadRequest},
		{"no decision", br, with("decision", ""), nil, http.StatusBadRequest},
		{"cross-origin", br, with("decision", "approve"), []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.br.t = t
			if r := tc.br.form("/oidc/consent", tc.form, tc.header...); r.Status != tc.status {
				t.Errorf("status %d, want %d", r.Status, tc.status)
			}
		})
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_consent`); n != 0 {
		t.Fatalf("%d consents recorded by refused answers", n)
	}
	// The bound browser's answer counts; once the request is done, no
	// answer does, even with the bind cookie kept.
	var bound []string
	for _, ck := range br.hc.Jar.Cookies(mustURL(b.ts.URL)) {
		if ck.Name == bindCookie(fields.Get("id")) {
			bound = []string{"Cookie", ck.Name + "=" + ck.Value}
		}
	}
	rp.code(br, rp.consent(br, returnTo, "approve"))
	if _, err := b.pool.Exec(context.Background(), `DELETE FROM oidc_consent`); err != nil {
		t.Fatal(err)
	}
	if r := br.form("/oidc/consent", with("decision", "approve"), bound...); r.Status != http.StatusBadRequest {
		t.Errorf("answer to a done request: %d, want 400", r.Status)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_consent`); n != 0 {
		t.Error("an answer to a done request recorded a consent")
	}
}

// An expired request shows no consent page.
func TestOIDCConsentExpiredRequest(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "tax", Scopes: []string{ScopeIDCard}}, func(c *Config) { c.OIDCAuthRequestTTL = 10 * time.Minute })
	c := b.active(t, "杨二七", "13912342701", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, _ := rp.start(br)
	br.smsLoginTo(c, returnTo)
	b.clock.Advance(11 * time.Minute)
	if status, body := br.page(returnTo); status != http.StatusBadRequest || strings.Contains(body, `id="consent"`) {
		t.Errorf("expired request: %d, want 400 and no consent page", status)
	}
}

// Two answers racing: a request refused after it was done, or done after
// it was refused, is not. The storage calls run in the order of the race.
func TestOIDCConsentRaces(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "tax", Scopes: []string{ScopeIDCard}})
	c := b.active(t, "沈十九", "13912341901", "Xy7#pQ2!wL")
	br := b.browser(t)
	ctx := context.Background()
	// at is the service's view of br's next request to the resume path.
	at := func(resume string) (*oidcAuthRequest, []byte, *session) {
		t.Helper()
		hr := httptest.NewRequest(http.MethodGet, resume, nil)
		for _, ck := range br.hc.Jar.Cookies(mustURL(b.ts.URL)) {
			hr.AddCookie(ck)
		}
		req, browser, err := b.svc.boundRequest(ctx, hr, mustURL(resume).Query().Get("id"))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := b.svc.session(ctx, hr)
		if err != nil {
			t.Fatal(err)
		}
		return req, browser, sess
	}
	returnTo, _ := rp.start(br)
	br.smsLoginTo(c, returnTo)
	rp.consent(br, returnTo, "approve")

	t.Run("refused after done", func(t *testing.T) {
		resume, _ := rp.authorize(br)
		req, browser, _ := at(resume)
		rp.code(br, resume)
		if err := b.svc.denyRequest(ctx, req.id, browser); err == nil {
			t.Error("a done request was refused")
		}
	})
	t.Run("done after refused", func(t *testing.T) {
		resume, _ := rp.authorize(br)
		req, browser, sess := at(resume)
		if err := b.svc.denyRequest(ctx, req.id, browser); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		b.svc.completeRequest(rec, httptest.NewRequest(http.MethodGet, resume, nil), req, browser, sess, []string{amrSMS})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("completing a refused request: %d, want 400", rec.Code)
		}
		if u, _ := br.follow(resume); u.Query().Get("error") != "access_denied" {
			t.Errorf("resume of a refused request led to %s, want access_denied", u)
		}
	})
	t.Run("two revocations at once", func(t *testing.T) {
		second := b.browser(t)
		second.signIn(c, "Xy7#pQ2!wL")
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, x := range []*browser{br, second} {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, b.ts.URL+"/center/consents/revoke", strings.NewReader("client_id=tax"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := x.hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		wg.Wait()
		if got := statuses[0] + statuses[1]; got != http.StatusSeeOther+http.StatusNotFound {
			t.Errorf("statuses %v, want one 303 and one 404", statuses)
		}
		if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_consent_revoke' AND outcome = 'ok'`); n != 1 {
			t.Errorf("%d revocations audited, want 1", n)
		}
	})
}

// The JSON twins of the personal center's list and revocation.
func TestOIDCConsentAPI(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "tax", Name: "电子税务局", Scopes: []string{"phone"}})
	c := b.active(t, "韩二十", "13912342001", "Xy7#pQ2!wL")
	br := b.browser(t)
	returnTo, _ := rp.start(br)
	br.smsLoginTo(c, returnTo)
	if r := br.get("/api/v1/consents"); r.Status != http.StatusOK || r.Raw != "{\"consents\":[]}\n" {
		t.Errorf("no consents: %d %s", r.Status, r.Raw)
	}
	rp.consent(br, returnTo, "approve")
	r := br.get("/api/v1/consents")
	list, _ := r.Body["consents"].([]any)
	if r.Status != http.StatusOK || len(list) != 1 {
		t.Fatalf("consents: %d %s", r.Status, r.Raw)
	}
	got := list[0].(map[string]any)
	delete(got, "granted_at")
	if diff := cmp.Diff(map[string]any{"client_id": "tax", "client": "电子税务局", "scopes": []any{"phone"}}, got); diff != "" {
		t.Errorf("consent mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		client string
		status int
	}{{"tax", http.StatusNoContent}, {"tax", http.StatusNotFound}, {"other", http.StatusNotFound}} {
		if r := br.post("/api/v1/consents/revoke", map[string]string{"client_id": tc.client}); r.Status != tc.status {
			t.Errorf("revoke %s: %d %s, want %d", tc.client, r.Status, r.Raw, tc.status)
		}
	}
}

// TestBrowserOIDCConsent: an active citizen sent by a business system
// that asks for the full ID number logs in with a password, sees the
// consent page naming the system and 证件号码, and presses 同意授权: back at
// the business system, which got the ID number. One pressing 拒绝 lands
// at the business system with the error.
func TestBrowserOIDCConsent(t *testing.T) {
	t.Parallel()
	for _, decision := range []string{"approve", "deny"} {
		t.Run(decision, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.syncClock()
			bs := b.businessSystem(t, ScopeIDCard)
			c := b.active(t, "王五", "13900139000", "K9#vTq2!mZ")

			p := newTab(t, b)
			p.ssoFrom(bs)
			p.fill("#id_number", c.IDNumber)
			p.fill("#password", "K9#vTq2!mZ")
			p.submit("#login", http.StatusOK, "")
			p.waitFor("the consent page", `document.querySelector('#consent') !== null`)
			if got := p.text("#client"); got != "示例业务系统" {
				t.Errorf("consent page names %q, want 示例业务系统", got)
			}
			if got := p.text("#items"); !strings.Contains(got, "证件号码（完整）") {
				t.Errorf("consent page lists %q, want 证件号码（完整）", got)
			}
			p.noClearPII(c)
			if n, _, _ := bs.seen(); n != 0 {
				t.Fatalf("the business system's callback was hit %d times before the answer", n)
			}
			p.submit("#"+decision, http.StatusOK, "")
			if decision == "deny" {
				p.waitFor("back at the business system", `location.pathname === '/callback' && document.querySelector('#error') !== null`)
				if got := p.text("#error"); got != "access_denied" {
					t.Errorf("business system shows %q, want access_denied", got)
				}
				if n, errs, _ := bs.seen(); n != 1 || len(errs) != 1 || !strings.HasPrefix(errs[0], "provider: access_denied") {
					t.Errorf("business system callbacks = %d, errors %q; want one access_denied", n, errs)
				}
				return
			}
			p.waitFor("back at the business system", `location.pathname === '/callback' && document.querySelector('#signed-in') !== null`)
			if got := p.text("#id-number"); got != c.IDNumber {
				t.Errorf("business system got ID number %q, want the citizen's", got)
			}
			if n, errs, _ := bs.seen(); n != 1 || len(errs) > 0 {
				t.Errorf("business system callbacks = %d, errors %q; want one, clean", n, errs)
			}
			if errs := browsertest.ConsoleErrors(p.ctx); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
		})
	}
}
