package authsvc

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// logoutReceiver is a business system's back-channel logout endpoint,
// over real HTTPS: it answers 503 to the first fail posts, then 200, and
// keeps the logout tokens it accepted.
type logoutReceiver struct {
	ts     *httptest.Server
	mu     sync.Mutex
	fail   int
	posts  int
	tokens []string
	got    chan string
	// refused, if set, hears of each post answered 503.
	refused chan struct{}
}

func newLogoutReceiver(t *testing.T, fail int) *logoutReceiver {
	t.Helper()
	lr := &logoutReceiver{fail: fail, got: make(chan string, 10)}
	lr.ts = httptest.NewTLSServer(http.HandlerFunc(lr.serve))
	t.Cleanup(lr.ts.Close)
	return lr
}

func (lr *logoutReceiver) serve(w http.ResponseWriter, r *http.Request) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.posts++
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if lr.posts <= lr.fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		if lr.refused != nil {
			lr.refused <- struct{}{}
		}
		return
	}
	tok := r.PostFormValue("logout_token")
	lr.tokens = append(lr.tokens, tok)
	lr.got <- tok
	w.WriteHeader(http.StatusOK)
}

func (lr *logoutReceiver) received() (posts int, tokens []string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.posts, append([]string(nil), lr.tokens...)
}

// deliver runs one delivery pass of svc and checks how many it delivered.
func deliver(t *testing.T, svc *Server, want int) {
	t.Helper()
	n, err := svc.DeliverLogouts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("delivered %d logout tokens, want %d", n, want)
	}
}

// logoutClaims verifies a logout token as a business system does: its
// signature against the provider's JWKS, its typ, iss, aud, events, and
// no nonce; it returns its claims.
func (rp *relyingParty) logoutClaims(raw string) map[string]any {
	rp.t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		rp.t.Fatalf("parse logout token: %v", err)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); typ != "logout+jwt" {
		rp.t.Errorf("typ = %q, want logout+jwt", typ)
	}
	payload, err := gooidc.NewRemoteKeySet(rp.ctx, rp.b.ts.URL+"/oidc/keys").VerifySignature(rp.ctx, raw)
	if err != nil {
		rp.t.Fatalf("logout token signature: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		rp.t.Fatal(err)
	}
	if c["iss"] != rp.b.ts.URL+"/oidc" {
		rp.t.Errorf("iss = %v", c["iss"])
	}
	if c["aud"] != rp.conf.ClientID {
		rp.t.Errorf("aud = %v, want %s", c["aud"], rp.conf.ClientID)
	}
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev[backchannelEvent]; !ok || len(ev) != 1 {
		rp.t.Errorf("events = %v", c["events"])
	}
	if _, ok := c["nonce"]; ok {
		rp.t.Error("logout token has a nonce")
	}
	for _, k := range []string{"iat", "exp", "jti", "sub"} {
		if _, ok := c[k]; !ok {
			rp.t.Errorf("logout token lacks %s", k)
		}
	}
	return c
}

// sid is the sid of an ID token.
func sidOf(t *testing.T, id *gooidc.IDToken) string {
	t.Helper()
	var c struct {
		SID string `json:"sid"`
	}
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c.SID
}

// signedInAgain has a signed-in browser get tokens for another client
// (single sign-on: no login).
func (rp *relyingParty) signedInAgain(br *browser) *oauth2.Token {
	rp.t.Helper()
	code, verifier := rp.again(br)
	tok, err := rp.exchange(code, verifier)
	if err != nil {
		rp.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// Signing out at the provider sends a signed logout token to each client
// the citizen got tokens from in the session that registered a
// back-channel URI; one down at first gets it on a later pass, after the
// backoff; a client without a URI gets nothing, and every token of the
// session ends.
func TestOIDCBackchannelLogout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	down, up := newLogoutReceiver(t, 1), newLogoutReceiver(t, 0)
	rpA := b.rp(t, Client{ID: "sys-a", Name: "不动产登记", Scopes: []string{"offline_access"},
		Logout: LogoutChannels{BackchannelURI: down.ts.URL + "/bc", BackchannelSessionRequired: true}})
	rpB := b.rp(t, Client{ID: "sys-b", Name: "社保查询", Scopes: []string{"offline_access"},
		Logout: LogoutChannels{BackchannelURI: up.ts.URL + "/bc"}})
	rpC := b.rp(t, Client{ID: "sys-c", Scopes: []string{"offline_access"}})
	c := b.active(t, "吴十", "13912341001", "Xy7#pQ2!wL")
	br := b.browser(t)
	tokA, _ := rpA.signedIn(br, c)
	tokB := rpB.signedInAgain(br)
	tokC := rpC.signedInAgain(br)
	idA, idB := rpA.verify(tokA), rpB.verify(tokB)
	sid := sidOf(t, idA)
	if sid == "" || sidOf(t, idB) != sid {
		t.Fatalf("sid of the ID tokens: %q and %q, want one non-empty sid of the session", sid, sidOf(t, idB))
	}
	refreshed, err := rpA.refresh(tokA)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := refreshed.Extra("id_token").(string)
	idRefreshed, err := rpA.provider.Verifier(&gooidc.Config{ClientID: "sys-a"}).Verify(rpA.ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := sidOf(t, idRefreshed); got != sid {
		t.Errorf("sid after a refresh = %q, want %q", got, sid)
	}
	tokA = refreshed

	deliver(t, b.svc, 0) // nothing queued while signed in
	if r := br.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	select {
	case <-b.svc.logoutKick:
	default:
		t.Error("the logout did not wake the delivery worker")
	}
	deliver(t, b.svc, 1) // sys-b; sys-a answers 503
	var attempts int
	var lastError string
	var next time.Time
	if err := b.pool.QueryRow(context.Background(), `SELECT attempts, last_error, next_attempt_at FROM oidc_logout_outbox WHERE client_id = 'sys-a'`).
		Scan(&attempts, &lastError, &next); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || !strings.Contains(lastError, "503") || !next.Equal(b.clock.Now().Add(logoutBackoff).Truncate(time.Microsecond)) {
		t.Errorf("sys-a after its first attempt: attempts %d, last_error %q, next %s; want 1, a 503, now+%s", attempts, lastError, next, logoutBackoff)
	}
	deliver(t, b.svc, 0) // not due yet
	if posts, _ := down.received(); posts != 1 {
		t.Errorf("sys-a posted to %d times before its backoff ended, want 1", posts)
	}
	b.clock.Advance(logoutBackoff)
	deliver(t, b.svc, 1)
	deliver(t, b.svc, 0) // delivered once only

	_, gotA := down.received()
	_, gotB := up.received()
	if len(gotA) != 1 || len(gotB) != 1 {
		t.Fatalf("logout tokens received: sys-a %d, sys-b %d; want 1 each", len(gotA), len(gotB))
	}
	ca, cb := rpA.logoutClaims(gotA[0]), rpB.logoutClaims(gotB[0])
	if ca["sid"] != sid || ca["sub"] != idA.Subject {
		t.Errorf("sys-a's logout token: sid %v sub %v, want %s and %s", ca["sid"], ca["sub"], sid, idA.Subject)
	}
	if _, ok := cb["sid"]; ok || cb["sub"] != idB.Subject {
		t.Errorf("sys-b's logout token: sid %v (not asked for), sub %v", cb["sid"], cb["sub"])
	}
	// The logout token of one client is not accepted as another's.
	if _, err := gooidc.NewRemoteKeySet(rpA.ctx, b.ts.URL+"/oidc/keys").VerifySignature(rpA.ctx, gotA[0]+"x"); err == nil {
		t.Error("a tampered logout token verified")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_logout_outbox WHERE client_id = 'sys-c'`); n != 0 {
		t.Errorf("%d logout tokens queued for the client without a back-channel URI", n)
	}
	for name, tc := range map[string]struct {
		rp  *relyingParty
		tok *oauth2.Token
	}{"sys-a": {rpA, tokA}, "sys-b": {rpB, tokB}, "sys-c": {rpC, tokC}} {
		if _, err := tc.rp.refresh(tc.tok); err == nil {
			t.Errorf("%s: refresh token of the ended session accepted", name)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_backchannel_logout' AND outcome = 'ok' AND account_id = $1`, c.id); n != 2 {
		t.Errorf("audited deliveries = %d, want 2", n)
	}

	// The purge (as the scheduler's role) removes the delivered tokens and,
	// with the ended session, its systems, a day later.
	purger := memberPool(t, b.pool, roleImport)
	if got, err := Purge(context.Background(), purger, b.clock.Now()); err != nil || got.LogoutTokens != 0 {
		t.Fatalf("purge at once: %+v %v, want no logout token purged", got, err)
	}
	got, err := Purge(context.Background(), purger, b.clock.Now().Add(purgeKeep+time.Minute))
	if err != nil || got.LogoutTokens != 2 {
		t.Fatalf("purge a day later: %+v %v, want 2 logout tokens purged", got, err)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_session_client`); n != 0 {
		t.Errorf("%d systems of purged sessions left", n)
	}
}

// A business system that never answers is given up after
// logoutMaxAttempts, with an audit record.
func TestOIDCBackchannelLogoutGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	never := newLogoutReceiver(t, 1000)
	rp := b.rp(t, Client{ID: "sys-down", Logout: LogoutChannels{BackchannelURI: never.ts.URL + "/bc"}})
	c := b.active(t, "郑一", "13912341101", "Xy7#pQ2!wL")
	br := b.browser(t)
	rp.signedIn(br, c)
	if r := br.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	for range logoutMaxAttempts + 2 {
		deliver(t, b.svc, 0)
		b.clock.Advance(logoutMaxBackoff)
	}
	if posts, _ := never.received(); posts != logoutMaxAttempts {
		t.Errorf("%d attempts, want %d", posts, logoutMaxAttempts)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_logout_outbox WHERE failed_at IS NOT NULL AND attempts = $1`, logoutMaxAttempts); n != 1 {
		t.Errorf("%d rows given up, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_backchannel_logout' AND outcome = 'fail' AND account_id = $1`, c.id); n != 1 {
		t.Errorf("audited give-ups = %d, want 1", n)
	}
}

// The personal center lists the business systems the citizen is signed
// in to; ending one revokes only that client's tokens and tells it;
// 全部退出 ends the rest.
func TestCenterEndsBusinessSystems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	lr := newLogoutReceiver(t, 0)
	rpA := b.rp(t, Client{ID: "sys-a", Name: "不动产登记", Scopes: []string{"offline_access"},
		Logout: LogoutChannels{BackchannelURI: lr.ts.URL + "/bc", BackchannelSessionRequired: true}})
	rpB := b.rp(t, Client{ID: "sys-b", Name: "社保查询", Scopes: []string{"offline_access"}})
	c := b.active(t, "王二", "13912341201", "Xy7#pQ2!wL")
	br := b.browser(t)
	tokA, _ := rpA.signedIn(br, c)
	tokB := rpB.signedInAgain(br)

	systems := func() []string { return systemsOf(t, br) }
	if got := systems(); strings.Join(got, ",") != "不动产登记,社保查询" {
		t.Fatalf("systems = %v", got)
	}
	if page := br.get("/center"); !strings.Contains(page.Raw, "不动产登记") || !strings.Contains(page.Raw, `id="end-all-systems"`) {
		t.Errorf("center page lacks the signed-in systems:\n%s", page.Raw)
	}

	if r := br.post("/api/v1/systems/end", map[string]any{"client_id": "sys-a"}); r.Status != http.StatusNoContent {
		t.Fatalf("end sys-a: %d %s", r.Status, r.Raw)
	}
	if _, err := rpA.refresh(tokA); err == nil {
		t.Error("sys-a's refresh token accepted after it was ended")
	}
	tokB2, err := rpB.refresh(tokB)
	if err != nil {
		t.Fatalf("sys-b's refresh failed after ending sys-a: %v", err)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("the center's session after ending a system: %d", r.Status)
	}
	deliver(t, b.svc, 1)
	_, got := lr.received()
	if cl := rpA.logoutClaims(got[0]); cl["sid"] != sidOf(t, rpA.verify(tokA)) {
		t.Errorf("sid = %v", cl["sid"])
	}
	if got := systems(); strings.Join(got, ",") != "社保查询" {
		t.Errorf("systems after ending sys-a = %v", got)
	}
	if r := br.post("/api/v1/systems/end", map[string]any{"client_id": "sys-a"}); r.Status != http.StatusNotFound {
		t.Errorf("ending sys-a again: %d, want 404", r.Status)
	}
	// Signed in to sys-a again, in the same session: listed again.
	rpA.signedInAgain(br)
	if got := systems(); strings.Join(got, ",") != "不动产登记,社保查询" {
		t.Errorf("systems after signing in to sys-a again = %v", got)
	}

	// The page's 全部退出.
	resp, err := br.hc.PostForm(b.ts.URL+"/center/systems/end", url.Values{"all": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("全部退出: %d", resp.StatusCode)
	}
	if _, err := rpB.refresh(tokB2); err == nil {
		t.Error("sys-b's refresh token accepted after 全部退出")
	}
	if got := systems(); len(got) != 0 {
		t.Errorf("systems after 全部退出 = %v", got)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_center_logout' AND account_id = $1`, c.id); n != 3 {
		t.Errorf("audited center logouts = %d, want 3 (sys-a, then sys-a and sys-b)", n)
	}
}

// The outbox is durable: a logout queued while the business system is
// down (connection refused) is delivered by a new Server after a restart,
// by its worker, which stops with its context.
func TestOIDCLogoutOutboxSurvivesRestart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	rp := b.rp(t, Client{ID: "sys-a", Logout: LogoutChannels{BackchannelURI: "https://" + addr + "/bc"}})
	c := b.active(t, "冯三", "13912341301", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	if r := br.post("/api/v1/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	deliver(t, b.svc, 0)
	var lastError string
	if err := b.pool.QueryRow(context.Background(), `SELECT last_error FROM oidc_logout_outbox`).Scan(&lastError); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lastError, "refused") {
		t.Errorf("last_error = %q, want connection refused", lastError)
	}

	// The business system comes back on its address, answering 503 once
	// more; the provider restarts.
	lr := &logoutReceiver{got: make(chan string, 10), fail: 1, refused: make(chan struct{}, 10)}
	lr.ts = httptest.NewUnstartedServer(http.HandlerFunc(lr.serve))
	if lr.ts.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatalf("address %s taken meanwhile: %v", addr, err)
	}
	lr.ts.StartTLS()
	t.Cleanup(lr.ts.Close)
	restarted, err := New(memberPool(t, b.pool, roleAuthsvc), b.svc.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The worker's own poll is an hour away: only its first pass and a
	// kick make it deliver.
	restarted.logoutPoll = time.Hour
	b.clock.Advance(logoutBackoff)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		restarted.RunLogoutDelivery(ctx)
		close(done)
	}()
	select {
	case <-lr.refused: // the first pass found the row due
	case <-time.After(30 * time.Second):
		t.Fatal("no attempt from the restarted server")
	}
	b.clock.Advance(2 * logoutBackoff)
	restarted.kickLogouts()
	select {
	case raw := <-lr.got:
		if cl := rp.logoutClaims(raw); cl["sub"] != rp.verify(tok).Subject {
			t.Errorf("sub = %v", cl["sub"])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery from the restarted server")
	}
	cancel()
	<-done
	if n := b.count(t, `SELECT count(*) FROM oidc_logout_outbox WHERE delivered_at IS NOT NULL AND attempts = 3`); n != 1 {
		t.Errorf("%d rows delivered on the third attempt, want 1", n)
	}
}

// A client with a front-channel URI is loaded in an iframe of the page
// that ends RP-initiated logout, with iss and sid, before the browser goes
// on to the post-logout URI; discovery says so.
func TestOIDCFrontchannelLogout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	const bye = "https://rp.example/bye"
	rp := b.rp(t, Client{ID: "portal", PostLogoutRedirectURIs: []string{bye},
		Logout: LogoutChannels{FrontchannelURI: "https://fc.example/logout?x=1", FrontchannelSessionRequired: true}})
	other := b.rp(t, Client{ID: "other", Logout: LogoutChannels{FrontchannelURI: "https://other.example/fc"}})
	var meta map[string]any
	if err := rp.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported", "frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
		if meta[k] != true {
			t.Errorf("discovery %s = %v, want true", k, meta[k])
		}
	}
	c := b.active(t, "陈四", "13912341401", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	other.signedInAgain(br)
	sid := sidOf(t, rp.verify(tok))
	hint, _ := tok.Extra("id_token").(string)
	r := br.get("/oidc/end_session?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"s1"}}.Encode())
	if r.Status != http.StatusOK {
		t.Fatalf("end_session: %d %s", r.Status, r.Raw)
	}
	page := html.UnescapeString(r.Raw)
	want := "https://fc.example/logout?" + url.Values{"iss": {b.ts.URL + "/oidc"}, "sid": {sid}, "x": {"1"}}.Encode()
	for _, s := range []string{`src="` + want + `"`, `src="https://other.example/fc"`, `href="` + bye + `?state=s1"`} {
		if !strings.Contains(page, s) {
			t.Errorf("logged-out page lacks %s:\n%s", s, page)
		}
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-src https://fc.example https://other.example") {
		t.Errorf("CSP = %q", csp)
	}
	if br.cookie() != "" {
		t.Error("session cookie kept after logout")
	}

	// 退出登录 in the personal center ends on the same page.
	d := b.active(t, "卫六", "13912341402", "Xy7#pQ2!wL")
	br2 := b.browser(t)
	tok2, _ := rp.signedIn(br2, d)
	resp, err := br2.hc.PostForm(b.ts.URL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	page = html.UnescapeString(string(raw))
	want = "https://fc.example/logout?" + url.Values{"iss": {b.ts.URL + "/oidc"}, "sid": {sidOf(t, rp.verify(tok2))}, "x": {"1"}}.Encode()
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `src="`+want+`"`) || !strings.Contains(page, `href="/login"`) {
		t.Errorf("center logout: %d, want the logged-out page with the iframe and a link to the login:\n%s", resp.StatusCode, page)
	}
}

// systemsOf are the names of the business systems the browser's center
// lists.
func systemsOf(t *testing.T, br *browser) []string {
	t.Helper()
	r := br.get("/api/v1/systems")
	if r.Status != http.StatusOK {
		t.Fatalf("systems: %d %s", r.Status, r.Raw)
	}
	var names []string
	for _, s := range r.Body["systems"].([]any) {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	return names
}

// The center lists the systems of the citizen's live sessions: those of a
// session that timed out are gone.
func TestCenterSystemsOfLiveSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rpA := b.rp(t, Client{ID: "sys-a", Name: "不动产登记"})
	rpB := b.rp(t, Client{ID: "sys-b", Name: "社保查询"})
	c := b.active(t, "褚五", "13912341501", "Xy7#pQ2!wL")
	first, second := b.browser(t), b.browser(t)
	rpA.signedIn(first, c)
	b.clock.Advance(61 * time.Second) // the next SMS code
	second.smsLoginTo(c, "/center")
	rpB.signedInAgain(second)
	if got := systemsOf(t, second); strings.Join(got, ",") != "不动产登记,社保查询" {
		t.Fatalf("systems of two live sessions = %v", got)
	}
	b.clock.Advance(b.svc.cfg.IdleTimeout - 30*time.Second) // the first is idle past its timeout
	if got := systemsOf(t, second); strings.Join(got, ",") != "社保查询" {
		t.Errorf("systems after the first session timed out = %v, want sys-b only", got)
	}
}

// A session ended because the operators locked the account ends at its
// business systems too.
func TestOIDCBackchannelLogoutLockedAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	lr := newLogoutReceiver(t, 0)
	rp := b.rp(t, Client{ID: "sys-a", Logout: LogoutChannels{BackchannelURI: lr.ts.URL + "/bc"}})
	c := b.active(t, "蒋七", "13912341601", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = 'locked' WHERE id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Fatalf("/api/v1/me of a locked account: %d, want 401", r.Status)
	}
	deliver(t, b.svc, 1)
	_, got := lr.received()
	if cl := rp.logoutClaims(got[0]); cl["sub"] != rp.verify(tok).Subject {
		t.Errorf("sub = %v", cl["sub"])
	}
}
