// Command demorp is a sample business system ("示例业务系统"): a tiny
// OpenID Connect relying party of the unified login, written with
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2 as a department's
// system would be. `make demo` registers it with authsvc and runs it, so
// that a newcomer can press 使用统一身份认证登录 and see the whole round
// trip.
//
// Usage:
//
//	demorp [--addr 127.0.0.1:8090] [--issuer http://127.0.0.1:8080/oidc] [--client-id demo-rp]
//	       [--client-secret SECRET] [--redirect-url http://127.0.0.1:8090/callback]
//
// The secret may come from DEMORP_CLIENT_SECRET instead of the flag (a flag
// shows in the process list).
//
// /login starts the authorization code flow with PKCE S256, a state and a
// nonce, kept in a short-lived HttpOnly cookie; /callback checks the
// state, exchanges the code, verifies the ID token (issuer, audience,
// signature against the JWKS, nonce), calls userinfo (whose sub must be
// the ID token's) and shows the citizen's name and masked ID number.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demorp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demorp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	issuer := fs.String("issuer", "http://127.0.0.1:8080/oidc", "the OpenID provider's issuer URL")
	clientID := fs.String("client-id", "demo-rp", "client_id registered with `authsvc client add`")
	secret := fs.String("client-secret", "", "client secret (default: $DEMORP_CLIENT_SECRET)")
	redirect := fs.String("redirect-url", "http://127.0.0.1:8090/callback", "the registered redirect URI (its path is served)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		*secret = os.Getenv("DEMORP_CLIENT_SECRET")
	}
	if *secret == "" {
		return errors.New("no client secret: pass --client-secret or set DEMORP_CLIENT_SECRET")
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	app, err := newApp(config{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret, RedirectURL: *redirect, Logger: logger})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           app.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("listening", slog.String("url", "http://"+ln.Addr().String()), slog.String("issuer", *issuer))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// config is what the relying party needs.
type config struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	// HTTPClient talks to the provider. Default: http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// app is the relying party. The provider is discovered on first use, not
// at start, so that the demo may start it before the login service.
type app struct {
	cfg      config
	callback string // the path of RedirectURL
	secure   bool   // the flow cookie is Secure when the redirect is https

	mu       sync.Mutex
	provider *oidc.Provider
}

func newApp(cfg config) (*app, error) {
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || u.Host == "" || u.Path == "" {
		return nil, fmt.Errorf("--redirect-url %q: want an absolute URL with a path", cfg.RedirectURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &app{cfg: cfg, callback: u.Path, secure: u.Scheme == "https"}, nil
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET "+a.callback, a.finish)
	return mux
}

func (a *app) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, a.cfg.HTTPClient)
}

// discover returns the provider, discovering it once it answers.
func (a *app) discover(ctx context.Context) (*oidc.Provider, oauth2.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.provider == nil {
		p, err := oidc.NewProvider(a.ctx(ctx), a.cfg.Issuer)
		if err != nil {
			return nil, oauth2.Config{}, err
		}
		a.provider = p
	}
	return a.provider, oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: a.provider.Endpoint(),
		RedirectURL: a.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile"}}, nil
}

// flowCookie keeps the state, nonce and PKCE verifier of one login for
// the few minutes it may take (a first login runs the completion steps).
const (
	flowCookie = "demorp_flow"
	flowTTL    = 15 * time.Minute
)

type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, page{})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	_, conf, err := a.discover(r.Context())
	if err != nil {
		a.fail(w, http.StatusBadGateway, "统一身份认证服务暂时无法访问，请稍后再试。", err)
		return
	}
	f := flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
	v, _ := json.Marshal(f)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: base64.RawURLEncoding.EncodeToString(v), Path: "/", MaxAge: int(flowTTL.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, conf.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), http.StatusSeeOther)
}

// finish is the redirect URI: it checks the answer and shows who logged in.
func (a *app) finish(w http.ResponseWriter, r *http.Request) {
	var f flow
	c, err := r.Cookie(flowCookie)
	if err == nil {
		var v []byte
		if v, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(v, &f)
		}
	}
	// One use: a reload of the callback starts over.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	switch {
	case err != nil || f.State == "":
		a.fail(w, http.StatusBadRequest, "登录已过期或不是从本系统发起的，请重新登录。", err)
		return
	case q.Get("state") != f.State:
		a.fail(w, http.StatusBadRequest, "登录请求校验失败（state 不符），请重新登录。", nil)
		return
	case q.Get("error") != "":
		a.fail(w, http.StatusForbidden, "统一身份认证未完成登录（"+q.Get("error")+"），请重新登录。", nil)
		return
	case q.Get("code") == "":
		a.fail(w, http.StatusBadRequest, "统一身份认证未返回授权码，请重新登录。", nil)
		return
	}
	ctx := a.ctx(r.Context())
	provider, conf, err := a.discover(ctx)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "统一身份认证服务暂时无法访问，请稍后再试。", err)
		return
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		a.fail(w, http.StatusBadGateway, "授权码兑换失败，请重新登录。", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := provider.Verifier(&oidc.Config{ClientID: a.cfg.ClientID}).Verify(ctx, raw)
	if err == nil && id.Nonce != f.Nonce {
		err = errors.New("nonce mismatch")
	}
	if err != nil {
		a.fail(w, http.StatusBadGateway, "身份令牌校验失败，请重新登录。", err)
		return
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	var claims struct {
		Name   string `json:"name"`
		IDHint string `json:"id_hint"`
	}
	if err == nil && ui.Subject != id.Subject {
		// OpenID Connect Core §5.3.2: another subject's answer is not used.
		err = errors.New("userinfo sub differs from the ID token's")
	}
	if err == nil {
		err = ui.Claims(&claims)
	}
	if err != nil {
		a.fail(w, http.StatusBadGateway, "获取用户信息失败，请重新登录。", err)
		return
	}
	a.cfg.Logger.Info("signed_in", slog.String("sub", id.Subject))
	render(w, http.StatusOK, page{SignedIn: true, Name: claims.Name, IDHint: claims.IDHint})
}

// fail shows msg; the error goes to the log only.
func (a *app) fail(w http.ResponseWriter, status int, msg string, err error) {
	if err != nil {
		a.cfg.Logger.Warn("login_failed", slog.String("error", err.Error()))
	}
	render(w, status, page{Error: msg})
}

type page struct {
	SignedIn     bool
	Name, IDHint string
	Error        string
}

func render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, p); err != nil {
		slog.Warn("render", slog.String("error", err.Error()))
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>示例业务系统</title>
<style>
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; background: #f4f6f9; color: #222; }
header { background: #1d5bb8; color: #fff; padding: 14px 16px; font-size: 18px; }
main { padding: 16px; }
.card { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.button { display: block; text-align: center; background: #1d5bb8; color: #fff; padding: 12px; border-radius: 6px; text-decoration: none; font-size: 16px; margin-top: 16px; }
.error { color: #b00020; }
dt { color: #666; margin-top: 8px; }
dd { margin: 2px 0 0; font-size: 17px; }
</style>
</head>
<body>
<header>示例业务系统</header>
<main><div class="card">
{{if .Error}}
<h1>登录失败</h1>
<p class="error" id="error">{{.Error}}</p>
<a class="button" href="/login" id="login">使用统一身份认证登录</a>
{{else if .SignedIn}}
<h1 id="signed-in">已通过统一身份认证登录</h1>
<dl><dt>姓名</dt><dd id="name">{{.Name}}</dd><dt>证件号码</dt><dd id="id-hint">{{.IDHint}}</dd></dl>
<a class="button" href="/">返回首页</a>
{{else}}
<h1>欢迎使用示例业务系统</h1>
<p>本系统已接入统一身份认证平台，请使用统一身份认证账号登录。</p>
<a class="button" href="/login" id="login">使用统一身份认证登录</a>
{{end}}
</div></main>
</body>
</html>
`))
