package authsvc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// userinfoAnswer is the userinfo endpoint's answer.
type userinfoAnswer struct {
	status    int
	challenge string // WWW-Authenticate
	body      map[string]any
	raw       string
}

// askUserinfo sends a request to the userinfo endpoint: query is added to
// its URL, a non-empty form makes it a form POST.
func (rp *relyingParty) askUserinfo(method, authorization, query string, form url.Values) userinfoAnswer {
	rp.t.Helper()
	u := rp.provider.UserInfoEndpoint()
	if query != "" {
		u += "?" + query
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		rp.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := rp.b.ts.Client().Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := userinfoAnswer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// wantChallenge checks a refusal: its status, and the error code in the
// WWW-Authenticate challenge and the body ("" for a bare "Bearer"
// challenge and no error).
func (a userinfoAnswer) wantChallenge(t *testing.T, what string, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: %d %s, want %d", what, a.status, a.raw, status)
	}
	if code == "" {
		if a.challenge != "Bearer" || a.raw != "" {
			t.Errorf("%s: WWW-Authenticate %q, body %q, want a bare Bearer challenge", what, a.challenge, a.raw)
		}
		return
	}
	if !strings.HasPrefix(a.challenge, `Bearer error="`+code+`", error_description="`) || a.body["error"] != code {
		t.Errorf("%s: WWW-Authenticate %q, body %s, want error %q", what, a.challenge, a.raw, code)
	}
}

// The userinfo endpoint answers as RFC 6750 says: 401 with a Bearer
// challenge for no token (no error code) and for a token that is not
// valid (invalid_token: malformed, revoked, expired, consent withdrawn),
// 400 invalid_request for a token sent twice or in the URL.
func TestOIDCUserinfoBearer(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "portal", Scopes: []string{"phone"}})
	c := b.active(t, "孔三", "13912341303", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	bearer := "Bearer " + tok.AccessToken
	sub := b.svc.subject(c.id)

	for _, ok := range []struct {
		name, method, authorization string
		form                        url.Values
	}{
		{"header", http.MethodGet, bearer, nil},
		{"header, scheme in lower case", http.MethodGet, "bearer " + tok.AccessToken, nil},
		{"header, POST", http.MethodPost, bearer, nil},
		{"form body", http.MethodPost, "", url.Values{"access_token": {tok.AccessToken}}},
	} {
		if a := rp.askUserinfo(ok.method, ok.authorization, "", ok.form); a.status != http.StatusOK || a.body["sub"] != sub || a.body["phone_number"] == nil {
			t.Errorf("%s: %d %s, want the claims", ok.name, a.status, a.raw)
		}
	}

	for _, bad := range []struct {
		name, method, authorization, query string
		form                               url.Values
		status                             int
		code                               string
	}{
		{"no token", http.MethodGet, "", "", nil, http.StatusUnauthorized, ""},
		{"no token, empty form", http.MethodPost, "", "", url.Values{"x": {"1"}}, http.StatusUnauthorized, ""},
		{"another scheme", http.MethodGet, "Basic cG9ydGFsOnNlY3JldA==", "", nil, http.StatusUnauthorized, ""},
		{"empty bearer", http.MethodGet, "Bearer ", "", nil, http.StatusUnauthorized, "invalid_token"},
		{"not a token of ours", http.MethodGet, "Bearer abc.def", "", nil, http.StatusUnauthorized, "invalid_token"},
		{"token in the URL", http.MethodGet, "", "access_token=" + url.QueryEscape(tok.AccessToken), nil, http.StatusBadRequest, "invalid_request"},
		{"header and form body", http.MethodPost, bearer, "", url.Values{"access_token": {tok.AccessToken}}, http.StatusBadRequest, "invalid_request"},
	} {
		rp.askUserinfo(bad.method, bad.authorization, bad.query, bad.form).wantChallenge(t, bad.name, bad.status, bad.code)
	}
	if a := rp.askUserinfo(http.MethodPut, bearer, "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", a.status)
	}
	// Behind the library's CORS handling, as its own endpoint was: a
	// single-page application reads the refusal.
	req, err := http.NewRequest(http.MethodGet, rp.provider.UserInfoEndpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://spa.example")
	resp, err := b.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("cross-origin request without a token: %d, Access-Control-Allow-Origin %q, want 401 and the CORS header",
			resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	// Revoked (RFC 7009).
	if status, _, raw := rp.post(rp.endpoints().Revocation, url.Values{"token": {tok.AccessToken}}); status != http.StatusOK {
		t.Fatalf("revocation: %d %s", status, raw)
	}
	rp.askUserinfo(http.MethodGet, bearer, "", nil).wantChallenge(t, "revoked token", http.StatusUnauthorized, "invalid_token")

	// Consent withdrawn behind the token's back (the center's withdrawal
	// also revokes the tokens).
	code, verifier := rp.again(br)
	second, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if a := rp.askUserinfo(http.MethodGet, "Bearer "+second.AccessToken, "", nil); a.status != http.StatusOK {
		t.Fatalf("second token: %d %s", a.status, a.raw)
	}
	if _, err := b.pool.Exec(context.Background(), `DELETE FROM oidc_consent WHERE account_id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	rp.askUserinfo(http.MethodGet, "Bearer "+second.AccessToken, "", nil).wantChallenge(t, "consent withdrawn", http.StatusUnauthorized, "invalid_token")
}

// An expired access token: 401 invalid_token, and go-oidc, as a client
// library, sees the refusal.
func TestOIDCUserinfoExpired(t *testing.T) {
	t.Parallel()
	b, rp := oidcSetup(t, Client{ID: "portal"})
	c := b.active(t, "孔四", "13912341304", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), c)
	if _, err := rp.userinfo(tok); err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	b.clock.Advance(b.svc.cfg.OIDCAccessTokenTTL)
	rp.askUserinfo(http.MethodGet, "Bearer "+tok.AccessToken, "", nil).wantChallenge(t, "expired token", http.StatusUnauthorized, "invalid_token")
	if _, err := rp.provider.UserInfo(rp.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("go-oidc userinfo with an expired token: %v, want a 401", err)
	}
}
