package authsvc

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// actingSession gives br a full session of the account acting for the
// authorization acting (0: the person's own identity), as the identity
// chooser does (another part's), and returns its hash.
func (b *testBundle) actingSession(t testing.TB, br *browser, accountID, acting int64) []byte {
	t.Helper()
	token, hash, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	if _, err := b.pool.Exec(context.Background(), `INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at, acting_for)
		VALUES ($1, $2, 'full', $3, $3, $4, $5)`, hash, accountID, now, now.Add(time.Hour), actingArg(acting)); err != nil {
		t.Fatal(err)
	}
	br.hc.Jar.SetCookies(mustURL(b.ts.URL), []*http.Cookie{{Name: cookieName, Value: token, Path: "/", Secure: true}})
	return hash
}

// switchFrom ends the session hash as a switch of identity does: the
// session and its business systems' sign-ins.
func (b *testBundle) switchFrom(t testing.TB, hash []byte) {
	t.Helper()
	if _, err := b.pool.Exec(context.Background(), `UPDATE auth_session SET revoked_at = $2 WHERE id_hash = $1`, hash, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.endProviderSession(context.Background(), hash); err != nil {
		t.Fatal(err)
	}
}

// actOf is the "act" claim the ID token and userinfo carry for an agent
// of e.
func (b *testBundle) actOf(c citizen, e enterprise) map[string]any {
	return map[string]any{"sub": b.svc.subject(c.id), "credit_code": e.CreditCode, "enterprise_name": e.Name}
}

// wantAct checks the identity claims of the ID token and of userinfo: the
// natural person's sub and account_type, and act (nil: absent).
func (rp *relyingParty) wantAct(tok *oauth2.Token, sub string, act map[string]any) {
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
		if claims["sub"] != sub || claims["account_type"] != "natural" {
			rp.t.Errorf("client %s: %s sub %v account_type %v, want the natural person's", rp.conf.ClientID, what, claims["sub"], claims["account_type"])
		}
		got, ok := claims["act"]
		if act == nil && ok || act != nil && !reflect.DeepEqual(got, act) {
			rp.t.Errorf("client %s: %s act = %v, want %v", rp.conf.ClientID, what, got, act)
		}
	}
}

// agentSetup: a service with a business system registered for the agent
// scope (and refresh tokens), a person, and two enterprises that enabled
// the person as their agent.
func agentSetup(t *testing.T) (b *testBundle, etax *relyingParty, c citizen, e1, e2 enterprise, a1, a2 int64) {
	t.Helper()
	b, etax = oidcSetup(t, Client{ID: "etax", Scopes: []string{"profile", ScopeAgent, "offline_access"}})
	c = b.active(t, "韩洪阳", "13912351001", goodPassword)
	e1 = b.activeLegal(t, "海南椰风科技有限公司", "13912351002", goodPassword)
	e2 = b.activeLegal(t, "海南椰林贸易有限公司", "13912351003", goodPassword)
	a1 = b.authorize(t, e1.id, c.id, AgentEnabled)
	a2 = b.authorize(t, e2.id, c.id, AgentEnabled)
	return
}

// TestAgentSingleSignOn: a person acting for an enterprise signs in to a
// business system in that identity: its tokens (and their refreshes)
// carry the authorization, the ID token and userinfo say act = the
// enterprise with the person's sub and account_type natural; a client
// without the agent scope sees the person only. A switch to another
// enterprise and back to 个人身份 ends the previous identity's tokens, and
// the next sign-in carries the new identity.
func TestAgentSingleSignOn(t *testing.T) {
	t.Parallel()
	b, etax, c, e1, e2, a1, a2 := agentSetup(t)
	portal := b.rp(t, Client{ID: "portal", Scopes: []string{"profile"}})
	sub := b.svc.subject(c.id)
	br := b.browser(t)
	h1 := b.actingSession(t, br, c.id, a1)

	tok1, err := etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	etax.wantAct(tok1, sub, b.actOf(c, e1))
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE client_id = 'etax' AND acting_for = $1`, a1); n != 2 {
		t.Errorf("%d tokens carry the authorization, want the access and refresh tokens", n)
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_auth_request WHERE client_id = 'etax' AND acting_for = $1`, a1); n != 1 {
		t.Errorf("%d requests record the identity", n)
	}
	if got := b.column(t, `SELECT detail FROM auth_audit WHERE event = 'oidc_authorize' AND account_id = $1`, c.id); len(got) != 1 || got[0] != fmt.Sprintf("etax acting for authorization %d", a1) {
		t.Errorf("the sign-in audited as %v", got)
	}
	var meta struct {
		Scopes []string `json:"scopes_supported"`
		Claims []string `json:"claims_supported"`
	}
	if err := etax.provider.Claims(&meta); err != nil || !slices.Contains(meta.Scopes, ScopeAgent) || !slices.Contains(meta.Claims, "act") {
		t.Errorf("discovery: scopes %v claims %v (%v)", meta.Scopes, meta.Claims, err)
	}
	ptok, err := portal.exchange(portal.again(br))
	if err != nil {
		t.Fatal(err)
	}
	portal.wantAct(ptok, sub, nil)
	// A refresh keeps the identity, and so does the same refresh again
	// within its grace window.
	r1 := etax.mustRefresh(tok1.RefreshToken)
	graced := etax.mustRefresh(tok1.RefreshToken)
	for _, access := range []string{r1.access, graced.access} {
		if info, err := etax.userinfo(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}); err != nil || !reflect.DeepEqual(info["act"], b.actOf(c, e1)) {
			t.Errorf("refreshed userinfo act = %v (%v)", info["act"], err)
		}
	}

	// Switch to the other enterprise: the first one's tokens end.
	b.switchFrom(t, h1)
	h2 := b.actingSession(t, br, c.id, a2)
	if st, _ := etax.userinfoStatus(r1.access); st != http.StatusUnauthorized {
		t.Errorf("the previous identity's access token after the switch: %d", st)
	}
	etax.refusedGrant("the previous identity's refresh token after the switch", r1.refresh)
	tok2, err := etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	etax.wantAct(tok2, sub, b.actOf(c, e2))

	// And back to 个人身份.
	b.switchFrom(t, h2)
	b.actingSession(t, br, c.id, 0)
	if st, _ := etax.userinfoStatus(tok2.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("the enterprise's access token after switching back: %d", st)
	}
	tok3, err := etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	etax.wantAct(tok3, sub, nil)
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE client_id = 'etax' AND acting_for IS NULL AND revoked_at IS NULL`); n != 2 {
		t.Errorf("%d live tokens of the person's own identity, want 2", n)
	}
}

// TestAgentTokensEndWithAuthorization: the tokens of an agent's identity
// stop at once when the authorization is no longer enabled: disabled by
// the legal person (changeAgent revokes them), or its state changed any
// other way (every use checks it: userinfo, introspection, a refresh, a
// refresh within the grace window, a code issued before). The person's
// own tokens live on.
func TestAgentTokensEndWithAuthorization(t *testing.T) {
	t.Parallel()
	b, etax, c, e1, _, a1, _ := agentSetup(t)
	ctx := context.Background()
	own := b.browser(t)
	b.actingSession(t, own, c.id, 0)
	ownTok, err := etax.exchange(etax.again(own))
	if err != nil {
		t.Fatal(err)
	}

	// Disabled by the legal person.
	br := b.browser(t)
	b.actingSession(t, br, c.id, a1)
	tok, err := etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.changeAgent(ctx, a1, agentDisable, e1.id, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if st, _ := etax.userinfoStatus(tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("access token after the disable: %d", st)
	}
	etax.refusedGrant("refresh token after the disable", tok.RefreshToken)

	// Enabled again, a new sign-in; then the state changes behind
	// changeAgent's back: nothing revoked the rows, the uses refuse.
	if _, err := b.svc.changeAgent(ctx, a1, agentEnable, e1.id, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	br = b.browser(t)
	b.actingSession(t, br, c.id, a1)
	tok, err = etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	rotated := etax.mustRefresh(tok.RefreshToken) // tok.RefreshToken is now within its grace window
	// A request without the agent scope (whose ID token claim would check
	// the identity too) gets its tokens while the authorization is
	// enabled; one whose code was issued before the disable gets none.
	oauth := etax.conf
	oauth.Scopes = []string{"openid", "profile"}
	oauthCode := func() (string, string) {
		verifier := oauth2.GenerateVerifier()
		return etax.code(br, oauth.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier))), verifier
	}
	if code, verifier := oauthCode(); true {
		if _, err := oauth.Exchange(etax.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("a plain OAuth code: %v", err)
		}
	}
	code, verifier := oauthCode()
	raced, err := (oidcStorage{b.svc}).AuthRequestByCode(ctx, code) // looked up before the disable
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE agent_authorization SET state = 'disabled' WHERE id = $1`, a1); err != nil {
		t.Fatal(err)
	}
	// A code looked up before the disable and exchanged after it (a race)
	// is refused by the exchange itself.
	if _, _, _, err := (oidcStorage{b.svc}).issue(ctx, raced.(*oidcAuthRequest), "", true); err == nil {
		t.Error("a code raced by the disable got tokens")
	}
	// A refresh token found before the disable and rotated after it (a
	// race) is refused by the rotation itself.
	g := tokenGrant{accountID: c.id, accountBidx: b.svc.idIndex(c.IDNumber), subject: b.svc.subject(c.id), clientID: "etax", scopes: []string{"openid", "offline_access"}, actingFor: a1}
	if _, _, _, err := (oidcStorage{b.svc}).issue(ctx, &refreshRequest{tokenGrant: g}, rotated.refresh, true); err == nil {
		t.Error("a refresh raced by the disable was rotated")
	}
	if st, _ := etax.userinfoStatus(rotated.access); st != http.StatusUnauthorized {
		t.Errorf("access token of a disabled authorization: %d", st)
	}
	if st, body, _ := etax.post(etax.endpoints().Introspection, url.Values{"token": {rotated.access}}); st != http.StatusOK || body["active"] != false {
		t.Errorf("introspection of a disabled authorization's token: %d %v", st, body)
	}
	etax.refusedGrant("refresh token of a disabled authorization", rotated.refresh)
	etax.refusedGrant("refresh token within its grace window, of a disabled authorization", tok.RefreshToken)
	if _, err := oauth.Exchange(etax.ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a code issued before the disable was exchanged")
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE acting_for = $1 AND created_at > $2`, a1, b.clock.Now()); n != 0 {
		t.Errorf("%d tokens issued after the disable", n)
	}
	// The person's own identity is not the enterprise's.
	if info, err := etax.userinfo(ownTok); err != nil || info["act"] != nil {
		t.Errorf("the person's own token: %v %v", info, err)
	}
	etax.mustRefresh(ownTok.RefreshToken)
}

// TestAgentSingleSignOnZitadelRP: the same identity through another
// relying party library (zitadel's): the ID token of the code exchange
// and of a refresh, and userinfo, carry act for the enterprise; after the
// switch back to 个人身份 the previous refresh token is refused and the
// new sign-in has no act.
func TestAgentSingleSignOnZitadelRP(t *testing.T) {
	t.Parallel()
	b, _, c, e1, _, a1, _ := agentSetup(t)
	secret, err := RegisterClient(context.Background(), b.pool, Client{ID: "zrp", Scopes: []string{"profile", ScopeAgent, "offline_access"}, RedirectURIs: []string{rpRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	type nonceKey struct{}
	ctx := context.Background()
	party, err := rp.NewRelyingPartyOIDC(ctx, b.ts.URL+"/oidc", "zrp", secret, rpRedirect, []string{"openid", "profile", ScopeAgent, "offline_access"},
		rp.WithHTTPClient(b.ts.Client()),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { n, _ := ctx.Value(nonceKey{}).(string); return n })))
	if err != nil {
		t.Fatal(err)
	}
	party.OAuthConfig().Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	signIn := func(br *browser) *oidc.Tokens[*oidc.IDTokenClaims] {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		u, _ := br.follow(rp.AuthURL("st4te", party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)),
			func() []oauth2.AuthCodeOption {
				return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", "n0nce")}
			}))
		code := u.Query().Get("code")
		if u.Host != "rp.example" || code == "" {
			t.Fatalf("authorization led to %s", u)
		}
		tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.WithValue(ctx, nonceKey{}, "n0nce"), code, party, rp.WithCodeVerifier(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tokens
	}
	want := b.actOf(c, e1)
	sub := b.svc.subject(c.id)
	check := func(what string, claims map[string]any, act map[string]any) {
		t.Helper()
		got, ok := claims["act"]
		if act == nil && ok || act != nil && !reflect.DeepEqual(got, act) {
			t.Errorf("%s: act = %v, want %v", what, got, act)
		}
	}

	br := b.browser(t)
	h := b.actingSession(t, br, c.id, a1)
	tokens := signIn(br)
	if tokens.IDTokenClaims.Subject != sub || tokens.IDTokenClaims.Claims["account_type"] != "natural" {
		t.Errorf("ID token sub %s account_type %v, want the natural person's", tokens.IDTokenClaims.Subject, tokens.IDTokenClaims.Claims["account_type"])
	}
	check("ID token", tokens.IDTokenClaims.Claims, want)
	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", sub, party)
	if err != nil {
		t.Fatal(err)
	}
	check("userinfo", info.Claims, want)
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	check("refreshed ID token", refreshed.IDTokenClaims.Claims, want)

	b.switchFrom(t, h)
	b.actingSession(t, br, c.id, 0)
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, refreshed.RefreshToken, "", ""); err == nil {
		t.Error("the enterprise's refresh token worked after switching back")
	}
	tokens = signIn(br)
	check("ID token in 个人身份", tokens.IDTokenClaims.Claims, nil)
	info, err = rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", sub, party)
	if err != nil {
		t.Fatal(err)
	}
	check("userinfo in 个人身份", info.Claims, nil)
}

// TestAgentCompleteRequestChecksIdentity: the statement that completes an
// authorization request records the session's identity only while its
// authorization is enabled and the session's account is its agent (the
// session's load checks the same, moments before: this is the check that
// holds when the two race).
func TestAgentCompleteRequestChecksIdentity(t *testing.T) {
	t.Parallel()
	b, etax, c, _, e2, a1, a2 := agentSetup(t)
	ctx := context.Background()
	other := b.active(t, "张三", "13912351004", goodPassword)
	if _, err := b.pool.Exec(ctx, `UPDATE agent_authorization SET state = 'disabled' WHERE id = $1`, a1); err != nil {
		t.Fatal(err)
	}
	a3 := b.authorize(t, e2.id, other.id, AgentEnabled) // enabled, but another person's
	disabled := b.active(t, "李四", "13912351005", goodPassword)
	if _, err := b.pool.Exec(ctx, `UPDATE account SET status = 'disabled' WHERE id = $1`, disabled.id); err != nil {
		t.Fatal(err)
	}
	// No foreign key stands behind the request's account_id and
	// acting_for (they point to the account group from the session group:
	// docs/scale-out.md §3.3): the completion's own check refuses an
	// account or an authorization that does not exist.
	for _, tc := range []struct {
		name    string
		account int64 // 0: the person's
		acting  int64
		ok      bool
	}{{"a disabled authorization", 0, a1, false}, {"another person's authorization", 0, a3, false},
		{"an authorization that does not exist", 0, 1 << 40, false}, {"an account that does not exist", 1 << 40, 0, false},
		{"a disabled account", disabled.id, 0, false},
		{"an enabled one of the person", 0, a2, true}} {
		br := b.browser(t)
		returnTo, _ := etax.start(br)
		id := mustURL(returnTo).Query().Get("id")
		var browserHash []byte
		if err := b.pool.QueryRow(ctx, `SELECT browser_hash FROM oidc_auth_request WHERE id = $1`, id).Scan(&browserHash); err != nil {
			t.Fatal(err)
		}
		ar, err := oidcStorage{b.svc}.AuthRequestByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		now := b.clock.Now()
		sess := &session{hash: []byte("session " + tc.name), accountID: cmp.Or(tc.account, c.id), kind: kindFull, created: now, lastSeen: now, expires: now.Add(time.Hour), actingFor: tc.acting}
		w := httptest.NewRecorder()
		b.svc.completeRequest(w, httptest.NewRequest(http.MethodGet, resumePath(id), nil), ar.(*oidcAuthRequest), browserHash, sess, []string{"pwd"})
		done := b.count(t, `SELECT count(*) FROM oidc_auth_request WHERE id = $1 AND done AND acting_for IS NOT DISTINCT FROM $2`, id, actingArg(tc.acting)) == 1
		if done != tc.ok || (w.Code == http.StatusSeeOther) != tc.ok {
			t.Errorf("%s: done %v, answer %d; want done %v", tc.name, done, w.Code, tc.ok)
		}
		if tc.ok {
			// Disabled between the completion and the provider's callback:
			// the request is no longer done, no code is issued.
			if _, err := b.pool.Exec(ctx, `UPDATE agent_authorization SET state = 'disabled' WHERE id = $1`, tc.acting); err != nil {
				t.Fatal(err)
			}
			if u, status := br.follow(w.Header().Get("Location")); u.Query().Get("code") != "" {
				t.Errorf("the callback after the disable: %s (%d), want no code", u, status)
			}
		}
	}
}

// TestAgentEndsWithEnterprise: an enterprise whose own account is no
// longer active (disabled by the help desk, locked) has no one acting for
// it: the acting session is refused and the identity's token stops, while
// the agent's own identity goes on.
func TestAgentEndsWithEnterprise(t *testing.T) {
	t.Parallel()
	b, etax, c, e1, _, a1, _ := agentSetup(t)
	ctx := context.Background()
	own := b.browser(t)
	b.actingSession(t, own, c.id, 0)
	br := b.browser(t)
	b.actingSession(t, br, c.id, a1)
	tok, err := etax.exchange(etax.again(br))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE account SET status = 'disabled' WHERE id = $1`, e1.id); err != nil {
		t.Fatal(err)
	}
	if st, _ := etax.userinfoStatus(tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("the enterprise's agent token after the enterprise was disabled: %d", st)
	}
	if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
		t.Errorf("the acting session after the enterprise was disabled: %d", r.Status)
	}
	if r := own.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("the agent's own session: %d", r.Status)
	}
	// The chooser no longer offers it, nor takes it.
	if r := own.get("/api/v1/identity"); strings.Contains(r.Raw, fmt.Sprintf(`"id":%d,`, a1)) {
		t.Errorf("the chooser offers the disabled enterprise: %s", r.Raw)
	}
	if r := own.post("/api/v1/identity", map[string]any{"identity": a1}); r.Status == http.StatusOK {
		t.Errorf("switched to the disabled enterprise: %s", r.Raw)
	}
}
