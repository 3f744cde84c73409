package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// fakeProvider is just enough of an OpenID provider for the relying
// party: discovery, JWKS, a token endpoint that checks the PKCE verifier
// against the challenge of the login, and userinfo.
type fakeProvider struct {
	t         *testing.T
	srv       *httptest.Server
	key       *rsa.PrivateKey
	challenge string // from the authorization request
	nonce     string // what the ID token carries
	uiSub     string // the sub userinfo answers; default: the ID token's
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeProvider{t: t, key: key}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	iss := p.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/keys", "userinfo_endpoint": iss + "/userinfo", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if id != "demo-rp" || secret != "s3cret" || r.PostFormValue("code") != "c0de" ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		writeJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": p.idToken()})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sub := p.uiSub
		if sub == "" {
			sub = "opaque-sub"
		}
		writeJSON(w, map[string]any{"sub": sub, "name": "李四", "id_hint": "4*****8"})
	})
	return p
}

func (p *fakeProvider) idToken() string {
	p.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		p.t.Fatal(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": p.srv.URL, "sub": "opaque-sub", "aud": "demo-rp", "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": p.nonce})
	jws, err := signer.Sign(claims)
	if err != nil {
		p.t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		p.t.Fatal(err)
	}
	return raw
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func newTestApp(t *testing.T, p *fakeProvider) http.Handler {
	t.Helper()
	a, err := newApp(config{Issuer: p.srv.URL, ClientID: "demo-rp", ClientSecret: "s3cret", RedirectURL: "http://127.0.0.1:8090/callback",
		HTTPClient: p.srv.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a.handler()
}

func get(h http.Handler, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHome(t *testing.T) {
	t.Parallel()
	rec := get(newTestApp(t, newFakeProvider(t)), "/")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `href="/login" id="login">使用统一身份认证登录</a>`) {
		t.Errorf("home: %d, want 200 with the login button:\n%s", rec.Code, rec.Body)
	}
}

// login starts a flow and returns the authorization request's query and
// the flow cookie.
func login(t *testing.T, h http.Handler) (url.Values, *http.Cookie) {
	t.Helper()
	rec := get(h, "/login")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("/login: %d, want 303", rec.Code)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != flowCookie || !cookies[0].HttpOnly || cookies[0].MaxAge <= 0 || cookies[0].MaxAge > 15*60 {
		t.Fatalf("/login cookies %v, want one short-lived HttpOnly %s", cookies, flowCookie)
	}
	return loc.Query(), cookies[0]
}

func TestLoginStartsCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	q, _ := login(t, newTestApp(t, newFakeProvider(t)))
	got := map[string]string{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "code_challenge_method"} {
		got[k] = q.Get(k)
	}
	want := map[string]string{"response_type": "code", "client_id": "demo-rp", "redirect_uri": "http://127.0.0.1:8090/callback",
		"scope": "openid profile", "code_challenge_method": "S256"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("authorization request mismatch (-want +got):\n%s", diff)
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 20 {
			t.Errorf("%s = %q, want a random value", k, q.Get(k))
		}
	}
}

func TestCallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		query    func(state string) string
		noCookie bool
		badNonce bool
		status   int
		wantBody string
	}{
		{"signed in", func(s string) string { return "code=c0de&state=" + s }, false, false, http.StatusOK, `<dd id="name">李四</dd><dt>证件号码</dt><dd id="id-hint">4*****8</dd>`},
		{"no flow cookie", func(s string) string { return "code=c0de&state=" + s }, true, false, http.StatusBadRequest, "登录已过期或不是从本系统发起的"},
		{"state mismatch", func(string) string { return "code=c0de&state=other" }, false, false, http.StatusBadRequest, "state 不符"},
		{"provider error", func(s string) string { return "error=access_denied&state=" + s }, false, false, http.StatusForbidden, "统一身份认证未完成登录（access_denied）"},
		{"code refused", func(s string) string { return "code=stale&state=" + s }, false, false, http.StatusBadGateway, "授权码兑换失败"},
		{"nonce mismatch", func(s string) string { return "code=c0de&state=" + s }, false, true, http.StatusBadGateway, "身份令牌校验失败"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newFakeProvider(t)
			h := newTestApp(t, p)
			q, cookie := login(t, h)
			p.challenge, p.nonce = q.Get("code_challenge"), q.Get("nonce")
			if tc.badNonce {
				p.nonce = "replayed"
			}
			var cookies []*http.Cookie
			if !tc.noCookie {
				cookies = append(cookies, cookie)
			}
			rec := get(h, "/callback?"+tc.query(url.QueryEscape(q.Get("state"))), cookies...)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("callback: %d, want %d with %q:\n%s", rec.Code, tc.status, tc.wantBody, rec.Body)
			}
			// The flow cookie is spent whatever the outcome.
			if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != flowCookie || c[0].MaxAge >= 0 {
				t.Errorf("callback cookies %v, want %s deleted", c, flowCookie)
			}
		})
	}
}
