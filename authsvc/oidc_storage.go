package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// oidcStorage is op.Storage on PostgreSQL: clients, authorization
// requests and codes, tokens and signing keys. Every token use re-reads
// the account, so a locked or disabled account stops at once.
type oidcStorage struct{ s *Server }

var _ op.Storage = oidcStorage{}

// randomID is 16 random bytes, base64url.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// oidcAuthRequest is an authorization request as stored; it is also the
// token request of the code exchange.
type oidcAuthRequest struct {
	id, clientID, redirectURI, state, nonce string
	challenge, challengeMethod              string
	responseType, responseMode              string
	scopes                                  []string
	accountID                               int64
	accountBidx                             []byte // the account's id_bidx (oidc_token.account_bidx)
	subject                                 string
	authTime                                time.Time
	done                                    bool
	// What the request asks of the login (oidc_prompt.go): prompt values,
	// max_age in seconds (nil: none; prompt=login is max_age 0), and
	// acr_values.
	prompt, acrValues []string
	maxAge            *int32
	// amr is how the session that completed the request was
	// authenticated (auth_session.amr).
	amr     []string
	created time.Time
	// denied: the citizen refused the consent.
	denied bool
	// actingFor is the identity the request was completed in: the
	// agent's authorization the session acted under, 0 for the citizen's
	// own (oidc_agent.go).
	actingFor int64
}

func (a *oidcAuthRequest) GetID() string          { return a.id }
func (a *oidcAuthRequest) GetACR() string         { return acrOf(a.amr) }
func (a *oidcAuthRequest) GetAMR() []string       { return amrClaim(a.amr) }
func (a *oidcAuthRequest) GetAudience() []string  { return []string{a.clientID} }
func (a *oidcAuthRequest) GetAuthTime() time.Time { return a.authTime }
func (a *oidcAuthRequest) GetClientID() string    { return a.clientID }
func (a *oidcAuthRequest) GetNonce() string       { return a.nonce }
func (a *oidcAuthRequest) GetRedirectURI() string { return a.redirectURI }
func (a *oidcAuthRequest) GetScopes() []string    { return a.scopes }
func (a *oidcAuthRequest) GetState() string       { return a.state }
func (a *oidcAuthRequest) GetSubject() string     { return a.subject }
func (a *oidcAuthRequest) Done() bool             { return a.done }
func (a *oidcAuthRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.responseType)
}

func (a *oidcAuthRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.responseMode)
}

func (a *oidcAuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.challenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.challenge, Method: oidc.CodeChallengeMethod(a.challengeMethod)}
}

// authRequestSelect reads a request; it is done only while its account is
// active (a request completed before the account was locked is not), and
// while the identity it was completed in holds (an agent's authorization
// disabled since is not).
var authRequestSelect = `SELECT r.id, r.client_id, r.redirect_uri, r.state, r.nonce, r.code_challenge, r.code_challenge_method,
	r.response_type, r.response_mode, r.scopes, r.account_id, r.auth_time, r.done AND ` + account.ActiveSQL("r.account_id") + ` AND ` + actingLiveSQL("r.acting_for", "r.account_id") + `,
	r.code_issued_at, r.code_used_at, r.prompt, r.max_age, r.acr_values, r.amr, r.created_at, r.denied, r.acting_for, r.account_bidx
	FROM oidc_auth_request r`

func (st oidcStorage) scanAuthRequest(row pgx.Row) (*oidcAuthRequest, *time.Time, *time.Time, error) {
	var r oidcAuthRequest
	var acc, acting *int64
	var authTime, issued, used *time.Time
	if err := row.Scan(&r.id, &r.clientID, &r.redirectURI, &r.state, &r.nonce, &r.challenge, &r.challengeMethod,
		&r.responseType, &r.responseMode, &r.scopes, &acc, &authTime, &r.done, &issued, &used,
		&r.prompt, &r.maxAge, &r.acrValues, &r.amr, &r.created, &r.denied, &acting, &r.accountBidx); err != nil {
		return nil, nil, nil, database.Translate(err)
	}
	if acting != nil {
		r.actingFor = *acting
	}
	if acc != nil {
		r.accountID = *acc
		r.subject = st.s.subject(*acc)
	}
	if authTime != nil {
		r.authTime = *authTime
	}
	return &r, issued, used, nil
}

// CreateAuthRequest stores a validated authorization request with what
// it asks of the login (prompt, max_age, acr_values). It refuses what the
// library lets through: PKCE plain, no PKCE from any client (RFC 9700: a
// code then cannot be injected into another browser's flow, confidential
// client or not), a response_mode other than query (form_post would post
// the code from a page whose CSP forbids it; discovery advertises query
// only), and a scope the client is not registered for.
func (st oidcStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := st.s.clientByID(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	switch {
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case req.CodeChallenge == "" && !(c.pkceOptional && !c.public()):
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (S256) is required: send code_challenge and code_challenge_method=S256 " +
			"(oauth2-proxy: --code-challenge-method=S256; Spring Security: enable PKCE for the client); " +
			"a confidential client that cannot may be registered with PKCE optional by the provider's operator")
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery:
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	// The client gets the scopes it is registered for; the rest are
	// ignored, as OAuth 2.0 allows, and recorded for its operator.
	scopes := slices.DeleteFunc(slices.Clone(req.Scopes), func(sc string) bool { return !c.allows(sc) })
	if dropped := slices.DeleteFunc(slices.Clone(req.Scopes), c.allows); len(dropped) > 0 {
		st.s.cfg.Logger.Info("oidc_scopes_ignored", slog.String("client", c.id), slog.Any("scopes", dropped))
	}
	// A client registered for offline_access is one its operator wants
	// to refresh its sessions: it gets a refresh token with every code,
	// also when its requests do not name the scope (generic clients ask
	// for "openid email profile" and refresh whenever they got a token).
	if c.allows(oidc.ScopeOfflineAccess) && !slices.Contains(scopes, oidc.ScopeOfflineAccess) {
		scopes = append(scopes, oidc.ScopeOfflineAccess)
	}
	req.Scopes = scopes
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	r := &oidcAuthRequest{id: id, clientID: req.ClientID, redirectURI: req.RedirectURI, state: req.State, nonce: req.Nonce,
		challenge: req.CodeChallenge, challengeMethod: string(req.CodeChallengeMethod), responseType: string(req.ResponseType),
		responseMode: string(req.ResponseMode), scopes: req.Scopes, prompt: req.Prompt, acrValues: req.ACRValues}
	if req.CodeChallenge != "" {
		r.challengeMethod = string(oidc.CodeChallengeMethodS256)
	}
	if r.prompt == nil {
		r.prompt = []string{}
	}
	if r.acrValues == nil {
		r.acrValues = []string{}
	}
	if req.MaxAge != nil {
		// The library turned prompt=login into max_age 0 already.
		r.maxAge = new(int32(min(*req.MaxAge, math.MaxInt32)))
	}
	_, err = st.s.pool.Exec(ctx, `INSERT INTO oidc_auth_request (id, client_id, redirect_uri, scopes, state, nonce, code_challenge,
		code_challenge_method, response_type, response_mode, created_at, prompt, max_age, acr_values)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		r.id, r.clientID, r.redirectURI, r.scopes, r.state, r.nonce, r.challenge, r.challengeMethod, r.responseType, r.responseMode, st.s.cfg.Now(),
		r.prompt, r.maxAge, r.acrValues)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (st oidcStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, _, used, err := st.scanAuthRequest(st.s.pool.QueryRow(ctx, authRequestSelect+` WHERE r.id = $1 AND r.created_at > $2`,
		id, st.s.cfg.Now().Add(-st.s.cfg.OIDCAuthRequestTTL)))
	if err != nil {
		return nil, err
	}
	if used != nil {
		return nil, errors.New("authorization request already used")
	}
	return r, nil
}

// AuthRequestByCode finds the request of a code that is neither expired
// nor used. A used code presented again revokes the tokens its first use
// got: one of the two holders is not the client (RFC 6749 §4.1.2).
func (st oidcStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, issued, used, err := st.scanAuthRequest(st.s.pool.QueryRow(ctx, authRequestSelect+` WHERE r.code_hash = $1`, sha(code)))
	if err != nil {
		return nil, err
	}
	now := st.s.cfg.Now()
	switch {
	case used != nil:
		if _, err := st.s.pool.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(2)+` WHERE auth_request_id = $1 AND revoked_at IS NULL`, r.id, now); err != nil {
			return nil, err
		}
		st.s.audit(ctx, auditEvent{event: "oidc_code_reuse", outcome: "fail", account: r.accountID, detail: r.clientID})
		return nil, errors.New("code already used: its tokens are revoked")
	case issued == nil || !now.Before(issued.Add(st.s.cfg.OIDCCodeTTL)):
		return nil, errors.New("code expired")
	case !r.done:
		return nil, errors.New("account not active")
	}
	return r, nil
}

func (st oidcStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	// The code's hash is unique across the country: its lookup table says
	// so, in the same statement (docs/scale-out.md §3.2).
	tag, err := st.s.pool.Exec(ctx, `WITH r AS (UPDATE oidc_auth_request SET code_hash = $2, code_issued_at = $3
			WHERE id = $1 AND done AND code_hash IS NULL RETURNING id)
		INSERT INTO oidc_auth_code (code_hash, request_id) SELECT $2, id FROM r`, id, sha(code), st.s.cfg.Now())
	if err == nil && tag.RowsAffected() == 0 {
		err = errors.New("authorization request not done or code already issued")
	}
	return err
}

// DeleteAuthRequest keeps the row: a code used again must be recognized
// (and its tokens revoked). The code was spent when its tokens were
// issued; Purge-like cleanup of old requests is by created_at.
func (st oidcStorage) DeleteAuthRequest(ctx context.Context, id string) error { return nil }

// Tokens.

// revokeSet is the SET of a token revocation, the time being parameter n.
// Its expires_at comes back to the revocation, so expires_at is when a
// token ended or will end, and Purge finds every ended token by its index.
func revokeSet(n int) string {
	return "revoked_at = $" + strconv.Itoa(n) + ", expires_at = LEAST(expires_at, $" + strconv.Itoa(n) + ")"
}

// tokenGrant is what a token is issued for.
type tokenGrant struct {
	accountID     int64
	accountBidx   []byte // the account's id_bidx: the tokens' shard key
	subject       string
	clientID      string
	scopes        []string
	authTime      time.Time
	authRequestID string
	// amr is how the citizen authenticated for the grant (the request's
	// amr), for the ID tokens of its refreshes.
	amr []string
	// actingFor is the identity of the grant (the request's): an agent's
	// authorization, 0 for the citizen's own. Every token of the grant
	// and its rotations carries it, and lives only while it is enabled.
	actingFor int64
}

// refreshRequest is a stored refresh token being used.
type refreshRequest struct{ tokenGrant }

func (r *refreshRequest) GetAMR() []string            { return amrClaim(r.amr) }
func (r *refreshRequest) GetAudience() []string       { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

func (st oidcStorage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := st.issue(ctx, req, "", false)
	return id, exp, err
}

func (st oidcStorage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	return st.issue(ctx, req, current, true)
}

// issue spends what the tokens are for (the code, or the refresh token
// being rotated) and stores the new tokens, in one transaction: of two
// exchanges of one code, one gets nothing.
func (st oidcStorage) issue(ctx context.Context, req op.TokenRequest, current string, withRefresh bool) (accessID, refresh string, exp time.Time, err error) {
	now := st.s.cfg.Now()
	var g tokenGrant
	var graced bool
	err = database.Transact(ctx, st.s.pool, func(tx pgx.Tx) error {
		refresh = ""
		switch r := req.(type) {
		case *oidcAuthRequest:
			tag, err := tx.Exec(ctx, `UPDATE oidc_auth_request SET code_used_at = $2
				WHERE id = $1 AND code_used_at IS NULL AND done
				  AND `+account.ActiveSQL("account_id")+` AND `+actingLiveSQL("acting_for", "account_id"), r.id, now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errCodeSpent
			}
			g = tokenGrant{accountID: r.accountID, accountBidx: r.accountBidx, subject: r.subject, clientID: r.clientID, scopes: r.scopes, authTime: r.authTime, authRequestID: r.id, amr: r.amr,
				actingFor: r.actingFor}
			if err := st.trackSession(ctx, tx, r, now); err != nil {
				return err
			}
		case *refreshRequest:
			if current == "" {
				return errors.New("refresh request without its token")
			}
			// rotate issues the successor (oidc_refresh.go): a new one,
			// or within the grace window the one a concurrent rotation
			// issued, whose grant the answer then describes.
			var err error
			if g, refresh, graced, err = st.rotate(ctx, tx, r.tokenGrant, current, now); err != nil {
				return err
			}
			r.tokenGrant = g
		default:
			return oidc.ErrUnsupportedGrantType()
		}
		var err error
		if accessID, err = randomID(); err != nil {
			return err
		}
		exp = now.Add(st.s.cfg.OIDCAccessTokenTTL)
		if err := st.insertToken(ctx, tx, accessID, nil, "access", g, now, exp); err != nil {
			return err
		}
		if !withRefresh || refresh != "" {
			return nil
		}
		rid, token, err := newRefreshToken()
		if err != nil {
			return err
		}
		refresh = token
		return st.insertToken(ctx, tx, rid, sha(refresh), "refresh", g, now, now.Add(st.s.cfg.OIDCRefreshTokenTTL))
	})
	if r, ok := req.(*oidcAuthRequest); ok && errors.Is(err, errCodeSpent) {
		// Another exchange of the code won the race (both read it before
		// either spent it): what it got is revoked, as for a code used again
		// after its use (AuthRequestByCode).
		if err := st.codeRaced(ctx, r); err != nil {
			return "", "", time.Time{}, err
		}
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("code already used")
	}
	if errors.Is(err, errRefreshSpent) {
		// Another use of the token won the race: one of the two is not
		// the client.
		if err := st.refreshReused(ctx, current); err != nil {
			return "", "", time.Time{}, err
		}
		return "", "", time.Time{}, errRefreshRefused
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	event := "oidc_token"
	if graced {
		event = "oidc_refresh_grace"
	}
	st.s.audit(ctx, auditEvent{event: event, outcome: "ok", account: g.accountID, detail: g.clientID})
	return accessID, refresh, exp, nil
}

func (st oidcStorage) insertToken(ctx context.Context, q querier, id string, hash []byte, kind string, g tokenGrant, now, exp time.Time) error {
	var ar *string
	if g.authRequestID != "" {
		ar = &g.authRequestID
	}
	amr := g.amr
	if amr == nil {
		amr = []string{}
	}
	_, err := q.Exec(ctx, `INSERT INTO oidc_token (id, hash, kind, account_id, subject, client_id, scopes, auth_time, created_at, expires_at, auth_request_id, amr, acting_for,
		account_bidx)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, id, hash, kind, g.accountID, g.subject, g.clientID, g.scopes, g.authTime, now, exp, ar, amr,
		actingArg(g.actingFor), g.accountBidx)
	if err != nil || hash == nil {
		return err
	}
	// The refresh token's hash is unique across the country: its lookup
	// table says so (docs/scale-out.md §3.2).
	_, err = q.Exec(ctx, `INSERT INTO oidc_refresh_hash (hash, account_bidx, token_id) VALUES ($1, $2, $3)`, hash, g.accountBidx, id)
	return err
}

// liveToken finds a token that is neither revoked nor expired, of an
// account that is active, in an identity that holds (its own, or an
// agent's authorization still enabled).
func (st oidcStorage) liveToken(ctx context.Context, where string, args ...any) (string, tokenGrant, error) {
	var id string
	var g tokenGrant
	var ar *string
	var acting *int64
	args = append(args, st.s.cfg.Now())
	err := st.s.pool.QueryRow(ctx, `SELECT t.id, t.account_id, t.account_bidx, t.subject, t.client_id, t.scopes, t.auth_time, t.auth_request_id, t.amr, t.acting_for
		FROM oidc_token t
		WHERE `+where+` AND t.revoked_at IS NULL AND t.expires_at > $`+strconv.Itoa(len(args))+` AND `+account.ActiveSQL("t.account_id")+`
		  AND `+actingLiveSQL("t.acting_for", "t.account_id"), args...).
		Scan(&id, &g.accountID, &g.accountBidx, &g.subject, &g.clientID, &g.scopes, &g.authTime, &ar, &g.amr, &acting)
	if ar != nil {
		g.authRequestID = *ar
	}
	if acting != nil {
		g.actingFor = *acting
	}
	return id, g, database.Translate(err)
}

// errCodeSpent: the code being exchanged is used, or its account is no
// longer active.
var errCodeSpent = errors.New("code already used")

// codeRaced revokes the tokens of a code that another exchange spent
// first, and audits the reuse if there were any (none: the account went
// inactive, nothing to revoke).
func (st oidcStorage) codeRaced(ctx context.Context, r *oidcAuthRequest) error {
	tag, err := st.s.pool.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(2)+` WHERE auth_request_id = $1 AND revoked_at IS NULL`, r.id, st.s.cfg.Now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		st.s.audit(ctx, auditEvent{event: "oidc_code_reuse", outcome: "fail", account: r.accountID, detail: r.clientID})
	}
	return nil
}

// errRefreshSpent: the refresh token being rotated is no longer live.
var errRefreshSpent = errors.New("refresh token already used or revoked")

// TokenRequestByRefreshToken finds a live refresh token, or one rotated
// within the grace window (the grant of its live successor, which the
// refresh then gets again: oidc_refresh.go). A refresh token presented
// again after its rotation (or revocation) revokes its whole chain: one
// of its holders is not the client (RFC 9700 §4.14.2). The library
// answers an error here with invalid_grant.
func (st oidcStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	_, g, err := st.liveToken(ctx, `t.hash = $1 AND t.kind = 'refresh'`, sha(token))
	if errors.Is(err, database.ErrNotFound) {
		g, _, err = st.graceSuccessor(ctx, st.s.pool, token, st.s.cfg.Now())
		if err == nil {
			return &refreshRequest{tokenGrant: g}, nil
		}
		if !errors.Is(err, database.ErrNotFound) {
			return nil, err
		}
		if err := st.refreshReused(ctx, token); err != nil {
			return nil, err
		}
		return nil, errRefreshRefused
	}
	if err != nil {
		return nil, err
	}
	return &refreshRequest{tokenGrant: g}, nil
}

// refreshReused revokes every token of the grant of a revoked refresh
// token (the tokens of one code exchange and all their rotations share its
// authorization request), if token is one; a token unknown or merely
// expired is left alone.
func (st oidcStorage) refreshReused(ctx context.Context, token string) error {
	var account, revoked int64
	var client string
	err := st.s.pool.QueryRow(ctx, `WITH spent AS (
			SELECT auth_request_id, account_id, client_id FROM oidc_token
			WHERE hash = $1 AND kind = 'refresh' AND revoked_at IS NOT NULL AND auth_request_id IS NOT NULL),
		chain AS (
			UPDATE oidc_token t SET `+revokeSet(2)+` FROM spent
			WHERE t.auth_request_id = spent.auth_request_id AND t.revoked_at IS NULL RETURNING 1)
		SELECT account_id, client_id, (SELECT count(*) FROM chain) FROM spent`, sha(token), st.s.cfg.Now()).Scan(&account, &client, &revoked)
	if err = database.Translate(err); errors.Is(err, database.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if revoked > 0 {
		// A live chain ended: a reuse. A token of a chain already ended
		// (by an earlier reuse, or a logout) coming back tells nothing new.
		st.s.audit(ctx, auditEvent{event: "oidc_refresh_reuse", outcome: "fail", account: account, detail: client})
	}
	return nil
}

func (st oidcStorage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	id, g, err := st.liveToken(ctx, `t.hash = $1 AND t.kind = 'refresh' AND t.client_id = $2`, sha(token), clientID)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return g.subject, id, nil
}

// TerminateSession is RP-initiated logout: the client's tokens for the
// citizen are revoked, and the browser's session ends (endBrowserSession).
// It needs an id_token_hint: without one anybody's page could sign a
// citizen out.
func (st oidcStorage) TerminateSession(ctx context.Context, subject, clientID string) error {
	if subject == "" || clientID == "" {
		return oidc.ErrInvalidRequest().WithDescription("id_token_hint is required")
	}
	_, err := st.s.pool.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(3)+` WHERE subject = $1 AND client_id = $2 AND revoked_at IS NULL`,
		subject, clientID, st.s.cfg.Now())
	if err != nil {
		return err
	}
	return st.s.endBrowserSession(ctx, subject, clientID)
}

func (st oidcStorage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	_, err := st.s.pool.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(4)+` WHERE (id = $1 OR hash = $2) AND client_id = $3 AND revoked_at IS NULL`,
		tokenOrID, sha(tokenOrID), clientID, st.s.cfg.Now())
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// Keys.

func (st oidcStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return st.s.activeSigningKey(ctx)
}

func (st oidcStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (st oidcStorage) KeySet(ctx context.Context) ([]op.Key, error) { return st.s.publicKeys(ctx) }

// Clients and claims.

// GetClientByClientID: an unknown client is invalid_client (the library
// answers any other error at the token endpoint with a server_error).
func (st oidcStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := st.s.clientByID(ctx, id)
	if errors.Is(err, database.ErrNotFound) {
		st.s.audit(ctx, auditEvent{event: "oidc_client_unknown", outcome: "fail", detail: id})
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (st oidcStorage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := st.s.clientByID(ctx, id)
	if err != nil || !c.checkSecret(secret) {
		st.s.audit(ctx, auditEvent{event: "oidc_client_auth", outcome: "fail", detail: id})
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes serves the ID token's claims of a subject: the
// account's kind, and the claims of the scopes
// RestrictAdditionalIdTokenScopes keeps; the subject
// is a keyed hash, found again through the tokens issued to it.
func (st oidcStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, subject, clientID string, scopes []string) error {
	info.Subject = subject               // SetUserInfo copies it over the token's
	scopes = withoutSessionScope(scopes) // the sid: SetUserinfoFromRequest
	_, g, err := st.liveToken(ctx, `t.subject = $1 AND t.client_id = $2`, subject, clientID)
	if err != nil {
		return err
	}
	a, err := account.ByID(ctx, st.s.pool, g.accountID, false)
	if err != nil {
		return err
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = a.Name
		if a.Username != nil {
			info.PreferredUsername = *a.Username
		}
	}
	if err := st.s.accountClaims(info, a, scopes); err != nil {
		return err
	}
	return st.s.emailStandIn(ctx, info, subject, clientID, scopes)
}

func (st oidcStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	_, g, err := st.liveToken(ctx, `t.id = $1 AND t.kind = 'access' AND t.subject = $2`, tokenID, subject)
	if err != nil {
		return errors.New("token invalid, expired, revoked, or its account is not active")
	}
	return st.s.userinfo(ctx, info, g, subject, g.scopes)
}

// SetIntrospectionFromToken answers the business system the token was
// issued to (its audience; its resource servers authenticate as it): to
// another one the token is inactive (RFC 7662 §4). The default claims
// only, never the full ID number or phone (those go to the client that
// asked the citizen for them, through userinfo).
func (st oidcStorage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	_, g, err := st.liveToken(ctx, `t.id = $1 AND t.kind = 'access' AND t.subject = $2 AND t.client_id = $3`, tokenID, subject, clientID)
	if err != nil {
		return errors.New("token invalid, expired, revoked, or its account is not active")
	}
	info := new(oidc.UserInfo)
	scopes := slices.DeleteFunc(slices.Clone(g.scopes), func(s string) bool { return s == ScopeIDCard || s == oidc.ScopePhone })
	if err := st.s.userinfo(ctx, info, g, subject, scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active, resp.Scope, resp.ClientID, resp.Subject = true, g.scopes, g.clientID, subject
	return nil
}

// GetPrivateClaimsFromScopes: no claims beyond the standard ones go into
// tokens.
func (st oidcStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

var errJWTProfile = errors.New("JWT profile grants and private_key_jwt are not supported")

func (st oidcStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errJWTProfile
}

func (st oidcStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errJWTProfile
}

func (st oidcStorage) Health(ctx context.Context) error { return st.s.pool.Ping(ctx) }
