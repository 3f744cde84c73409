package authsvc

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// The OpenID provider, for the business systems: the op library serves
// the protocol under /oidc (issuer BaseURL/oidc), oidcStorage keeps its
// state in PostgreSQL, and the login is ours, gated by completion:
//
//	RP ─▶ /oidc/authorize ─▶ /oidc/login?id (binds the request to this browser)
//	   ─▶ /oidc/resume?id ──(no session)──▶ /login?return_to=/oidc/resume?id
//	                       ──(restricted)──▶ the completion steps ─▶ /complete/done?next=/oidc/resume?id
//	                       ──(full session, account active)──▶ request done ─▶ /oidc/authorize/callback?id ─▶ RP?code
//
// A request is marked done only for a full session on an active account,
// and it only counts as done while the account stays active; every token
// use re-reads the account.

// oidcPrefix is where the provider is mounted.
const oidcPrefix = "/oidc"

func (s *Server) newProvider() (http.Handler, error) {
	var key [32]byte
	// The access tokens are encrypted token ids: the key is derived from
	// the keyring, so it survives restarts and is shared by instances.
	copy(key[:], s.cfg.Keyring.BlindIndex("oidc_access_token_key", "v1"))
	conf := &op.Config{
		CryptoKey:             key,
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone, oidc.ScopeOfflineAccess, ScopeIDCard, ScopeEnterprise, ScopeAgent},
		// RP-initiated logout without a registered post_logout_redirect_uri
		// ends at our login page.
		DefaultLogoutRedirectURI: "/login",
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "at_hash",
			"name", "preferred_username", "email", "email_verified", "id_hint", "id_number", "id_type", "phone_number", "phone_number_verified",
			"account_type", "credit_code", "enterprise_name", "legal_type", "act"},
	}
	// The library logs to slog.Default (it has no logger option): the
	// command sets its logger as the default.
	// userinfo answers as RFC 6750 asks (oidc_userinfo.go).
	opts := []op.Option{op.WithHttpInterceptors(s.userinfoInterceptor)}
	if strings.HasPrefix(s.cfg.BaseURL, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(conf, oidcStorage{s}, op.StaticIssuer(s.cfg.BaseURL+oidcPrefix), opts...)
	if err != nil {
		return nil, err
	}
	s.op = p
	return http.StripPrefix(oidcPrefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case p.EndSessionEndpoint().Relative():
			// The end of a session must reach the browser's own session and
			// cookie, which the library's storage interface does not see:
			// the request carries them to TerminateSession.
			s.serveEndSession(p, w, r)
			return
		case oidc.DiscoveryEndpoint:
			s.discovery(w, r)
			return
		case p.TokenEndpoint().Relative(), p.IntrospectionEndpoint().Relative(), p.RevocationEndpoint().Relative():
			// The library takes a secret from the form as well as from the
			// Authorization header, for a client registered for the header:
			// client_secret_post would be accepted, unadvertised.
			if r.FormValue("client_secret") != "" {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client_secret_basic only"})
				return
			}
		case p.AuthorizationEndpoint().Relative():
			// The library ignores request_uri (discovery says
			// request_uri_parameter_supported false): the request would go
			// on with its other parameters, without what the client put
			// behind the URI.
			if r.FormValue("request_uri") != "" {
				http.Error(w, "request_uri_not_supported", http.StatusBadRequest)
				return
			}
		}
		p.ServeHTTP(w, r)
	})), nil
}

// discovery is the provider's metadata, as the library makes it, less
// what the provider does not accept: the implicit and hybrid response
// types and the implicit grant (clients are registered for the code flow
// only), the JWT profile grant and private_key_jwt (no client keys are
// registered), the device endpoint (no device flow), response modes other
// than query (CreateAuthRequest refuses them).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), s.cfg.BaseURL+oidcPrefix)
	d := op.CreateDiscoveryConfig(ctx, s.op, oidcStorage{s})
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	// Public clients authenticate by client_id alone (with PKCE at the
	// token endpoint); confidential ones by HTTP Basic.
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodNone}
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodNone}
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic}
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.ACRValuesSupported = []string{ACRBasic, ACRFace}
	d.BackChannelLogoutSupported, d.BackChannelLogoutSessionSupported = true, true
	writeDiscovery(w, d)
}

// browserKey is the context key of the browserRequest of an end_session
// request.
type browserKey struct{}

// browserRequest is the browser's side of an end_session request.
type browserRequest struct {
	w http.ResponseWriter
	r *http.Request
	// frontchannel are the front-channel logout URLs of the clients of
	// the session ended (endProviderSession).
	frontchannel []string
}

// endBrowserSession ends the authsvc session of the browser behind ctx (an
// end_session request) if it is the subject's, and clears its cookie; a
// session of another account is left alone (a stale id_token_hint must
// not sign out someone else).
func (s *Server) endBrowserSession(ctx context.Context, subject, clientID string) error {
	br, ok := ctx.Value(browserKey{}).(*browserRequest)
	if !ok {
		return nil
	}
	sess, err := s.session(ctx, br.r)
	switch {
	case errors.Is(err, errNoSession):
	case err != nil:
		return err
	case sess.accountID == 0 || s.subject(sess.accountID) != subject:
		return nil
	default:
		if err := s.revoke(ctx, s.pool, sess); err != nil {
			return err
		}
		s.audit(ctx, auditEvent{event: "oidc_logout", outcome: "ok", account: sess.accountID, ip: clientIP(br.r), detail: clientID})
		if br.frontchannel, err = s.endProviderSession(ctx, sess.hash); err != nil {
			return err
		}
	}
	clearCookie(br.w)
	return nil
}

// subject is the sub of an account: a keyed hash of its id, stable while
// the keyring's index key is (every blind index depends on it already),
// neither sequential nor guessable, and telling nothing of how many
// accounts there are. The account id stays an internal key.
func (s *Server) subject(accountID int64) string {
	return base64.RawURLEncoding.EncodeToString(s.cfg.Keyring.BlindIndex("oidc_subject", strconv.FormatInt(accountID, 10)))
}

// userinfo fills the claims of a token's grant (its account, client and
// identity) for its scopes: the name and the masked ID hint always, the
// enterprise acted for with ScopeAgent; the full ID number only with
// ScopeIDCard, the phone only with "phone", each release audited, and
// only while the citizen's consent for the client holds them: a consent
// revoked since the token was issued stops the release.
func (s *Server) userinfo(ctx context.Context, info *oidc.UserInfo, g tokenGrant, subject string, scopes []string) error {
	accountID, clientID := g.accountID, g.clientID
	a, err := account.ByID(ctx, s.pool, accountID, false)
	if err != nil {
		return err
	}
	if a.Status != "active" {
		return errors.New("account not active")
	}
	if ok, err := s.consentCovers(ctx, accountID, clientID, scopes); err != nil || !ok {
		return cmp.Or(err, errConsentMissing)
	}
	info.Subject = subject
	info.Name = a.Name
	if a.Username != nil {
		info.PreferredUsername = *a.Username
	}
	info.AppendClaims("id_hint", a.IDHint)
	if err := s.accountClaims(info, a, scopes); err != nil {
		return err
	}
	if err := s.actClaim(ctx, info, g.actingFor, accountID, scopes); err != nil {
		return err
	}
	if slices.Contains(scopes, ScopeIDCard) {
		id, err := s.idNumber(a)
		if err != nil {
			return err
		}
		if err := s.auditRelease(ctx, auditEvent{event: "oidc_release_id_number", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, detail: clientID}); err != nil {
			return err
		}
		info.AppendClaims("id_number", id)
		info.AppendClaims("id_type", a.IDType)
	}
	if err := s.emailStandIn(ctx, info, subject, clientID, scopes); err != nil {
		return err
	}
	if slices.Contains(scopes, oidc.ScopePhone) && a.PhoneSealed != nil {
		phone, err := s.openPhone(a.PhoneSealed)
		if err != nil {
			return err
		}
		if err := s.auditRelease(ctx, auditEvent{event: "oidc_release_phone", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(phone), detail: clientID}); err != nil {
			return err
		}
		info.PhoneNumber, info.PhoneNumberVerified = phone, oidc.Bool(a.PhoneVerified)
	}
	return nil
}

// accountClaims sets the claims of the ID token and userinfo alike: the
// kind of account, and for a legal one under ScopeEnterprise its credit
// code, name and type.
func (s *Server) accountClaims(info *oidc.UserInfo, a *account.Account, scopes []string) error {
	info.AppendClaims("account_type", string(a.Kind))
	if !a.IsLegal() || !slices.Contains(scopes, ScopeEnterprise) {
		return nil
	}
	code, err := s.idNumber(a) // a legal account's id_sealed is its credit code
	if err != nil {
		return err
	}
	info.AppendClaims("credit_code", code)
	info.AppendClaims("enterprise_name", a.Name)
	info.AppendClaims("legal_type", string(a.Legal.Type))
	return nil
}

// emailStandIn sets the "email" claim of a client registered with an
// EmailClaim, for the "email" scope: the stand-in the registration names
// (the subject), verified since the provider issued it. Accounts have no
// email of their own.
func (s *Server) emailStandIn(ctx context.Context, info *oidc.UserInfo, subject, clientID string, scopes []string) error {
	if !slices.Contains(scopes, oidc.ScopeEmail) {
		return nil
	}
	c, err := s.clientByID(ctx, clientID)
	if err != nil {
		return err
	}
	if c.emailClaim == "sub" {
		info.Email, info.EmailVerified = subject, oidc.Bool(true)
	}
	return nil
}

// auditRelease records a release of the full ID number or the phone.
// Unlike audit it fails when the record cannot be written: a release
// without its record does not happen.
func (s *Server) auditRelease(ctx context.Context, e auditEvent) error {
	err := s.auditIn(ctx, s.pool, e)
	if err != nil {
		// The library answers userinfo's errors without logging them.
		s.cfg.Logger.Error("audit_failed", slog.String("event", e.event), errAttr(err))
	}
	return err
}

// bindCookie is the cookie that binds an authorization request to the
// browser that started it.
func bindCookie(id string) string { return "__Host-idf_oidc_" + id }

var errOIDCRequest = errors.New("authorization request unknown, expired, done, or not of this browser")

// oidcLogin is the provider's login redirect: it binds the request to this
// browser (once), then goes on as the citizen's session allows.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	token, hash, err := newToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tag, err := s.pool.Exec(r.Context(), `UPDATE oidc_auth_request SET browser_hash = $2
		WHERE id = $1 AND browser_hash IS NULL AND NOT done AND created_at > $3`, id, hash, s.cfg.Now().Add(-s.cfg.OIDCAuthRequestTTL))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if tag.RowsAffected() == 0 {
		s.fail(w, r, errOIDCRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: bindCookie(id), Value: token, Path: "/", MaxAge: int(s.cfg.OIDCAuthRequestTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, resumePath(id), http.StatusSeeOther)
}

func resumePath(id string) string { return oidcPrefix + "/resume?id=" + url.QueryEscape(id) }

// oidcResume goes on with this browser's authorization request: with
// prompt=none without any page (resumeSilently), else for a full session
// (the full middleware sends anyone else to the login or the next step,
// and back here after) through what the request asks (resumeInteractive).
// A request whose consent the citizen refused ends at the client with
// access_denied.
func (s *Server) oidcResume(w http.ResponseWriter, r *http.Request) {
	req, browser, err := s.boundRequest(r.Context(), r, r.URL.Query().Get("id"))
	switch {
	case err != nil:
		s.fail(w, r, err)
	case req.denied:
		s.endRequest(w, r, req, oidc.ErrAccessDenied().WithDescription("The citizen refused the consent."))
	case slices.Contains(req.prompt, oidc.PromptNone):
		s.resumeSilently(w, r, req, browser)
	default:
		s.full(func(w http.ResponseWriter, r *http.Request, sess *session) {
			s.resumeInteractive(w, r, req, browser, sess)
		})(w, r)
	}
}

// completeRequest marks the request done for a full session on an active
// account, with the session's login time and methods and the identity it
// acts in (its acting_for, checked enabled and the account's in the same
// statement), and hands back to the provider, which issues the code.
func (s *Server) completeRequest(w http.ResponseWriter, r *http.Request, req *oidcAuthRequest, browser []byte, sess *session, amr []string) {
	var clientID string
	// The request carries the account's blind index, for the tokens of its
	// code (their shard key), from the account row.
	// (None: the UPDATE's check of the account refuses the request.)
	var bidx []byte
	a, err := account.ByID(r.Context(), s.pool, sess.accountID, false)
	switch {
	case err == nil:
		bidx = a.IDBidx
	case !errors.Is(err, database.ErrNotFound):
		s.fail(w, r, err)
		return
	}
	err = s.pool.QueryRow(r.Context(), `UPDATE oidc_auth_request SET account_id = $2, done = true, auth_time = $3, amr = $6, session_hash = $7, acting_for = $8,
		account_bidx = $9
		WHERE id = $1 AND browser_hash = $4 AND NOT done AND NOT denied AND created_at > $5
		  AND `+account.ActiveSQL("$2")+` AND `+actingLiveSQL("$8::bigint", "$2")+`
		RETURNING client_id`, req.id, sess.accountID, sess.created, browser, s.cfg.Now().Add(-s.cfg.OIDCAuthRequestTTL), amr, sess.hash,
		actingArg(sess.actingFor), bidx).Scan(&clientID)
	if err = database.Translate(err); err != nil {
		if errors.Is(err, database.ErrNotFound) {
			s.audit(r.Context(), auditEvent{event: "oidc_authorize", outcome: "fail", account: sess.accountID, ip: clientIP(r)})
			err = errOIDCRequest
		}
		s.fail(w, r, err)
		return
	}
	detail := clientID
	if sess.actingFor != 0 {
		detail += fmt.Sprintf(" acting for authorization %d", sess.actingFor)
	}
	s.audit(r.Context(), auditEvent{event: "oidc_authorize", outcome: "ok", account: sess.accountID, ip: clientIP(r), detail: detail})
	clearBindCookie(w, req.id)
	http.Redirect(w, r, oidcPrefix+"/authorize/callback?id="+url.QueryEscape(req.id), http.StatusSeeOther)
}

// endRequest ends the request at the client's redirect URI with e
// (login_required, consent_required, access_denied).
func (s *Server) endRequest(w http.ResponseWriter, r *http.Request, req *oidcAuthRequest, e *oidc.Error) {
	s.audit(r.Context(), auditEvent{event: "oidc_authorize", outcome: "refused", ip: clientIP(r), detail: req.clientID + " " + string(e.ErrorType)})
	clearBindCookie(w, req.id)
	op.AuthRequestError(w, r, req, e, s.op)
}

func clearBindCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: bindCookie(id), Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// oidcRoutes: the OpenID provider's login gate, resume, step-up and
// consent, and the center's consents (the protocol's own endpoints are
// mounted in routes).
func (s *Server) oidcRoutes() []route {
	return []route{
		{"GET " + oidcPrefix + "/login", s.oidcLogin},
		{"GET " + oidcPrefix + "/resume", s.oidcResume},
		{"GET " + oidcPrefix + "/stepup", s.full(s.oidcStepUp)},
		{"POST " + oidcPrefix + "/consent", s.full(s.oidcConsentForm)},
		{"POST /center/consents/revoke", s.full(s.revokeConsentForm)},
		{"GET /api/v1/consents", s.full(s.apiConsents)},
		{"POST /api/v1/consents/revoke", s.full(s.apiRevokeConsent)},
	}
}
