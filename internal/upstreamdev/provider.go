// Package upstreamdev is the development stand-in of an upstream identity
// provider the province trusts (国家政务服务平台, 椰城市民云, 电子社保卡): an
// OpenID provider of its own over real HTTP, with its own sample citizens,
// that the login service signs in with exactly as it would with the real
// one — discovery, the authorization code flow with PKCE S256, state and
// nonce, a client secret, and ID tokens signed with RS256 under a key its
// JWKS publishes.
//
// It asks for no password: its authorization page lists its citizens and
// a developer picks one, as the face simulator plays the face app. Never
// run it in production. Tests make it misbehave the ways an attacker's or
// a broken provider would (Tamper, SignWithForeignKey).
package upstreamdev

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idfusion/idfusion/internal/pii"
)

// Citizen is one person the provider knows, with what it verified of them.
type Citizen struct {
	// Subject is the provider's identifier of the person (the ID token's
	// sub); "" gives one derived from the ID number.
	Subject  string `json:"sub,omitempty"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone,omitempty"`
}

// Client is a relying party registered with the provider.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// Config is how a Provider runs.
type Config struct {
	// Issuer is the provider's issuer URL; its path, if any, prefixes
	// every endpoint.
	Issuer string
	// Title is the provider's name on its page (国家政务服务平台).
	Title    string
	Citizens []Citizen
	Clients  []Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// The claims the provider puts in its ID tokens and userinfo besides the
// standard ones: what the login service's provider configuration maps.
const (
	ClaimName     = "name"
	ClaimIDType   = "id_type"
	ClaimIDNumber = "id_number"
	ClaimPhone    = "phone_number"
	// IDTypeResident is the value of ClaimIDType for a resident identity
	// card (居民身份证), the only kind of ID number it issues.
	IDTypeResident = "id_card"
)

const (
	codeTTL  = time.Minute
	tokenTTL = 5 * time.Minute
)

// Provider is the stand-in provider, an http.Handler.
type Provider struct {
	cfg    Config
	prefix string
	key    *rsa.PrivateKey
	kid    string

	mu      sync.Mutex
	codes   map[string]*grant
	tokens  map[string]*grant // access tokens, for userinfo
	tamper  func(claims map[string]any)
	foreign *rsa.PrivateKey
}

// grant is a code's or an access token's: who, for whom, and what the
// authorization request bound it to.
type grant struct {
	client, redirectURI, challenge, nonce string
	citizen                               Citizen
	expires                               time.Time
}

// New returns a provider with a fresh RSA signing key.
func New(cfg Config) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstreamdev: issuer %q is not an absolute URL without query", cfg.Issuer)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Title == "" {
		cfg.Title = "上游身份提供方"
	}
	for i, c := range cfg.Citizens {
		if c.Name == "" || c.IDNumber == "" {
			return nil, fmt.Errorf("upstreamdev: citizen %d has no name or ID number", i+1)
		}
		if c.Subject == "" {
			sum := sha256.Sum256([]byte("upstreamdev-subject:" + c.IDNumber))
			cfg.Citizens[i].Subject = base64.RawURLEncoding.EncodeToString(sum[:16])
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, prefix: strings.TrimRight(u.Path, "/"), key: key, kid: randomString(8),
		codes: map[string]*grant{}, tokens: map[string]*grant{}}, nil
}

// LoadCitizens reads a JSON array of Citizen.
func LoadCitizens(path string) ([]Citizen, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []Citizen
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// Tamper makes the provider pass the claims of every ID token it issues
// from now on through f before signing (nil: stop). Tests use it for a
// wrong audience, issuer or nonce.
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// SignWithForeignKey makes the provider sign its ID tokens from now on with
// a key its JWKS does not publish, under the published key's id: a token an
// impostor made.
func (p *Provider) SignWithForeignKey() error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.foreign = k
	return nil
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, p.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case path == "/.well-known/openid-configuration" && r.Method == http.MethodGet:
		p.discovery(w)
	case path == "/jwks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	case path == "/authorize" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		p.authorize(w, r)
	case path == "/token" && r.Method == http.MethodPost:
		p.token(w, r)
	case path == "/userinfo" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		p.userinfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *Provider) discovery(w http.ResponseWriter) {
	iss := p.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "profile", "phone", "idcard"},
		"claims_supported":                      []string{"sub", ClaimName, ClaimIDType, ClaimIDNumber, ClaimPhone},
	})
}

// authRequest is an authorization request, checked.
type authRequest struct {
	client                               *Client
	redirectURI, state, nonce, challenge string
}

// parseAuthRequest checks a request's client and redirect URI (errors
// then are shown, never redirected: RFC 6749 4.1.2.1) and the rest, whose
// error code (refusal) the client is told at its redirect URI.
func (p *Provider) parseAuthRequest(q url.Values) (req *authRequest, refusal string, err error) {
	var c *Client
	for i := range p.cfg.Clients {
		if p.cfg.Clients[i].ID == q.Get("client_id") {
			c = &p.cfg.Clients[i]
		}
	}
	if c == nil {
		return nil, "", errors.New("unknown client_id")
	}
	if !slices.Contains(c.RedirectURIs, q.Get("redirect_uri")) {
		return nil, "", errors.New("redirect_uri not registered")
	}
	req = &authRequest{client: c, redirectURI: q.Get("redirect_uri"), state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge")}
	switch {
	case q.Get("response_type") != "code":
		return req, "unsupported_response_type", nil
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return req, "invalid_scope", nil
	case req.challenge == "" || q.Get("code_challenge_method") != "S256":
		// PKCE S256 is required of every client.
		return req, "invalid_request", nil
	}
	return req, "", nil
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, code, err := p.parseAuthRequest(r.Form)
	if err != nil {
		http.Error(w, "invalid authorization request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if code != "" {
		p.redirect(w, r, req, url.Values{"error": {code}})
		return
	}
	if r.Method == http.MethodGet {
		p.page(w, r, req)
		return
	}
	if r.PostForm.Get("cancel") != "" {
		p.redirect(w, r, req, url.Values{"error": {"access_denied"}})
		return
	}
	var who *Citizen
	for i := range p.cfg.Citizens {
		if p.cfg.Citizens[i].Subject == r.PostForm.Get("sub") {
			who = &p.cfg.Citizens[i]
		}
	}
	if who == nil {
		http.Error(w, "no such citizen", http.StatusBadRequest)
		return
	}
	c := randomString(32)
	p.mu.Lock()
	p.codes[c] = &grant{client: req.client.ID, redirectURI: req.redirectURI, challenge: req.challenge, nonce: req.nonce,
		citizen: *who, expires: p.cfg.Now().Add(codeTTL)}
	p.mu.Unlock()
	p.redirect(w, r, req, url.Values{"code": {c}})
}

func (p *Provider) redirect(w http.ResponseWriter, r *http.Request, req *authRequest, v url.Values) {
	if req.state != "" {
		v.Set("state", req.state)
	}
	sep := "?"
	if strings.Contains(req.redirectURI, "?") {
		sep = "&"
	}
	http.Redirect(w, r, req.redirectURI+sep+v.Encode(), http.StatusFound)
}

var pageTemplate = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}}（开发替身）</title>
<style>body{font-family:sans-serif;max-width:640px;margin:40px auto}button{margin:4px 0;padding:8px 12px}</style></head>
<body><h1>{{.Title}}</h1>
<p>开发环境替身：选择一位本平台的实名用户登录（不会用于生产环境）。</p>
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range $i, $c := .Citizens}}<p><button type="submit" name="sub" value="{{$c.Subject}}" id="citizen-{{$i}}">{{$c.Name}}（{{$c.ID}}）登录并授权</button></p>
{{end}}<p><button type="submit" name="cancel" value="1" id="cancel">取消</button></p>
</form></body></html>
`))

func (p *Provider) page(w http.ResponseWriter, r *http.Request, req *authRequest) {
	type shown struct{ Subject, Name, ID string }
	d := struct {
		Title    string
		Params   map[string]string
		Citizens []shown
	}{Title: p.cfg.Title, Params: map[string]string{}}
	for k := range r.Form {
		d.Params[k] = r.Form.Get(k)
	}
	for _, c := range p.cfg.Citizens {
		d.Citizens = append(d.Citizens, shown{c.Subject, pii.MaskPersonName(c.Name), pii.MaskID(c.IDNumber)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pageTemplate.Execute(w, d)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		// client_secret_basic form-encodes both (RFC 6749 2.3.1).
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	var c *Client
	for i := range p.cfg.Clients {
		if p.cfg.Clients[i].ID == id && subtle.ConstantTimeCompare([]byte(p.cfg.Clients[i].Secret), []byte(secret)) == 1 {
			c = &p.cfg.Clients[i]
		}
	}
	if c == nil {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	p.mu.Lock()
	g := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // once, whatever follows
	tamper, foreign := p.tamper, p.foreign
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case g == nil, g.client != c.ID, g.redirectURI != r.PostForm.Get("redirect_uri"), !p.cfg.Now().Before(g.expires),
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := p.cfg.Now()
	claims := p.claims(g.citizen)
	claims["iss"], claims["aud"], claims["iat"], claims["exp"], claims["auth_time"] = p.cfg.Issuer, c.ID, now.Unix(), now.Add(tokenTTL).Unix(), now.Unix()
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if tamper != nil {
		tamper(claims)
	}
	key := p.key
	if foreign != nil {
		key = foreign
	}
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	access := randomString(32)
	g.expires = now.Add(tokenTTL)
	p.mu.Lock()
	p.tokens[access] = g
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int(tokenTTL.Seconds()), "id_token": idToken})
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	g := p.tokens[access]
	p.mu.Unlock()
	if !ok || g == nil || !p.cfg.Now().Before(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, p.claims(g.citizen))
}

// claims are what the provider says of a citizen.
func (p *Provider) claims(c Citizen) map[string]any {
	m := map[string]any{"sub": c.Subject, ClaimName: c.Name, ClaimIDType: IDTypeResident, ClaimIDNumber: c.IDNumber}
	if c.Phone != "" {
		m[ClaimPhone] = c.Phone
	}
	return m
}

func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
