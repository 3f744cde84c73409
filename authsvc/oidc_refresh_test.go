package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/idfusion/idfusion/internal/database"
)

// tokenAnswer is an answer of the token endpoint.
type tokenAnswer struct {
	status                            int
	refresh, access, errCode, errDesc string
	err                               error
}

// presentRefresh presents a refresh token at the token endpoint with the
// client's credentials (HTTP Basic). It is safe in goroutines.
func (rp *relyingParty) presentRefresh(token string) tokenAnswer {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	req, err := http.NewRequest(http.MethodPost, rp.conf.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.conf.ClientID), url.QueryEscape(rp.conf.ClientSecret))
	resp, err := rp.b.ts.Client().Do(req)
	if err != nil {
		return tokenAnswer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return tokenAnswer{err: err}
	}
	var body struct {
		RefreshToken     string `json:"refresh_token"`
		AccessToken      string `json:"access_token"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return tokenAnswer{status: resp.StatusCode, err: errors.New(string(raw))}
	}
	return tokenAnswer{status: resp.StatusCode, refresh: body.RefreshToken, access: body.AccessToken, errCode: body.Error, errDesc: body.ErrorDescription}
}

// mustRefresh presents token and wants new tokens.
func (rp *relyingParty) mustRefresh(token string) tokenAnswer {
	rp.t.Helper()
	a := rp.presentRefresh(token)
	if a.err != nil || a.status != http.StatusOK || a.refresh == "" || a.access == "" {
		rp.t.Fatalf("refresh: %d %s %s %v, want new tokens", a.status, a.errCode, a.errDesc, a.err)
	}
	return a
}

// refusedGrant presents token and wants 400 invalid_grant.
func (rp *relyingParty) refusedGrant(what, token string) {
	rp.t.Helper()
	a := rp.presentRefresh(token)
	if a.err != nil || a.status != http.StatusBadRequest || a.errCode != string(oidc.InvalidGrant) || a.refresh != "" {
		rp.t.Errorf("%s: %d %q %q %v, want 400 invalid_grant", what, a.status, a.errCode, a.errDesc, a.err)
	}
}

// userinfoStatus is what the userinfo endpoint answers an access token.
func (rp *relyingParty) userinfoStatus(access string) (int, string) {
	rp.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rp.provider.UserInfoEndpoint(), nil)
	if err != nil {
		rp.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := rp.b.ts.Client().Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func refreshSetup(t *testing.T) (*testBundle, *relyingParty, citizen, *oauth2.Token) {
	t.Helper()
	b, rp := oidcSetup(t, Client{ID: "portal", Scopes: []string{"offline_access"}})
	c := b.active(t, "孔一", "13912341301", "Xy7#pQ2!wL")
	tok, _ := rp.signedIn(b.browser(t), c)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return b, rp, c, tok
}

// Several requests refreshing one session at once all get the same new
// refresh token (and working access tokens); nothing is revoked, the new
// refresh token works afterwards, and the graced refreshes are audited.
func TestOIDCRefreshParallel(t *testing.T) {
	t.Parallel()
	b, rp, c, tok := refreshSetup(t)
	const n = 5
	answers := make([]tokenAnswer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = rp.presentRefresh(tok.RefreshToken)
		})
	}
	close(start)
	wg.Wait()
	for i, a := range answers {
		if a.err != nil || a.status != http.StatusOK {
			t.Fatalf("refresh %d: %d %s %s %v, want 200", i, a.status, a.errCode, a.errDesc, a.err)
		}
		if a.refresh == "" || a.refresh == tok.RefreshToken || a.refresh != answers[0].refresh {
			t.Errorf("refresh %d got refresh token %q, want the one new refresh token %q", i, a.refresh, answers[0].refresh)
		}
		if st, _ := rp.userinfoStatus(a.access); st != http.StatusOK {
			t.Errorf("access token of refresh %d at userinfo: %d, want 200", i, st)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_reuse'`); n != 0 {
		t.Errorf("%d reuses audited, want none", n)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_grace' AND account_id = $1 AND detail = 'portal'`, c.id); got != n-1 {
		t.Errorf("%d graced refreshes audited, want %d", got, n-1)
	}
	next := rp.mustRefresh(answers[0].refresh)
	if next.refresh == answers[0].refresh {
		t.Error("the new refresh token was not rotated in its turn")
	}
	// The successor is kept sealed, never in clear.
	if got := b.count(t, `SELECT count(*) FROM oidc_token WHERE successor_sealed IS NOT NULL
		AND position(convert_to($1, 'UTF8') IN successor_sealed) > 0`, answers[0].refresh); got != 0 {
		t.Errorf("%d rows hold the successor refresh token in clear", got)
	}
	if got := b.count(t, `SELECT count(*) FROM oidc_token WHERE successor_sealed IS NOT NULL`); got != 2 {
		t.Errorf("%d rotated refresh tokens keep a sealed successor, want 2", got)
	}
}

// The grace window: the rotated token gets the same successor until
// OIDCRefreshGrace after its rotation; from then on presenting it is a
// reuse that ends the grant (the successor and its access tokens too),
// answered 400 invalid_grant and audited once.
func TestOIDCRefreshGraceWindow(t *testing.T) {
	t.Parallel()
	b, rp, c, tok := refreshSetup(t)
	fresh := rp.mustRefresh(tok.RefreshToken)
	b.clock.Advance(b.svc.cfg.OIDCRefreshGrace - time.Second)
	again := rp.mustRefresh(tok.RefreshToken)
	if again.refresh != fresh.refresh {
		t.Errorf("inside the window the rotated token got %q, want the same successor %q", again.refresh, fresh.refresh)
	}
	b.clock.Advance(time.Second)
	rp.refusedGrant("the rotated token after the window", tok.RefreshToken)
	rp.refusedGrant("the successor after the reuse of its predecessor", fresh.refresh)
	for _, access := range []string{fresh.access, again.access} {
		if st, _ := rp.userinfoStatus(access); st != http.StatusUnauthorized {
			t.Errorf("an access token of the ended grant at userinfo: %d, want 401", st)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d live tokens after the reuse, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_reuse' AND account_id = $1 AND detail = 'portal'`, c.id); n != 1 {
		t.Errorf("audited reuses = %d, want 1", n)
	}
}

// A token two rotations old is a reuse even inside the window of its own
// rotation: its successor was rotated already.
func TestOIDCRefreshAncestorReuse(t *testing.T) {
	t.Parallel()
	b, rp, c, tok := refreshSetup(t)
	first := rp.mustRefresh(tok.RefreshToken)
	second := rp.mustRefresh(first.refresh)
	rp.refusedGrant("the grandparent token", tok.RefreshToken)
	rp.refusedGrant("the current token after the reuse of its grandparent", second.refresh)
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE account_id = $1 AND revoked_at IS NULL`, c.id); n != 0 {
		t.Errorf("%d live tokens after the reuse, want 0", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_reuse' AND account_id = $1`, c.id); n != 1 {
		t.Errorf("audited reuses = %d, want 1", n)
	}
}

// Two refreshes that both found the token live before either rotated it
// (the race the window is for, at the storage): the second gets the
// first's successor. Past the window the loser is a reuse, invalid_grant,
// not a server error.
func TestOIDCRefreshRace(t *testing.T) {
	t.Parallel()
	b, rp, c, tok := refreshSetup(t)
	ctx := context.Background()
	st := oidcStorage{b.svc}
	r1, err := st.TokenRequestByRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := st.TokenRequestByRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, won, _, err := st.CreateAccessAndRefreshTokens(ctx, r1, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	access, lost, _, err := st.CreateAccessAndRefreshTokens(ctx, r2, tok.RefreshToken)
	if err != nil || lost != won || access == "" {
		t.Fatalf("the second of two racing refreshes: %q %q %v, want the first one's refresh token %q and an access token", access, lost, err, won)
	}

	// A token that expires between its lookup and its rotation.
	r4, err := st.TokenRequestByRefreshToken(ctx, won)
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(b.svc.cfg.OIDCRefreshTokenTTL)
	_, _, _, err = st.CreateAccessAndRefreshTokens(ctx, r4, won)
	if oe := (*oidc.Error)(nil); !errors.As(err, &oe) || oe.ErrorType != oidc.InvalidGrant {
		t.Errorf("a token expired before its rotation: %v, want invalid_grant", err)
	}
	b.clock.Advance(-b.svc.cfg.OIDCRefreshTokenTTL)

	// Past the window.
	r3, err := st.TokenRequestByRefreshToken(ctx, won)
	if err != nil {
		t.Fatal(err)
	}
	next := rp.mustRefresh(won)
	b.clock.Advance(b.svc.cfg.OIDCRefreshGrace)
	_, _, _, err = st.CreateAccessAndRefreshTokens(ctx, r3, won)
	var oe *oidc.Error
	if !errors.As(err, &oe) || oe.ErrorType != oidc.InvalidGrant {
		t.Errorf("the loser of a race past the window: %v, want invalid_grant", err)
	}
	rp.refusedGrant("the winner's successor after the reuse", next.refresh)
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_refresh_reuse' AND account_id = $1`, c.id); n != 1 {
		t.Errorf("audited reuses = %d, want 1", n)
	}
}

// The refusals of the refresh grant carry RFC 6749's codes: invalid_grant
// for a token unknown, revoked, expired, or of another client (whose own
// token is left alone), invalid_client for a client that does not
// authenticate.
func TestOIDCRefreshErrors(t *testing.T) {
	t.Parallel()
	b, rp, _, tok := refreshSetup(t)
	other := b.rp(t, Client{ID: "other", Scopes: []string{"offline_access"}})

	rp.refusedGrant("an unknown token", "no-such-token")
	other.refusedGrant("another client's token", tok.RefreshToken)
	fresh := rp.mustRefresh(tok.RefreshToken)
	other.refusedGrant("another client's token just rotated", tok.RefreshToken)
	for _, bad := range []struct {
		name, id, secret string
	}{
		{"unknown client", "nobody", rp.conf.ClientSecret},
		{"wrong secret", rp.conf.ClientID, "wrong"},
	} {
		imp := *rp
		imp.conf.ClientID, imp.conf.ClientSecret = bad.id, bad.secret
		if a := imp.presentRefresh(fresh.refresh); a.status != http.StatusUnauthorized || a.errCode != string(oidc.InvalidClient) {
			t.Errorf("%s: %d %q %q %v, want 401 invalid_client", bad.name, a.status, a.errCode, a.errDesc, a.err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_client_unknown' AND outcome = 'fail' AND detail = 'nobody'`); n != 1 {
		t.Errorf("audited unknown clients = %d, want 1", n)
	}
	if n := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'oidc_client_auth' AND outcome = 'fail' AND detail = 'portal'`); n != 1 {
		t.Errorf("audited client authentication failures = %d, want 1", n)
	}
	// None of that touched the client's own grant.
	fresh = rp.mustRefresh(fresh.refresh)

	// Revoked (RFC 7009) by the client.
	revoked := rp.mustRefresh(fresh.refresh)
	if status, _, raw := rp.post(rp.endpoints().Revocation, url.Values{"token": {revoked.refresh}, "token_type_hint": {"refresh_token"}}); status != http.StatusOK {
		t.Fatalf("revocation: %d %s", status, raw)
	}
	rp.refusedGrant("a revoked token", revoked.refresh)

	// Expired.
	b2, rp2, _, tok2 := refreshSetup(t)
	b2.clock.Advance(b2.svc.cfg.OIDCRefreshTokenTTL)
	rp2.refusedGrant("an expired token", tok2.RefreshToken)
}

// Where the window gives nothing: turned off, a successor expired, an
// account disabled since the rotation.
func TestOIDCRefreshGraceEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mod    func(*Config)
		before func(*testBundle, citizen) // between the rotation and the second presentation
	}{
		{"no grace", func(c *Config) { c.OIDCRefreshGrace = -1 }, func(*testBundle, citizen) {}},
		{"successor expired", func(c *Config) { c.OIDCRefreshTokenTTL = 5 * time.Second }, func(b *testBundle, _ citizen) {
			b.clock.Advance(5 * time.Second)
		}},
		{"account disabled", func(*Config) {}, func(b *testBundle, c citizen) {
			if _, err := b.pool.Exec(context.Background(), `UPDATE account SET status = 'disabled' WHERE id = $1`, c.id); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, rp := oidcSetup(t, Client{ID: "portal", Scopes: []string{"offline_access"}}, tt.mod)
			c := b.active(t, "孔二", "13912341302", "Xy7#pQ2!wL")
			tok, _ := rp.signedIn(b.browser(t), c)
			rp.mustRefresh(tok.RefreshToken)
			tt.before(b, c)
			rp.refusedGrant("the rotated token", tok.RefreshToken)
		})
	}
}

// TestOIDCRefreshHashUniqueNationally: a refresh token's hash is unique
// across accounts, which shard oidc_token: its lookup table
// (oidc_refresh_hash) refuses a second token with the hash, of another
// account too (docs/scale-out.md §3.2).
func TestOIDCRefreshHashUniqueNationally(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := RegisterClient(ctx, b.pool, Client{ID: "portal", RedirectURIs: []string{"https://rp.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	hash := sha("the same refresh token")
	for i, c := range []citizen{b.active(t, "蒋五", "13912340311", goodPassword), b.active(t, "蒋六", "13912340312", goodPassword)} {
		g := tokenGrant{accountID: c.id, accountBidx: b.svc.idIndex(c.IDNumber), subject: b.svc.subject(c.id), clientID: "portal",
			scopes: []string{"openid"}, authTime: now, amr: []string{"pwd"}}
		err := database.Transact(ctx, b.pool, func(tx pgx.Tx) error {
			return (oidcStorage{b.svc}).insertToken(ctx, tx, fmt.Sprintf("token %d", i), hash, "refresh", g, now, now.Add(time.Hour))
		})
		if (err == nil) != (i == 0) {
			t.Errorf("token %d with the hash: %v", i, err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_token WHERE hash = $1`, hash); n != 1 {
		t.Errorf("%d tokens with the hash, want 1", n)
	}
}

// TestOIDCAuthCodeUniqueNationally: a code's hash is unique across the
// requests, which shard by session: its lookup table (oidc_auth_code)
// refuses a second request with the code (docs/scale-out.md §3.2).
func TestOIDCAuthCodeUniqueNationally(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := RegisterClient(ctx, b.pool, Client{ID: "portal", RedirectURIs: []string{"https://rp.example/cb"}}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []citizen{b.active(t, "蒋五", "13912340313", goodPassword), b.active(t, "蒋六", "13912340314", goodPassword)} {
		id := fmt.Sprintf("request %d", i)
		if _, err := b.pool.Exec(ctx, `INSERT INTO oidc_auth_request (id, client_id, redirect_uri, scopes, response_type, created_at, account_id, account_bidx, done)
			VALUES ($1, 'portal', 'https://rp.example/cb', '{openid}', 'code', $2, $3, $4, true)`, id, b.clock.Now(), c.id, b.svc.idIndex(c.IDNumber)); err != nil {
			t.Fatal(err)
		}
		err := (oidcStorage{b.svc}).SaveAuthCode(ctx, id, "the same code")
		if (err == nil) != (i == 0) {
			t.Errorf("%s with the code: %v", id, err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM oidc_auth_request WHERE code_hash = $1`, sha("the same code")); n != 1 {
		t.Errorf("%d requests with the code, want 1", n)
	}
}
