package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// genericRP is a business system behind a generic OpenID Connect relying
// party in its default configuration, as oauth2-proxy v7 ships: scopes
// "openid email profile", no PKCE, client_secret_basic, and an "email"
// claim in the ID token that is verified (email_verified) or the callback
// fails with oauth2-proxy's own message. It signs out through the
// provider's end_session endpoint with id_token_hint.
type genericRP struct {
	ts       *httptest.Server
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
	endURL   string

	mu      sync.Mutex
	nonces  map[string]string // state → nonce
	idToken string
	tok     *oauth2.Token
	errs    []string
}

func (b *testBundle) genericRP(t *testing.T, c Client) *genericRP {
	t.Helper()
	rp := &genericRP{nonces: map[string]string{}}
	mux := http.NewServeMux()
	rp.ts = httptest.NewUnstartedServer(mux)
	rp.ts.StartTLS()
	t.Cleanup(rp.ts.Close)
	c.RedirectURIs = []string{rp.ts.URL + "/oauth2/callback"}
	c.PostLogoutRedirectURIs = []string{rp.ts.URL + "/signed-out"}
	secret, err := RegisterClient(context.Background(), b.pool, c)
	if err != nil {
		t.Fatal(err)
	}
	rp.ctx = gooidc.ClientContext(context.Background(), b.ts.Client())
	if rp.provider, err = gooidc.NewProvider(rp.ctx, b.ts.URL+"/oidc"); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := rp.provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	rp.endURL = meta.EndSession
	rp.conf = oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: rp.ts.URL + "/oauth2/callback",
		Endpoint: rp.provider.Endpoint(), Scopes: []string{"openid", "email", "profile"}}
	rp.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><body><a id="sign-in" href="/oauth2/start">Sign in with OpenID Connect</a></body></html>`)
	})
	mux.HandleFunc("GET /oauth2/start", func(w http.ResponseWriter, r *http.Request) {
		state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.nonces[state] = nonce
		rp.mu.Unlock()
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, gooidc.Nonce(nonce)), http.StatusFound)
	})
	mux.HandleFunc("GET /oauth2/callback", func(w http.ResponseWriter, r *http.Request) {
		email, name, err := rp.callback(r)
		if err != nil {
			rp.mu.Lock()
			rp.errs = append(rp.errs, err.Error())
			rp.mu.Unlock()
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><body><p id="email">%s</p><p id="name">%s</p><a id="sign-out" href="/oauth2/sign_out">Sign out</a></body></html>`, email, name)
	})
	mux.HandleFunc("GET /oauth2/sign_out", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		hint := rp.idToken
		rp.mu.Unlock()
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rp.ts.URL + "/signed-out"}}
		http.Redirect(w, r, rp.endURL+"?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><body><p id="signed-out">Signed out</p></body></html>`)
	})
	return rp
}

// idClaims are the ID token claims oauth2-proxy reads.
type genericClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	IDNumber      string `json:"id_number"`
	Phone         string `json:"phone_number"`
}

func (rp *genericRP) verify(tok *oauth2.Token, nonce string) (genericClaims, string, error) {
	var c genericClaims
	raw, _ := tok.Extra("id_token").(string)
	id, err := rp.provider.Verifier(&gooidc.Config{ClientID: rp.conf.ClientID}).Verify(rp.ctx, raw)
	if err != nil {
		return c, "", err
	}
	if nonce != "" && id.Nonce != nonce {
		return c, "", errors.New("nonce mismatch")
	}
	if err := id.Claims(&c); err != nil {
		return c, "", err
	}
	if c.Email == "" {
		return c, "", errors.New("neither the id_token nor the profileURL set an email")
	}
	if c.EmailVerified == nil || !*c.EmailVerified {
		return c, "", fmt.Errorf("email in id_token (%s) isn't verified", c.Email)
	}
	return c, raw, nil
}

func (rp *genericRP) callback(r *http.Request) (email, name string, err error) {
	if e := r.URL.Query().Get("error"); e != "" {
		return "", "", fmt.Errorf("provider: %s: %s", e, r.URL.Query().Get("error_description"))
	}
	rp.mu.Lock()
	nonce, ok := rp.nonces[r.URL.Query().Get("state")]
	rp.mu.Unlock()
	if !ok {
		return "", "", errors.New("unknown state")
	}
	tok, err := rp.conf.Exchange(rp.ctx, r.URL.Query().Get("code"))
	if err != nil {
		return "", "", err
	}
	c, raw, err := rp.verify(tok, nonce)
	if err != nil {
		return "", "", err
	}
	rp.mu.Lock()
	rp.idToken, rp.tok = raw, tok
	rp.mu.Unlock()
	return c.Email, c.Name, nil
}

// TestGenericRelyingParty: a business system behind a generic OpenID
// Connect client in its default configuration (oauth2-proxy's: scopes
// openid email profile, no PKCE, the email read from the ID token) signs a
// citizen in, in headless Chromium, once its registration says what stands
// in for the email and that it may go without PKCE; the ID token carries
// the name and the verified stand-in, never the ID number or phone; the
// session is refreshed; signing out at the business system ends the
// citizen's session at the provider too.
func TestGenericRelyingParty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	c := b.active(t, "孙八", "13712345678", "Xy7#pQ2!wL")

	// Registered as bought software comes: confidential, no PKCE, and
	// an email it cannot do without.
	rp := b.genericRP(t, Client{ID: "proxy", Name: "业务系统（通用客户端）", Scopes: []string{"profile", "email", "offline_access"},
		PKCEOptional: true, EmailClaim: "sub"})
	p := newTab(t, b)
	ctx, cancel := p.step()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(rp.ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	cancel()
	p.submit("#sign-in", http.StatusOK, "/login")
	p.smsLoginTo(c, "") // the answer moves on to the business system by itself
	p.waitFor("back at the business system", `location.pathname === '/oauth2/callback' && document.querySelector('#email') !== null`)
	if rp.errs != nil {
		t.Fatalf("the relying party failed: %q", rp.errs)
	}
	sub := b.svc.subject(c.id)
	if got := p.text("#email"); got != sub {
		t.Errorf("the business system's user is %q, want the subject %q (the email stand-in)", got, sub)
	}
	if got := p.text("#name"); got != "孙八" {
		t.Errorf("the business system's name is %q, want 孙八 from the ID token", got)
	}
	claims, _, err := rp.verify(rp.tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if claims.IDNumber != "" || claims.Phone != "" {
		t.Errorf("ID token released %q / %q beyond the scopes", claims.IDNumber, claims.Phone)
	}

	// Refresh: new tokens, the ID token still names the user.
	old := *rp.tok
	old.Expiry = old.Expiry.Add(-24 * 3600e9)
	fresh, err := rp.conf.TokenSource(rp.ctx, &old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if claims, _, err := rp.verify(fresh, ""); err != nil || claims.Email != sub || claims.Name != "孙八" {
		t.Errorf("refreshed ID token: %+v, %v", claims, err)
	}

	// Sign out at the business system: back at its page, and the
	// provider's session is over (its login page asks again).
	p.submit("#sign-out", http.StatusOK, "/signed-out")
	p.open("/center", http.StatusOK, "/login")
}

// TestGenericClientDefaults: what a generic client meets before its
// registration says anything: unknown scopes are ignored (not refused),
// PKCE is still required of a confidential client, with a description
// that says how to fix it; a public client cannot be registered without
// PKCE, nor an email stand-in the provider does not know.
func TestGenericClientDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	ctx := context.Background()
	for _, bad := range []Client{
		{ID: "spa", RedirectURIs: []string{"https://rp.example/cb"}, Public: true, PKCEOptional: true},
		{ID: "odd", RedirectURIs: []string{"https://rp.example/cb"}, EmailClaim: "id_number"},
	} {
		if _, err := RegisterClient(ctx, b.pool, bad); err == nil {
			t.Errorf("RegisterClient(%+v) succeeded", bad)
		}
	}
	rp := b.genericRP(t, Client{ID: "strict", Scopes: []string{"profile"}})
	resp, err := b.ts.Client().Get(rp.conf.AuthCodeURL("st4te"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := resp.Request.URL.Query()
	if resp.Request.URL.Host != mustURL(rp.ts.URL).Host || q.Get("error") != "invalid_request" || !containsAll(q.Get("error_description"), "PKCE", "code_challenge_method=S256", "PKCE optional") {
		t.Errorf("without PKCE: led to %s; want invalid_request saying how to fix it", resp.Request.URL)
	}

	// A public client never goes without PKCE, even if its row says so
	// (set by hand: RegisterClient refuses it).
	spa := b.genericRP(t, Client{ID: "spa2", Public: true})
	if _, err := b.pool.Exec(ctx, `UPDATE oidc_client SET pkce_optional = true WHERE id = 'spa2'`); err != nil {
		t.Fatal(err)
	}
	resp, err = b.ts.Client().Get(spa.conf.AuthCodeURL("st4te"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if q := resp.Request.URL.Query(); q.Get("error") != "invalid_request" {
		t.Errorf("public client without PKCE: led to %s, want invalid_request", resp.Request.URL)
	}

	// With PKCE, "email" (not registered) is ignored: the request goes on
	// to the login, and the grant holds the registered scopes only.
	verifier := oauth2.GenerateVerifier()
	resp, err = b.ts.Client().Get(rp.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if u := resp.Request.URL; u.Host != mustURL(b.ts.URL).Host || u.Query().Get("error") != "" {
		t.Fatalf("openid email profile from a client registered for profile led to %s, want on to the login", u)
	}
	var scopes []string
	if err := b.pool.QueryRow(ctx, `SELECT scopes FROM oidc_auth_request WHERE client_id = 'strict'`).Scan(&scopes); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(scopes) != "[openid profile]" {
		t.Errorf("request scopes %v, want [openid profile]", scopes)
	}
	// A registration without PKCE is on record.
	if _, err := RegisterClient(ctx, b.pool, Client{ID: "bought", RedirectURIs: []string{"https://rp.example/cb"}, PKCEOptional: true}); err != nil {
		t.Fatal(err)
	}
	var detail string
	if err := b.pool.QueryRow(ctx, `SELECT detail FROM auth_audit WHERE event = 'oidc_client_register' AND subject = 'bought'`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !containsAll(detail, "pkce_optional=true", "public=false") {
		t.Errorf("registration audited as %q", detail)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestEmailStandInNeedsTheScope: a client registered with an email
// stand-in gets it only for the "email" scope: without it, neither the ID
// token nor userinfo carries an email.
func TestEmailStandInNeedsTheScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}, EmailClaim: "sub"})
	c := b.active(t, "钱七", "13712340077", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), c)
	var idClaims map[string]any
	if err := rp.verify(tok).Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	info, err := rp.userinfo(tok)
	if err != nil {
		t.Fatal(err)
	}
	if idClaims["name"] != "钱七" || idClaims["email"] != nil || info["email"] != nil {
		t.Errorf("ID token %v, userinfo %v: want the name and no email without the email scope", idClaims, info)
	}
}

// TestPreferredUsername: an account with a username (a registered one)
// has it as preferred_username in the ID token and userinfo, with the
// profile scope; a fused account without one has none.
func TestPreferredUsername(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	named := b.active(t, "钱八", "13712340078", "Xy7#pQ2!wL")
	b.setUsername(t, named.id, "Qian_Ba")
	unnamed := b.active(t, "钱九", "13712340079", "Xy7#pQ2!wL")
	for _, tt := range []struct {
		c    citizen
		want any
	}{{named, "Qian_Ba"}, {unnamed, nil}} {
		tok, _ := rp.signedIn(b.browser(t), tt.c)
		var idClaims map[string]any
		if err := rp.verify(tok).Claims(&idClaims); err != nil {
			t.Fatal(err)
		}
		info, err := rp.userinfo(tok)
		if err != nil {
			t.Fatal(err)
		}
		if idClaims["preferred_username"] != tt.want || info["preferred_username"] != tt.want {
			t.Errorf("%s: ID token preferred_username %v, userinfo %v; want %v", tt.c.Name, idClaims["preferred_username"], info["preferred_username"], tt.want)
		}
	}
}

// TestAccountTypeClaims: the ID token and userinfo say which kind of
// account signed in, whatever the scopes; the enterprise claims of a
// natural account are never set.
func TestAccountTypeClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	for _, scopes := range [][]string{nil, {"profile", ScopeEnterprise}} {
		rp := b.rp(t, Client{ID: fmt.Sprintf("portal%d", len(scopes)), Scopes: scopes})
		c := b.active(t, "钱十", fmt.Sprintf("137123401%02d", len(scopes)), "Xy7#pQ2!wL")
		tok, _ := rp.signedIn(b.browser(t), c)
		rp.wantClaims(tok, map[string]any{"account_type": "natural", "credit_code": nil, "enterprise_name": nil, "legal_type": nil})
	}
}

// TestLegalAccountClaims: a legal account signed in through the 法人登录
// tab is account_type legal; its credit code, name and type go to a
// business system registered for the enterprise scope, and only to it.
func TestLegalAccountClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	for i, scopes := range [][]string{{"profile"}, {"profile", ScopeEnterprise}} {
		rp := b.rp(t, Client{ID: fmt.Sprintf("etax%d", i), Scopes: scopes})
		e := b.activeLegal(t, "海南椰风科技有限公司", fmt.Sprintf("139075500%02d", i), "Xy7#pQ2!wL")
		tok := rp.legalSignedIn(b.browser(t), e, "Xy7#pQ2!wL")
		want := map[string]any{"account_type": "legal", "credit_code": nil, "enterprise_name": nil, "legal_type": nil}
		if len(scopes) == 2 {
			want = map[string]any{"account_type": "legal", "credit_code": e.CreditCode, "enterprise_name": e.Name, "legal_type": "enterprise"}
		}
		rp.wantClaims(tok, want)
	}
}

// legalSignedIn signs a legal account in to the business system through
// the 法人登录 tab's password login.
func (rp *relyingParty) legalSignedIn(br *browser, e enterprise, password string) *oauth2.Token {
	rp.t.Helper()
	returnTo, verifier := rp.start(br)
	r := br.post("/api/v1/login/legal/password", map[string]string{"credit_code": e.CreditCode, "password": password, "return_to": returnTo})
	if r.Status != http.StatusOK || r.str("next") != returnTo {
		rp.t.Fatalf("legal login: %d %s", r.Status, r.Raw)
	}
	tok, err := rp.exchange(rp.code(br, returnTo), verifier)
	if err != nil {
		rp.t.Fatal(err)
	}
	return tok
}

// wantClaims checks claims of the ID token and of userinfo alike (nil: the
// claim is absent).
func (rp *relyingParty) wantClaims(tok *oauth2.Token, want map[string]any) {
	rp.t.Helper()
	var idClaims map[string]any
	if err := rp.verify(tok).Claims(&idClaims); err != nil {
		rp.t.Fatal(err)
	}
	info, err := rp.userinfo(tok)
	if err != nil {
		rp.t.Fatal(err)
	}
	for what, claims := range map[string]map[string]any{"ID token": idClaims, "userinfo": info} {
		for k, v := range want {
			if claims[k] != v {
				rp.t.Errorf("client %s: %s %s = %v, want %v", rp.conf.ClientID, what, k, claims[k], v)
			}
		}
	}
}
