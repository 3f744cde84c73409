package authsvc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/database"
)

// Single logout (单点退出) across the business systems.
//
// A provider session is a citizen's auth_session. Every code exchanged
// records its client against the session that completed the request
// (oidc_session_client, with the session's sid, which the ID tokens of
// that session carry). When the session ends — RP-initiated logout at
// end_session, 退出登录 in the personal center — every client of the
// session loses its tokens of the session and, if it registered one, gets
// a logout token (OpenID Connect Back-Channel Logout 1.0) from a durable
// outbox (oidc_logout_outbox) that a worker delivers with retries
// (DeliverLogouts, RunLogoutDelivery); a client with a front-channel URI
// is loaded in an iframe of the logged-out page (Front-Channel Logout
// 1.0). The personal center lists the systems the citizen is signed in to
// and ends one or all of them (endClients).

// backchannelEvent is the event of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

const (
	// logoutMaxAttempts bounds the deliveries of one logout token; the
	// last failure is audited (oidc_backchannel_logout, fail).
	logoutMaxAttempts = 8
	// logoutBackoff is the wait after the first failed attempt, doubled
	// after each (capped at logoutMaxBackoff).
	logoutBackoff    = 30 * time.Second
	logoutMaxBackoff = time.Hour
	// logoutPoll is how often the worker looks for due deliveries when
	// nothing new was queued (Server.logoutPoll).
	logoutPoll = 15 * time.Second
	// logoutTokenTTL is the lifetime of a logout token (its exp).
	logoutTokenTTL = 2 * time.Minute
)

// LogoutChannels are a client's logout registrations.
type LogoutChannels struct {
	// BackchannelURI receives logout tokens (https, or http on a loopback
	// address). "": none.
	BackchannelURI string
	// BackchannelSessionRequired: the logout token carries the sid.
	BackchannelSessionRequired bool
	// FrontchannelURI is loaded in an iframe of the logged-out page
	// (https, or http on a loopback address). "": none.
	FrontchannelURI string
	// FrontchannelSessionRequired: the iframe's URL carries iss and sid.
	FrontchannelSessionRequired bool
}

func (l LogoutChannels) validate() error {
	for name, u := range map[string]string{"BackchannelURI": l.BackchannelURI, "FrontchannelURI": l.FrontchannelURI} {
		if u != "" && !validRedirect(u) {
			return fmt.Errorf("Client.Logout.%s: %q must be an absolute https URL (http only on a loopback address) without fragment", name, u)
		}
	}
	return nil
}

// sessionID is the sid of a provider session: a keyed hash of its stored
// hash, so it tells nothing of the session's token.
func (s *Server) sessionID(sessionHash []byte) string {
	return base64.RawURLEncoding.EncodeToString(s.cfg.Keyring.BlindIndex("oidc_sid", hex.EncodeToString(sessionHash)))
}

// trackSession records, in the code exchange's transaction, that the
// request's client got tokens in the session that completed it.
func (st oidcStorage) trackSession(ctx context.Context, q querier, r *oidcAuthRequest, now time.Time) error {
	var hash []byte
	if err := q.QueryRow(ctx, `SELECT session_hash FROM oidc_auth_request WHERE id = $1`, r.id).Scan(&hash); err != nil {
		return err
	}
	if hash == nil {
		return nil
	}
	_, err := q.Exec(ctx, `INSERT INTO oidc_session_client (session_hash, client_id, account_id, subject, sid, created_at, account_bidx)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (session_hash, client_id) DO UPDATE SET ended_at = NULL`, hash, r.clientID, r.accountID, r.subject, st.s.sessionID(hash), now, r.accountBidx)
	return err
}

// scopeSessionID is an internal scope that RestrictAdditionalIdTokenScopes
// hands the library so that it calls SetUserinfoFromRequest, which puts
// the sid into the ID token. No client asks for it (CreateAuthRequest
// refuses unregistered scopes, and RegisterClient never registers it).
const scopeSessionID = "urn:idfusion:sid"

// withoutSessionScope drops scopeSessionID.
func withoutSessionScope(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == scopeSessionID })
}

// SetUserinfoFromRequest (op.CanSetUserinfoFromRequest) sets the ID
// token's sub, its "act" in an agent's identity (ScopeAgent, oidc_agent.go),
// and its sid when the tokens came from a code exchanged in a provider
// session.
func (st oidcStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	info.Subject = req.GetSubject()
	var id string
	var accountID, acting int64
	switch r := req.(type) {
	case *oidcAuthRequest:
		id, accountID, acting = r.id, r.accountID, r.actingFor
	case *refreshRequest:
		id, accountID, acting = r.authRequestID, r.accountID, r.actingFor
	}
	if err := st.s.actClaim(ctx, info, acting, accountID, scopes); err != nil {
		return err
	}
	if id == "" {
		return nil
	}
	var hash []byte
	err := st.s.pool.QueryRow(ctx, `SELECT session_hash FROM oidc_auth_request WHERE id = $1`, id).Scan(&hash)
	if err != nil && !errors.Is(database.Translate(err), database.ErrNotFound) {
		return err
	}
	if hash != nil {
		info.AppendClaims("sid", st.s.sessionID(hash))
	}
	return nil
}

// endedClient is a client told of the end of a session.
type endedClient struct {
	clientID, subject, sid string
	accountID              int64
	accountBidx            []byte
}

// endProviderSession ends the business systems' part of a provider
// session: the tokens of its codes are revoked, and its clients are told
// (the back-channel ones through the outbox). It returns the front-channel
// logout URLs for the logged-out page.
func (s *Server) endProviderSession(ctx context.Context, sessionHash []byte) ([]string, error) {
	var ended []endedClient
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) (err error) {
		ended, err = endProviderSessionsIn(ctx, tx, [][]byte{sessionHash}, s.cfg.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.kickLogouts()
	return s.frontchannelURLs(ctx, ended)
}

// endProviderSessionsIn ends, in tx, the business systems' part of the
// provider sessions sessionHashes: their clients' sign-ins end, the
// tokens of their codes are revoked, and the back-channel clients' logout
// tokens are queued in the outbox (the service's worker delivers them,
// also when an operator's command queued them).
func endProviderSessionsIn(ctx context.Context, tx pgx.Tx, sessionHashes [][]byte, now time.Time) ([]endedClient, error) {
	rows, err := tx.Query(ctx, `UPDATE oidc_session_client SET ended_at = $2 WHERE session_hash = ANY($1) AND ended_at IS NULL
		RETURNING client_id, subject, sid, account_id, account_bidx`, sessionHashes, now)
	if err != nil {
		return nil, err
	}
	ended, err := collectEnded(rows)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE oidc_token t SET `+revokeSet(2)+` FROM oidc_auth_request r
		WHERE t.auth_request_id = r.id AND r.session_hash = ANY($1) AND t.revoked_at IS NULL`, sessionHashes, now); err != nil {
		return nil, err
	}
	return ended, enqueueLogouts(ctx, tx, ended, now)
}

// endClients ends the account's sign-ins to a business system (clientID)
// or to all of them (""), from the personal center: the client's tokens
// for the account are revoked and it is told of the end of each session.
func (s *Server) endClients(ctx context.Context, accountID int64, clientID string) ([]endedClient, error) {
	now := s.cfg.Now()
	var ended []endedClient
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE oidc_session_client SET ended_at = $3 WHERE account_id = $1 AND ($2 = '' OR client_id = $2) AND ended_at IS NULL
			RETURNING client_id, subject, sid, account_id, account_bidx`, accountID, clientID, now)
		if err != nil {
			return err
		}
		if ended, err = collectEnded(rows); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(3)+` WHERE account_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at IS NULL`,
			accountID, clientID, now); err != nil {
			return err
		}
		return enqueueLogouts(ctx, tx, ended, now)
	})
	if err != nil {
		return nil, err
	}
	s.kickLogouts()
	return ended, nil
}

func collectEnded(rows pgx.Rows) ([]endedClient, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (endedClient, error) {
		var e endedClient
		err := row.Scan(&e.clientID, &e.subject, &e.sid, &e.accountID, &e.accountBidx)
		return e, err
	})
}

// enqueueLogouts queues a logout token for each ended client that
// registered a back-channel URI.
func enqueueLogouts(ctx context.Context, tx pgx.Tx, ended []endedClient, now time.Time) error {
	for _, e := range ended {
		if _, err := tx.Exec(ctx, `INSERT INTO oidc_logout_outbox (client_id, account_id, subject, sid, created_at, next_attempt_at, account_bidx)
			SELECT id, $2, $3, $4, $5, $5, $6 FROM oidc_client WHERE id = $1 AND backchannel_logout_uri <> ''`,
			e.clientID, e.accountID, e.subject, e.sid, now, e.accountBidx); err != nil {
			return err
		}
	}
	return nil
}

// frontchannelURLs are the front-channel logout URLs of the ended clients
// that registered one, with iss and sid where the client asked for them.
func (s *Server) frontchannelURLs(ctx context.Context, ended []endedClient) ([]string, error) {
	var out []string
	for _, e := range ended {
		var uri string
		var withSession bool
		err := s.pool.QueryRow(ctx, `SELECT frontchannel_logout_uri, frontchannel_logout_session_required FROM oidc_client WHERE id = $1`,
			e.clientID).Scan(&uri, &withSession)
		if err = database.Translate(err); errors.Is(err, database.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if uri == "" {
			continue
		}
		if withSession {
			u, err := url.Parse(uri)
			if err != nil {
				return nil, err
			}
			q := u.Query()
			q.Set("iss", s.cfg.BaseURL+oidcPrefix)
			q.Set("sid", e.sid)
			u.RawQuery = q.Encode()
			uri = u.String()
		}
		out = append(out, uri)
	}
	return out, nil
}

// kickLogouts wakes the delivery worker, if it runs and is idle.
func (s *Server) kickLogouts() {
	select {
	case s.logoutKick <- struct{}{}:
	default:
	}
}

// RunLogoutDelivery delivers queued logout tokens until ctx ends: at once
// when a logout queued one, else every logoutPoll for the retries.
func (s *Server) RunLogoutDelivery(ctx context.Context) {
	t := time.NewTicker(s.logoutPoll)
	defer t.Stop()
	for {
		if _, err := s.DeliverLogouts(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("logout_delivery_failed", errAttr(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.logoutKick:
		}
	}
}

// pendingLogout is a claimed outbox row.
type pendingLogout struct {
	id                          int64
	clientID, subject, sid, uri string
	accountID                   int64
	attempts                    int
	withSession                 bool
}

// DeliverLogouts makes one pass over the due logout tokens and returns how
// many were delivered. Each row is claimed first (its attempt counted and
// its next attempt set after the backoff), so a crash or another instance
// never sends it twice at once, and a failure is retried after the wait.
func (s *Server) DeliverLogouts(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	rows, err := s.pool.Query(ctx, `UPDATE oidc_logout_outbox o SET attempts = o.attempts + 1,
			next_attempt_at = $1 + least($3 * power(2, o.attempts), $4) * interval '1 second'
		FROM oidc_client c
		WHERE c.id = o.client_id AND o.id IN (
			SELECT id FROM oidc_logout_outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING o.id, o.client_id, o.account_id, o.subject, o.sid, o.attempts, c.backchannel_logout_uri, c.backchannel_logout_session_required`,
		now, 100, logoutBackoff.Seconds(), logoutMaxBackoff.Seconds())
	if err != nil {
		return 0, err
	}
	due, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pendingLogout, error) {
		var p pendingLogout
		err := row.Scan(&p.id, &p.clientID, &p.accountID, &p.subject, &p.sid, &p.attempts, &p.uri, &p.withSession)
		return p, err
	})
	if err != nil {
		return 0, err
	}
	delivered := 0
	for _, p := range due {
		if ctx.Err() != nil {
			// Shutting down: the rows claimed and not sent are due again
			// after their backoff.
			return delivered, ctx.Err()
		}
		// The delivery in flight, and its record, finish even when
		// shutting down (bounded by sendLogout's timeout).
		ctx := context.WithoutCancel(ctx)
		err := s.sendLogout(ctx, p)
		if err == nil {
			delivered++
			if _, err := s.pool.Exec(ctx, `UPDATE oidc_logout_outbox SET delivered_at = $2, last_error = '' WHERE id = $1`, p.id, s.cfg.Now()); err != nil {
				return delivered, err
			}
			s.audit(ctx, auditEvent{event: "oidc_backchannel_logout", outcome: "ok", account: p.accountID, detail: p.clientID})
			continue
		}
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		var failedAt *time.Time
		if p.attempts >= logoutMaxAttempts {
			failedAt = new(s.cfg.Now())
		}
		if _, err := s.pool.Exec(ctx, `UPDATE oidc_logout_outbox SET last_error = $2, failed_at = $3 WHERE id = $1`, p.id, msg, failedAt); err != nil {
			return delivered, err
		}
		if failedAt != nil {
			s.audit(ctx, auditEvent{event: "oidc_backchannel_logout", outcome: "fail", account: p.accountID, detail: p.clientID + " " + msg})
		} else {
			s.cfg.Logger.Warn("logout_delivery_retry", slog.String("client", p.clientID), slog.Int("attempts", p.attempts), slog.String("error", msg))
		}
	}
	return delivered, nil
}

// sendLogout POSTs a fresh logout token to the client's back-channel URI;
// a 2xx answer is a delivery.
func (s *Server) sendLogout(ctx context.Context, p pendingLogout) error {
	if p.uri == "" {
		return errors.New("the client no longer has a backchannel_logout_uri")
	}
	token, err := s.logoutToken(ctx, p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.uri, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", p.uri, resp.Status)
	}
	return nil
}

// logoutToken is the signed logout token (typ logout+jwt) for p: iss,
// aud (the client), iat, exp, jti, sub, the back-channel event, and the
// sid when the client asked for it; never a nonce.
func (s *Server) logoutToken(ctx context.Context, p pendingLogout) (string, error) {
	k, err := s.activeSigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", err
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := s.cfg.Now()
	claims := map[string]any{
		"iss":    s.cfg.BaseURL + oidcPrefix,
		"aud":    p.clientID,
		"sub":    p.subject,
		"iat":    now.Unix(),
		"exp":    now.Add(logoutTokenTTL).Unix(),
		"jti":    base64.RawURLEncoding.EncodeToString(jti[:]),
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if p.withSession {
		claims["sid"] = p.sid
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

// writeDiscovery writes the discovery document with the front-channel
// logout metadata, which the library's struct lacks.
func writeDiscovery(w http.ResponseWriter, d *oidc.DiscoveryConfiguration) {
	raw, err := json.Marshal(d)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m["frontchannel_logout_supported"] = true
	m["frontchannel_logout_session_supported"] = true
	writeJSON(w, http.StatusOK, m)
}

// signedInSystem is a business system the citizen is signed in to, as the
// personal center lists it.
type signedInSystem struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	Since    string `json:"since"`
}

// systemsOf are the business systems the account got tokens from in a
// provider session that is still live (neither ended nor timed out: a
// revocation brings expires_at back to it), and not ended since.
func (s *Server) systemsOf(ctx context.Context, accountID int64) ([]signedInSystem, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.name, min(sc.created_at) FROM oidc_session_client sc
		JOIN oidc_client c ON c.id = sc.client_id
		JOIN auth_session a ON a.id_hash = sc.session_hash
		WHERE sc.account_id = $1 AND sc.ended_at IS NULL AND a.expires_at > $2 AND a.last_seen_at > $3
		GROUP BY c.id, c.name ORDER BY min(sc.created_at), c.id`, accountID, s.cfg.Now(), s.cfg.Now().Add(-s.cfg.IdleTimeout))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (signedInSystem, error) {
		var e signedInSystem
		var at time.Time
		err := row.Scan(&e.ClientID, &e.Name, &at)
		e.Since = at.In(shanghai).Format("2006-01-02 15:04")
		return e, err
	})
}

// endSystems ends the citizen's sign-ins to one business system
// (client_id) or, for 全部退出, to all of them, and audits it.
func (s *Server) endSystems(ctx context.Context, r *http.Request, accountID int64, clientID string) error {
	ended, err := s.endClients(ctx, accountID, clientID)
	if err != nil {
		return err
	}
	if len(ended) == 0 {
		return errSystemUnknown
	}
	for _, e := range ended {
		s.audit(ctx, auditEvent{event: "oidc_center_logout", outcome: "ok", account: accountID, ip: clientIP(r), detail: e.clientID})
	}
	return nil
}

// errSystemUnknown: the citizen is not signed in to that business system.
var errSystemUnknown = errors.New("not signed in to that business system")

func (s *Server) endSystemForm(w http.ResponseWriter, r *http.Request, sess *session) {
	clientID := r.PostFormValue("client_id")
	if clientID == "" && r.PostFormValue("all") != "1" {
		s.fail(w, r, errBadRequest)
		return
	}
	if err := s.endSystems(r.Context(), r, sess.accountID, clientID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/center", http.StatusSeeOther)
}

func (s *Server) apiSystems(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := s.systemsOf(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"systems": list})
}

func (s *Server) apiEndSystem(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		ClientID string `json:"client_id"`
		All      bool   `json:"all"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.ClientID == "" && !in.All {
		s.fail(w, r, errBadRequest)
		return
	}
	if err := s.endSystems(r.Context(), r, sess.accountID, in.ClientID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// logoutRoutes: the personal center's signed-in business systems.
func (s *Server) logoutRoutes() []route {
	return []route{
		{"POST /center/systems/end", s.full(s.endSystemForm)},
		{"GET /api/v1/systems", s.full(s.apiSystems)},
		{"POST /api/v1/systems/end", s.full(s.apiEndSystem)},
	}
}

// renderLoggedOut is the logged-out page: an iframe for each front-channel
// logout URL (the page's CSP lets exactly their origins be framed), and a
// link on to next.
func (s *Server) renderLoggedOut(w http.ResponseWriter, r *http.Request, frontchannel []string, next string) {
	var origins []string
	for _, u := range frontchannel {
		p, err := url.Parse(u)
		if err != nil {
			continue
		}
		if o := p.Scheme + "://" + p.Host; !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; frame-src "+strings.Join(origins, " "))
	s.render(w, r, "loggedout.html", pageData{Title: "已退出登录", Continue: next, Frontchannel: frontchannel})
}

// serveEndSession serves RP-initiated logout through h (the library) with
// the browser's side in the context (endBrowserSession). When clients of
// the ended session registered front-channel URIs, the library's redirect
// becomes the logged-out page with their iframes and a link on to where
// the redirect pointed.
func (s *Server) serveEndSession(h http.Handler, w http.ResponseWriter, r *http.Request) {
	br := &browserRequest{w: w, r: r}
	rec := &heldRedirect{ResponseWriter: w, br: br}
	h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), browserKey{}, br)))
	if rec.held {
		next := w.Header().Get("Location")
		w.Header().Del("Location")
		s.renderLoggedOut(w, r, br.frontchannel, next)
	}
}

// heldRedirect holds back a redirect (and its body) when there are
// front-channel logouts to show first.
type heldRedirect struct {
	http.ResponseWriter
	br   *browserRequest
	held bool
}

func (h *heldRedirect) WriteHeader(code int) {
	if code >= 300 && code < 400 && len(h.br.frontchannel) > 0 {
		h.held = true
		return
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *heldRedirect) Write(b []byte) (int, error) {
	if h.held {
		return len(b), nil
	}
	return h.ResponseWriter.Write(b)
}
