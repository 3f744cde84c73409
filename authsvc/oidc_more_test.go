package authsvc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/pii"
)

// endpoints are the provider's endpoints beyond those go-oidc knows.
type endpoints struct {
	EndSession    string `json:"end_session_endpoint"`
	Introspection string `json:"introspection_endpoint"`
	Revocation    string `json:"revocation_endpoint"`
}

func (rp *relyingParty) endpoints() endpoints {
	rp.t.Helper()
	var e endpoints
	if err := rp.provider.Claims(&e); err != nil {
		rp.t.Fatal(err)
	}
	if e.EndSession == "" || e.Introspection == "" || e.Revocation == "" {
		rp.t.Fatalf("discovery lacks endpoints: %+v", e)
	}
	return e
}

// refresh forces a refresh of tok.
func (rp *relyingParty) refresh(tok *oauth2.Token) (*oauth2.Token, error) {
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	return rp.conf.TokenSource(rp.ctx, &old).Token()
}

// post sends a form to an endpoint of the provider with the client's
// credentials and decodes the JSON answer.
func (rp *relyingParty) post(endpoint string, form url.Values) (int, map[string]any, string) {
	rp.t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		rp.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.conf.ClientID), url.QueryEscape(rp.conf.ClientSecret))
	resp, err := rp.b.ts.Client().Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		rp.t.Fatal(err)
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, string(raw)
}

// RP-initiated logout ends the citizen's session and the client's tokens,
// and sends the browser back only to a registered URI.
func TestOIDCEndSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	const bye = "https://rp.example/bye"
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"offline_access"}, PostLogoutRedirectURIs: []string{bye}})
	c := b.active(t, "周九", "13912340901", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	hint, _ := tok.Extra("id_token").(string)
	end := rp.endpoints().EndSession
	provider := mustURL(b.ts.URL).Host

	for _, tc := range []struct {
		name string
		q    url.Values
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/bye"}}},
		{"prefix of a registered one", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye + "/x"}}},
		{"no id_token_hint", url.Values{"client_id": {"portal"}, "post_logout_redirect_uri": {bye}}},
	} {
		u, status := br.follow(end + "?" + tc.q.Encode())
		if u.Host != provider || status < 400 {
			t.Errorf("%s: led to %s (%d), want a refusal at the provider", tc.name, u, status)
		}
		if r := br.get("/api/v1/me"); r.Status != http.StatusOK {
			t.Errorf("%s: session after the refusal: %d, want 200", tc.name, r.Status)
		}
	}

	u, _ := br.follow(end + "?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"s1"}}.Encode())
	if got := u.String(); got != bye+"?state=s1" {
		t.Errorf("logout led to %s, want %s?state=s1", got, bye)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("/api/v1/me after logout: %d, want 401", r.Status)
	}
	if br.cookie() != "" {
		t.Error("session cookie kept after logout")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d live sessions after logout, want 0", n)
	}
	if _, err := rp.refresh(tok); err == nil {
		t.Error("refresh token accepted after logout")
	}
	if _, err := rp.userinfo(tok); err == nil {
		t.Error("access token accepted after logout")
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_logout' AND account_id = $1 AND detail = 'portal'`, c.id); n != 1 {
		t.Errorf("audited logouts = %d, want 1", n)
	}
}

// A refresh token presented after its rotation, beyond the grace window,
// revokes the whole chain.
func TestOIDCRefreshReuse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{"offline_access"}})
	c := b.active(t, "吴十", "13912341001", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), c)
	fresh, err := rp.refresh(tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := rp.userinfo(fresh); err != nil {
		t.Fatalf("userinfo before the reuse: %v", err)
	}
	b.clock.Advance(b.svc.cfg.OIDCRefreshGrace) // past the grace window (oidc_refresh_test.go)
	if _, err := rp.refresh(tok); err == nil {
		t.Fatal("a rotated refresh token was accepted again")
	}
	if _, err := rp.refresh(fresh); err == nil {
		t.Error("the current refresh token works after the reuse of its predecessor")
	}
	if _, err := rp.userinfo(fresh); err == nil {
		t.Error("the current access token works after the reuse of the refresh token")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d live tokens after the reuse, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_reuse' AND account_id = $1 AND detail = 'portal'`, c.id); n != 1 {
		t.Errorf("audited reuses = %d, want 1", n)
	}
}

// Introspection: active while the token and the account are, with the
// default claims only; inactive once revoked or disabled.
func TestOIDCIntrospection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	rp := b.rp(t, Client{ID: "portal", Scopes: []string{ScopeIDCard, "phone"}})
	c := b.active(t, "郑十一", "13912341101", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := rp.signedIn(br, c)
	ep := rp.endpoints()
	introspect := func(tok *oauth2.Token) map[string]any {
		t.Helper()
		status, body, raw := rp.post(ep.Introspection, url.Values{"token": {tok.AccessToken}})
		if status != http.StatusOK {
			t.Fatalf("introspection: %d %s", status, raw)
		}
		for _, secret := range []string{c.IDNumber, c.Phone} {
			if strings.Contains(raw, secret) {
				t.Errorf("introspection answer carries the full ID number or phone: %s", raw)
			}
		}
		return body
	}
	got := introspect(tok)
	want := map[string]any{"active": true, "sub": b.svc.subject(c.id), "client_id": "portal", "name": "郑十一", "id_hint": pii.MaskID(c.IDNumber)}
	for k := range got {
		if _, ok := want[k]; !ok {
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("introspection mismatch (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event IN ('oidc_release_id_number', 'oidc_release_phone')`); n != 0 {
		t.Errorf("%d releases audited by introspection, want none", n)
	}

	if status, _, raw := rp.post(ep.Revocation, url.Values{"token": {tok.AccessToken}}); status != http.StatusOK {
		t.Fatalf("revocation: %d %s", status, raw)
	}
	if got := introspect(tok); got["active"] != false {
		t.Errorf("revoked token introspects %v, want inactive", got)
	}

	code, verifier := rp.again(br)
	tok, err := rp.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if got := introspect(tok); got["active"] != true {
		t.Fatalf("new token introspects %v, want active", got)
	}
	if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = 'disabled' WHERE id = $1`, c.id); err != nil {
		t.Fatal(err)
	}
	if got := introspect(tok); got["active"] != false {
		t.Errorf("token of a disabled account introspects %v, want inactive", got)
	}
}

// The phone goes out with the "phone" scope only, and every release is
// audited with the phone masked.
func TestOIDCPhoneRelease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.syncClock()
	withPhone := b.rp(t, Client{ID: "portal", Scopes: []string{"phone"}})
	without := b.rp(t, Client{ID: "other"})
	c := b.active(t, "王十二", "13912341201", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := withPhone.signedIn(br, c)
	claims, err := withPhone.userinfo(tok)
	if err != nil {
		t.Fatal(err)
	}
	if claims["phone_number"] != c.Phone {
		t.Errorf("userinfo = %v, want the phone (scope phone)", claims)
	}
	code, verifier := without.again(br)
	tok, err = without.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if claims, err = without.userinfo(tok); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["phone_number"]; ok {
		t.Errorf("userinfo without scope phone = %v, want no phone", claims)
	}
	got := b.column(t, `SELECT concat_ws('|', event, account_id, subject, detail) FROM auth_audit WHERE event LIKE 'oidc_release%' ORDER BY id`)
	want := []string{"oidc_release_phone|" + strconv.FormatInt(c.id, 10) + "|" + pii.MaskPhone(c.Phone) + "|portal"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audited releases mismatch (-want +got):\n%s", diff)
	}
}

// Discovery advertises what the provider accepts: each entry is accepted,
// and what it leaves out is refused.
func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	b, conf := oidcSetup(t, Client{ID: "portal", Scopes: []string{"profile", "offline_access"}})
	public := b.rp(t, Client{ID: "spa", Public: true})
	var d map[string]any
	if err := conf.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	keys := []string{"response_types_supported", "response_modes_supported", "grant_types_supported", "token_endpoint_auth_methods_supported",
		"revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "code_challenge_methods_supported",
		"scopes_supported", "acr_values_supported", "request_parameter_supported", "request_uri_parameter_supported", "device_authorization_endpoint",
		"token_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported",
		"introspection_endpoint_auth_signing_alg_values_supported", "claims_parameter_supported"}
	got := map[string]any{}
	for _, k := range keys {
		if v, ok := d[k]; ok {
			got[k] = v
		}
	}
	want := map[string]any{
		"response_types_supported":                      []any{"code"},
		"response_modes_supported":                      []any{"query"},
		"grant_types_supported":                         []any{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":         []any{"client_secret_basic", "none"},
		"revocation_endpoint_auth_methods_supported":    []any{"client_secret_basic", "none"},
		"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic"},
		"code_challenge_methods_supported":              []any{"S256"},
		"scopes_supported":                              []any{"openid", "profile", "email", "phone", "offline_access", ScopeIDCard, ScopeEnterprise, ScopeAgent},
		"acr_values_supported":                          []any{ACRBasic, ACRFace},
		"request_uri_parameter_supported":               false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery mismatch (-want +got):\n%s", diff)
	}
	claims, _ := d["claims_supported"].([]any)
	for _, c := range []string{"sub", "auth_time", "acr", "amr", "name", "preferred_username", "email", "email_verified", "id_hint", "id_number", "phone_number", "account_type", "credit_code", "enterprise_name", "act"} {
		if !slices.Contains(claims, any(c)) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if slices.Contains(claims, any("c_hash")) {
		t.Error("claims_supported has c_hash: no hybrid flow issues it")
	}

	// Accepted: the code flow (response_mode query, S256) with
	// client_secret_basic and with none, refresh, introspection by basic,
	// revocation by basic and by none.
	c := b.active(t, "秦二六", "13912342601", "Xy7#pQ2!wL")
	br := b.browser(t)
	tok, _ := conf.signedIn(br, c)
	if _, err := conf.refresh(tok); err != nil {
		t.Errorf("refresh_token: %v", err)
	}
	ep := conf.endpoints()
	if status, body, raw := conf.post(ep.Introspection, url.Values{"token": {tok.AccessToken}}); status != http.StatusOK || body["active"] != true {
		t.Errorf("introspection by client_secret_basic: %d %s", status, raw)
	}
	verifier := oauth2.GenerateVerifier()
	code := public.code(br, public.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("response_mode", "query")))
	pub := public.conf
	pub.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ptok, err := pub.Exchange(public.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("auth method none: %v", err)
	}
	form := func(endpoint string, v url.Values) (int, string) {
		resp, err := b.ts.Client().PostForm(endpoint, v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if status, raw := form(ep.Revocation, url.Values{"token": {ptok.AccessToken}, "client_id": {"spa"}}); status != http.StatusOK {
		t.Errorf("revocation by none: %d %s", status, raw)
	}
	if status, _, raw := conf.post(ep.Revocation, url.Values{"token": {tok.AccessToken}}); status != http.StatusOK {
		t.Errorf("revocation by client_secret_basic: %d %s", status, raw)
	}

	// Refused: every grant not advertised.
	for _, grant := range []string{"client_credentials", "password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:device_code"} {
		if status, _, raw := conf.post(conf.conf.Endpoint.TokenURL, url.Values{"grant_type": {grant}, "scope": {"openid"}, "assertion": {"x"},
			"subject_token": {tok.AccessToken}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "username": {c.IDNumber},
			"password": {"Xy7#pQ2!wL"}, "device_code": {"x"}}); status < 400 || strings.Contains(raw, "access_token") {
			t.Errorf("grant %s: %d %s, want a refusal", grant, status, raw)
		}
	}
	// Refused: client_secret_post and private_key_jwt, on a request that
	// is otherwise good.
	code, verifier = conf.again(br)
	live, err := conf.exchange(code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	code, verifier = conf.again(br)
	post := url.Values{"client_id": {"portal"}, "client_secret": {conf.conf.ClientSecret}}
	jwt := url.Values{"client_id": {"portal"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}}
	for _, tc := range []struct {
		name, endpoint string
		params         url.Values
		auth           url.Values
	}{
		{"token client_secret_post", conf.conf.Endpoint.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {verifier}}, post},
		{"token private_key_jwt", conf.conf.Endpoint.TokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {verifier}}, jwt},
		{"introspection client_secret_post", ep.Introspection, url.Values{"token": {live.AccessToken}}, post},
		{"introspection private_key_jwt", ep.Introspection, url.Values{"token": {live.AccessToken}}, jwt},
		{"revocation client_secret_post", ep.Revocation, url.Values{"token": {live.AccessToken}}, post},
		{"revocation private_key_jwt", ep.Revocation, url.Values{"token": {live.AccessToken}}, jwt},
	} {
		v := url.Values{}
		for _, m := range []url.Values{tc.params, tc.auth} {
			for k := range m {
				v.Set(k, m.Get(k))
			}
		}
		if status, raw := form(tc.endpoint, v); status < 400 {
			t.Errorf("%s: %d %s, want a refusal", tc.name, status, raw)
		}
	}
	if _, err := conf.userinfo(live); err != nil {
		t.Errorf("a refused revocation revoked the token: %v", err)
	}

	// Refused: response types and modes not advertised, request objects.
	for _, tc := range []struct {
		name string
		opts []oauth2.AuthCodeOption
		want string
	}{
		{"response_type token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "token")}, "unauthorized_client"},
		{"response_type id_token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "id_token")}, "unauthorized_client"},
		{"response_type id_token token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "id_token token")}, "unauthorized_client"},
		{"response_type code id_token", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "code id_token")}, "unauthorized_client"},
		{"response_mode fragment", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "fragment")}, "invalid_request"},
		{"response_mode form_post", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "form_post")}, "invalid_request"},
		{"request object", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("request", "a.b.c")}, "request_not_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := *conf
			rp.t = t
			got, _ := br.follow(rp.conf.AuthCodeURL("st4te", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(oauth2.GenerateVerifier())}, tc.opts...)...))
			q := got.Query()
			if got.Fragment != "" { // where the library answers implicit response types
				q, _ = url.ParseQuery(got.Fragment)
			}
			if q.Get("error") != tc.want || q.Get("code") != "" {
				t.Errorf("led to %s, want error %s", got, tc.want)
			}
		})
	}
	u, status := br.follow(conf.conf.AuthCodeURL("st4te", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("request_uri", "https://rp.example/request.jwt")))
	if u.Host != mustURL(b.ts.URL).Host || status != http.StatusBadRequest {
		t.Errorf("request_uri led to %s (%d), want a 400 at the provider", u, status)
	}
	if status, _, raw := conf.post(b.ts.URL+"/oidc/device_authorization", url.Values{"scope": {"openid"}}); status < 400 {
		t.Errorf("device authorization: %d %s, want a refusal", status, raw)
	}
}
