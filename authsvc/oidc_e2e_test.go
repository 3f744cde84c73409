package authsvc

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/browsertest"
	"github.com/idfusion/idfusion/internal/pii"
)

// businessSystem is a relying party as a department writes one, served
// over HTTPS for the browser: a home page with 使用统一身份认证登录,
// /login that starts the code flow (PKCE S256, state, nonce), and
// /callback that exchanges the code, verifies the ID token and shows the
// userinfo name. It records what its callback saw.
type businessSystem struct {
	ts       *httptest.Server
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config

	mu        sync.Mutex
	flows     map[string][2]string // state → nonce, verifier
	callbacks int
	errs      []string
	subject   string
}

// businessSystem starts a business system (示例业务系统) asking for profile
// and the extra scopes.
func (b *testBundle) businessSystem(t *testing.T, extra ...string) *businessSystem {
	t.Helper()
	bs := &businessSystem{flows: map[string][2]string{}}
	mux := http.NewServeMux()
	bs.ts = httptest.NewUnstartedServer(mux)
	bs.ts.StartTLS()
	t.Cleanup(bs.ts.Close)
	scopes := append([]string{"profile"}, extra...)
	secret, err := RegisterClient(context.Background(), b.pool, Client{ID: "biz", Name: "示例业务系统", RedirectURIs: []string{bs.ts.URL + "/callback"}, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	bs.ctx = gooidc.ClientContext(context.Background(), b.ts.Client())
	if bs.provider, err = gooidc.NewProvider(bs.ctx, b.ts.URL+"/oidc"); err != nil {
		t.Fatal(err)
	}
	bs.conf = oauth2.Config{ClientID: "biz", ClientSecret: secret, Endpoint: bs.provider.Endpoint(), RedirectURL: bs.ts.URL + "/callback",
		Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		bs.page(w, http.StatusOK, `<h1>示例业务系统</h1><a href="/login" id="sso">使用统一身份认证登录</a>`, nil)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		bs.mu.Lock()
		bs.flows[state] = [2]string{nonce, verifier}
		bs.mu.Unlock()
		http.Redirect(w, r, bs.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /callback", bs.callback)
	return bs
}

func (bs *businessSystem) callback(w http.ResponseWriter, r *http.Request) {
	bs.mu.Lock()
	bs.callbacks++
	flow, ok := bs.flows[r.URL.Query().Get("state")]
	delete(bs.flows, r.URL.Query().Get("state"))
	bs.mu.Unlock()
	fail := func(what string, err error) {
		bs.mu.Lock()
		bs.errs = append(bs.errs, what+": "+err.Error())
		bs.mu.Unlock()
		bs.page(w, http.StatusBadGateway, `<p id="error">登录失败</p>`, nil)
	}
	if !ok {
		fail("state", errors.New("unknown state"))
		return
	}
	if e := r.URL.Query().Get("error"); e != "" {
		bs.mu.Lock()
		bs.errs = append(bs.errs, "provider: "+e)
		bs.mu.Unlock()
		bs.page(w, http.StatusOK, `<p id="error">{{.}}</p>`, e)
		return
	}
	tok, err := bs.conf.Exchange(bs.ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(flow[1]))
	if err != nil {
		fail("exchange", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := bs.provider.Verifier(&gooidc.Config{ClientID: bs.conf.ClientID}).Verify(bs.ctx, raw)
	if err != nil {
		fail("verify", err)
		return
	}
	if id.Nonce != flow[0] {
		fail("nonce", errors.New("nonce mismatch"))
		return
	}
	ui, err := bs.provider.UserInfo(bs.ctx, oauth2.StaticTokenSource(tok))
	var claims struct {
		Name     string `json:"name"`
		IDHint   string `json:"id_hint"`
		IDNumber string `json:"id_number"`
	}
	if err == nil {
		err = ui.Claims(&claims)
	}
	if err != nil {
		fail("userinfo", err)
		return
	}
	bs.mu.Lock()
	bs.subject = id.Subject
	bs.mu.Unlock()
	bs.page(w, http.StatusOK, `<h1 id="signed-in">已通过统一身份认证登录</h1><p id="name">{{.Name}}</p><p id="id-hint">{{.IDHint}}</p>{{with .IDNumber}}<p id="id-number">{{.}}</p>{{end}}`, claims)
}

func (bs *businessSystem) page(w http.ResponseWriter, status int, body string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	template.Must(template.New("").Parse(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">`+
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>示例业务系统</title></head><body>`+body+`</body></html>`)).Execute(w, data)
}

// ssoFrom opens the business system's home page and presses
// 使用统一身份认证登录: the tab is at the unified login.
func (p *tab) ssoFrom(bs *businessSystem) {
	p.t.Helper()
	ctx, cancel := p.step()
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(bs.ts.URL+"/")); err != nil {
		p.t.Fatalf("open the business system: %v", err)
	}
	cancel()
	p.submit("#sso", http.StatusOK, "/login")
}

func (bs *businessSystem) seen() (callbacks int, errs []string, subject string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return bs.callbacks, append([]string(nil), bs.errs...), bs.subject
}

// TestBrowserOIDCRoundTrip: a citizen on a business system presses
// 使用统一身份认证登录, lands on the unified login, logs in to a fused
// (pending) account with an SMS code, goes through ① ② ③ (the face in
// the simulator), and is back at the business system, which verified the
// ID token and shows the name. Until step ③ the authorization request is
// not done, no code exists, and the business system's callback is not hit.
func TestBrowserOIDCRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	bs := b.businessSystem(t)
	c := b.fused(t, "李四", "13800138000")

	p := newTab(t, b)
	p.ssoFrom(bs)
	if got := eval[string](p, `new URL(location.href).searchParams.get('return_to') || ''`); !strings.HasPrefix(got, "/oidc/resume?id=") {
		t.Fatalf("login page return_to = %q, want the authorization request", got)
	}
	p.smsLoginHere(c)

	// ① and ②.
	p.fill("#address", "海口市龙华区滨海大道1号")
	p.submit("#next", http.StatusOK, "/complete/password")
	p.fill("#password", "K9#vTq2!mZ")
	p.fill("#confirm", "K9#vTq2!mZ")
	p.submit("#next", http.StatusOK, "/complete/face")

	// Before ③: the request is bound to this browser, not done, no code;
	// the business system has heard nothing.
	var done, code bool
	if err := b.pool.QueryRow(context.Background(), `SELECT done, code_hash IS NOT NULL FROM oidc_auth_request WHERE client_id = 'biz'`).Scan(&done, &code); err != nil {
		t.Fatal(err)
	}
	if done || code {
		t.Fatalf("before step ③: request done=%v, code issued=%v; want neither", done, code)
	}
	if n, _, _ := bs.seen(); n != 0 {
		t.Fatalf("the business system's callback was hit %d times before step ③", n)
	}

	// ③: the simulator approves; the face page moves on to 完成 by itself.
	sim := p.newTab("simulator")
	sim.open(p.waitForString("the simulator link", `document.querySelector('#simulator')?.getAttribute('href') || ''`), http.StatusOK, "")
	sim.fill("#id_number", c.IDNumber)
	sim.submit("#approve", http.StatusOK, "")
	p.waitFor("the face page refreshed to 完成", `location.pathname === '/complete/done' && document.querySelector('#done') !== null`)
	if got := p.text("#continue"); got != "继续" {
		t.Errorf("完成 page button %q, want 继续 (back to the business system)", got)
	}

	// 继续: back at the business system, signed in.
	p.submit("#continue", http.StatusOK, "/callback")
	if got := p.text("#signed-in"); got != "已通过统一身份认证登录" {
		t.Errorf("business system heading %q", got)
	}
	if got := p.text("#name"); got != "李四" {
		t.Errorf("business system shows name %q, want 李四", got)
	}
	if got, want := p.text("#id-hint"), pii.MaskID(c.IDNumber); got != want {
		t.Errorf("business system shows ID hint %q, want %q", got, want)
	}
	p.noClearPII(c)
	n, errs, sub := bs.seen()
	if n != 1 || len(errs) > 0 {
		t.Errorf("business system callbacks = %d, errors %q; want one, clean", n, errs)
	}
	if want := b.svc.subject(c.id); sub != want {
		t.Errorf("ID token sub = %q, want %q", sub, want)
	}
	if err := b.pool.QueryRow(context.Background(), `SELECT done, code_hash IS NOT NULL FROM oidc_auth_request WHERE client_id = 'biz'`).Scan(&done, &code); err != nil {
		t.Fatal(err)
	}
	if !done || !code {
		t.Errorf("after step ③: request done=%v, code issued=%v; want both", done, code)
	}
	if st := b.accountState(t, c.IDNumber); st.Status != "active" {
		t.Errorf("account status %q, want active", st.Status)
	}
	if errs := browsertest.ConsoleErrors(p.ctx); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
