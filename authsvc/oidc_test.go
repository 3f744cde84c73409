package authsvc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/pii"
)

const rpRedirect = "https://rp.example/callback"

// relyingParty is a business system as the tests play it: go-oidc and
// x/oauth2 against the service, over its HTTPS.
type relyingParty struct {
	t        *testing.T
	b        *testBundle
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
}

// rp registers a client and discovers the provider.
func (b *testBundle) rp(t *testing.T, c Client) *relyingParty {
	t.Helper()
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{rpRedirect}
	}
	secret, err := RegisterClient(context.Background(), b.pool, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := gooidc.ClientContext(context.Background(), b.ts.Client())
	p, err := gooidc.NewProvider(ctx, b.ts.URL+"/oidc")
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &relyingParty{t: t, b: b, ctx: ctx, provider: p, conf: oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: ep,
		RedirectURL: c.RedirectURIs[0], Scopes: append([]string{gooidc.ScopeOpenID}, c.Scopes...)}}
}

// oidcSetup is a service on the real clock (syncClock) with a relying
// party for c.
func oidcSetup(t *testing.T, c Client, mod ...func(*Config)) (*testBundle, *relyingParty) {
	t.Helper()
	b := setup(t, mod...)
	b.syncClock()
	return b, b.rp(t, c)
}

// syncClock sets the service's clock to the real one: the library stamps
// ID tokens with the real time, go-oidc checks them against it.
func (b *testBundle) syncClock() {
	b.clock.mu.Lock()
	b.clock.now = time.Now()
	b.clock.mu.Unlock()
}

// follow follows the redirects of the service from u (absolute or a
// path) and returns the last URL reached: a page of the service (status
// 200 or an error) or the first URL outside it.
func (br *browser) follow(u string) (*url.URL, int) {
	br.t.Helper()
	base := mustURL(br.b.ts.URL)
	cur := base.ResolveReference(mustURL(u))
	for range 20 {
		if cur.Host != base.Host {
			return cur, 0
		}
		resp, err := br.hc.Get(cur.String())
		if err != nil {
			br.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return cur, resp.StatusCode
		}
		loc, err := resp.Location()
		if err != nil {
			br.t.Fatal(err)
		}
		cur = loc
	}
	br.t.Fatal("too many redirects")
	return nil, 0
}

// smsLoginTo logs in with a code, going on to returnTo.
func (br *browser) smsLoginTo(c citizen, returnTo string) response {
	br.t.Helper()
	if r := br.postSolving("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone}); r.Status != http.StatusAccepted {
		br.t.Fatalf("send code: %d %s", r.Status, r.Raw)
	}
	r := br.post("/api/v1/login/sms", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "code": br.b.lastCode(br.t), "return_to": returnTo})
	if r.Status != http.StatusOK {
		br.t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	return r
}

// start begins an authorization with PKCE S256 and follows it to the
// login page; it returns the return_to the login carries.
func (rp *relyingParty) start(br *browser, opts ...oauth2.AuthCodeOption) (returnTo, verifier string) {
	rp.t.Helper()
	verifier = oauth2.GenerateVerifier()
	u, status := br.follow(rp.conf.AuthCodeURL("st4te", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n0nce")}, opts...)...))
	if u.Path != "/login" || status != http.StatusOK {
		rp.t.Fatalf("authorize led to %s (%d), want the login page", u, status)
	}
	returnTo = u.Query().Get("return_to")
	if !strings.HasPrefix(returnTo, "/oidc/resume?id=") {
		rp.t.Fatalf("return_to = %q", returnTo)
	}
	return returnTo, verifier
}

// code follows u to the relying party and returns the code it gets.
func (rp *relyingParty) code(br *browser, u string) string {
	rp.t.Helper()
	got, status := br.follow(u)
	if got.Host != "rp.example" {
		rp.t.Fatalf("%s led to %s (%d), want the relying party", u, got, status)
	}
	q := got.Query()
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		rp.t.Fatalf("callback %s: want state and code", got)
	}
	return q.Get("code")
}

// again authorizes a browser that is signed in already: no login, the
// code comes straight back (single sign-on).
func (rp *relyingParty) again(br *browser) (code, verifier string) {
	rp.t.Helper()
	verifier = oauth2.GenerateVerifier()
	return rp.code(br, rp.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n0nce"))), verifier
}

// refused follows an authorization to the relying party and returns the
// error it gets.
func (rp *relyingParty) refused(br *browser, opts ...oauth2.AuthCodeOption) string {
	rp.t.Helper()
	got, status := br.follow(rp.conf.AuthCodeURL("st4te", opts...))
	if got.Host != "rp.example" || got.Query().Get("code") != "" {
		rp.t.Fatalf("led to %s (%d), want an error at the relying party", got, status)
	}
	return got.Query().Get("error")
}

func (rp *relyingParty) exchange(code, verifier string) (*oauth2.Token, error) {
	return rp.conf.Exchange(rp.ctx, code, oauth2.VerifierOption(verifier))
}

// verify checks the ID token against the JWKS, the audience and the nonce.
func (rp *relyingParty) verify(tok *oauth2.Token) *gooidc.IDToken {
	rp.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.provider.Verifier(&gooidc.Config{ClientID: rp.conf.ClientID}).Verify(rp.ctx, raw)
	if err != nil {
		rp.t.Fatalf("verify ID token: %v", err)
	}
	if id.Nonce != "n0nce" {
		rp.t.Errorf("nonce = %q", id.Nonce)
	}
	return id
}

func (rp *relyingParty) userinfo(tok *oauth2.Token) (map[string]any, error) {
	ui, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, ui.Claims(&claims)
}

// signedIn runs the whole flow for an active citizen, approving the
// consent page when the client asks for scopes that need it.
func (rp *relyingParty) signedIn(br *browser, c citizen) (*oauth2.Token, string) {
	rp.t.Helper()
	returnTo, verifier := rp.start(br)
	if r := br.smsLoginTo(c, returnTo); r.str("next") != returnTo {
		rp.t.Fatalf("login next = %q, want %q", r.str("next"), returnTo)
	}
	if len(sensitive(rp.conf.Scopes)) > 0 {
		returnTo = rp.consent(br, returnTo, "approve")
	}
	code := rp.code(br, returnTo)
	tok, err := rp.exchange(code, verifier)
	if err != nil {
		rp.t.Fatalf("exchange: %v", err)
	}
	return tok, code
}

func TestOIDCActiveAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	c := b.active(t, "王小明", "13912349071", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, code := rp.signedIn(br, c)

	id := rp.verify(tok)
	if id.Subject != b.svc.subject(c.id) {
		t.Errorf("sub = %q, want %q", id.Subject, b.svc.subject(c.id))
	}
	var idClaims map[string]any
	if err := id.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	// The profile scope's name is in the ID token too (generic clients
	// read it there); the ID number and its hint go through userinfo only.
	if idClaims["name"] != "王小明" {
		t.Errorf("ID token name = %v, want 王小明", idClaims["name"])
	}
	for _, k := range []string{"id_hint", "id_number", "phone_number"} {
		if _, ok := idClaims[k]; ok {
			t.Errorf("ID token carries %q: personal claims go through userinfo only", k)
		}
	}
	claims, err := rp.userinfo(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"sub": id.Subject, "name": "王小明", "id_hint": pii.MaskID(c.IDNumber), "account_type": "natural"}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("userinfo mismatch (-want +got):\n%s", diff)
	}

	// The code again: refused, and the tokens of its first use revoked.
	if _, err := rp.exchange(code, ""); err == nil {
		t.Error("second exchange of a code succeeded")
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("userinfo with the tokens of a reused code succeeded")
	}
}

// A pending account gets through the completion first; the relying party
// gets its code after the last step, and not before.
func TestOIDCPendingAccountCompletesFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "spa", Public: true, Scopes: []string{ScopeIDCard}})
	c := b.fused(t, "李四", "13800138000")
	br := b.browser(t)
	returnTo, verifier := rp.start(br)
	if r := br.smsLoginTo(c, returnTo); r.str("next") != "/complete/info" {
		t.Fatalf("login next = %q, want the first step", r.str("next"))
	}
	if u, _ := br.follow(returnTo); u.Path != "/complete/info" {
		t.Fatalf("resume before completion led to %s, want the first step", u)
	}
	br.completeTo(c, "")
	var sessReturn string
	if err := b.pool.QueryRow(context.Background(), `SELECT return_to FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`, c.id).Scan(&sessReturn); err != nil {
		t.Fatal(err)
	}
	if sessReturn != returnTo {
		t.Fatalf("session return_to = %q, want %q", sessReturn, returnTo)
	}
	code := rp.code(br, rp.consent(br, returnTo, "approve"))
	tok, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rp.verify(tok)
	claims, err := rp.userinfo(tok)
	if err != nil {
		t.Fatal(err)
	}
	if claims["id_number"] != c.IDNumber || claims["name"] != "李四" {
		t.Errorf("userinfo = %v, want the ID number (scope %s)", claims, ScopeIDCard)
	}
	var n int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_audit WHERE event = 'oidc_release_id_number' AND account_id = $1 AND detail = 'spa'`, c.id).Scan(&n); err != nil || n != 1 {
		t.Errorf("audited releases = %d (%v), want 1", n, err)
	}
}

func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	public := b.rp(t, Client{ID: "spa", Public: true})
	conf := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	br := b.browser(t)

	t.Run("unregistered redirect URI", func(t *testing.T) {
		rp := *conf
		rp.t, rp.conf.RedirectURL = t, "https://evil.example/callback"
		u, status := br.follow(rp.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if u.Host != mustURL(b.ts.URL).Host || status != http.StatusBadRequest {
			t.Errorf("led to %s (%d), want a 400 at the provider", u, status)
		}
	})
	for _, tc := range []struct {
		name string
		rp   *relyingParty
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"public client without PKCE", public, nil, "invalid_request"},
		{"confidential client without PKCE", conf, nil, "invalid_request"},
		{"public client with PKCE plain", public, []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"), oauth2.SetAuthURLParam("code_challenge_method", "plain")}, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := *tc.rp
			rp.t = t
			if got := rp.refused(br, tc.opts...); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}

	c := b.active(t, "赵六", "13700137000", "Xy7#pQ2!wL")
	login := b.browser(t)
	rp := *conf
	rp.t = t
	returnTo, verifier := rp.start(login)
	login.smsLoginTo(c, returnTo)
	code := rp.code(login, returnTo)

	wrong := rp
	wrong.conf.ClientSecret = "not-the-secret"
	if _, err := wrong.exchange(code, verifier); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v, want invalid_client", err)
	}
	if _, err := rp.exchange(code, oauth2.GenerateVerifier()); err == nil {
		t.Error("wrong PKCE verifier accepted")
	}
	// Neither refusal spent the code.
	if _, err := rp.exchange(code, verifier); err != nil {
		t.Errorf("exchange after refusals: %v", err)
	}

	code, verifier = rp.again(login)
	b.clock.Advance(2 * time.Minute)
	if _, err := rp.exchange(code, verifier); err == nil {
		t.Error("expired code accepted")
	}
}

// A disabled account: its tokens stop working, and no request completes.
func TestOIDCDisabledAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"offline_access"}})
	c := b.active(t, "钱七", "13600136000", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	// Refresh works and rotates the refresh token.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := rp.conf.TokenSource(rp.ctx, &old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Error("refresh token not rotated")
	}
	b.clock.Advance(b.svc.cfg.OIDCRefreshGrace)
	if _, err := rp.conf.TokenSource(rp.ctx, &old).Token(); err == nil {
		t.Error("a rotated refresh token was accepted again after the grace window")
	}

	// The reuse above revoked that grant: a second one, live until the
	// account is disabled, shows that disabling alone ends it.
	code, verifier := rp.again(br)
	second, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatalf("second grant: %v", err)
	}
	if _, err := rp.userinfo(second); err != nil || second.RefreshToken == "" {
		t.Fatalf("second grant before the account is disabled: userinfo %v, refresh token %q", err, second.RefreshToken)
	}
	authURL := rp.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = 'disabled' WHERE id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.userinfo(second); err == nil {
		t.Error("userinfo for a disabled account succeeded")
	}
	stale := *second
	stale.Expiry = time.Now().Add(-time.Minute)
	if _, err := rp.conf.TokenSource(rp.ctx, &stale).Token(); err == nil {
		t.Error("refresh for a disabled account succeeded")
	}
	if u, _ := br.follow(authURL); u.Host == "rp.example" || u.Path != "/login" {
		t.Errorf("authorization for a disabled account led to %s, want the login", u)
	}
}

// A token signed before a key rotation verifies after it; new tokens use
// the new key.
func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal"})
	c := b.active(t, "孙八", "13500135000", "Xy7#pQ2!wL")
	br := b.browser(t)
	before, _ := rp.signedIn(br, c)
	if err := b.svc.RotateSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, verifier := rp.again(br)
	after, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	kid := func(tok *oauth2.Token) string {
		raw, _ := tok.Extra("id_token").(string)
		h, _, _ := strings.Cut(raw, ".")
		return h
	}
	if kid(before) == kid(after) {
		t.Error("the same key signed before and after the rotation")
	}
	// A relying party that fetches the JWKS only now verifies both.
	fresh := b.rp(t, Client{ID: "other"})
	fresh.conf.ClientID = "portal"
	fresh.verify(before)
	fresh.verify(after)
}
