package authsvc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// What a business system's request asks of the login, checked at
// /oidc/resume for the session the citizen holds, in this order:
//
//	session older than max_age, or than the request with prompt=login
//	      ─▶ the session ends ─▶ /login?return_to=/oidc/resume?id (a fresh login)
//	acr face asked (acr_values, or a client registered RequireFace), no face in the session
//	      ─▶ /oidc/stepup?id: a face check of the session's own account; the
//	         session is rotated with face added to its amr
//	idcard or phone not yet approved by the account for the client
//	      ─▶ the consent page (oidc_consent.go)
//	      ─▶ request done: amr and auth_time (the session's login) go into the ID token
//
// With prompt=none no page is ever shown: any of these, or no full session,
// ends the request at the client with login_required (consent_required
// for the consent).

// Authentication methods (RFC 8176) as a session records them
// (auth_session.amr). The ID token's amr adds "mfa" when there are two.
const (
	amrPassword = "pwd"
	amrSMS      = "sms"
	amrFace     = "face"
	// The other ways in (units.go): a federated login (not in RFC 8176's
	// registry; the value Azure AD and others use), a software-secured key
	// (the licence app's), a hardware-secured key (the U-KEY).
	amrUpstream = "fed"
	amrLicence  = "swk"
	amrCA       = "hwk"
	amrMFA      = "mfa"
)

// Authentication context classes: the ID token's acr, and what a business
// system may ask for in acr_values.
const (
	// ACRBasic is one factor: a password, or an SMS code to the phone on
	// record.
	ACRBasic = "urn:idfusion:acr:basic"
	// ACRFace is a session in which the citizen's face was verified by
	// the face provider: a face login, the completion's face step, or a
	// face step-up. Asked for in acr_values (or by a client registered
	// with RequireFace), it makes a session without it do a face step-up.
	ACRFace = "urn:idfusion:acr:face"
)

// faceStepUp is the face challenge purpose of a step-up.
const faceStepUp = "stepup"

// amrClaim is the ID token's amr of a session's methods.
func amrClaim(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	out := slices.Clone(methods)
	if len(methods) > 1 {
		out = append(out, amrMFA)
	}
	return out
}

// acrOf is the ID token's acr of a session's methods ("" for none
// recorded).
func acrOf(methods []string) string {
	switch {
	case len(methods) == 0:
		return ""
	case slices.Contains(methods, amrFace):
		return ACRFace
	}
	return ACRBasic
}

// rotateAuthenticated replaces old with a full session for accountID that
// was authenticated by old's methods and method too (the completion's
// face, a step-up): a change of privilege gets a new session.
func (s *Server) rotateAuthenticated(ctx context.Context, q querier, w http.ResponseWriter, old *session, accountID int64, method string) (*session, error) {
	next, err := s.rotate(ctx, q, w, old, kindFull, accountID)
	if err != nil {
		return nil, err
	}
	_, err = q.Exec(ctx, `UPDATE auth_session n SET amr = ARRAY(SELECT DISTINCT m FROM unnest(o.amr || $3::text) m ORDER BY m)
		FROM auth_session o WHERE n.id_hash = $1 AND o.id_hash = $2`, next.hash, old.hash, method)
	return next, err
}

// sessionAMR is how sess was authenticated.
func (s *Server) sessionAMR(ctx context.Context, sess *session) ([]string, error) {
	var amr []string
	err := s.pool.QueryRow(ctx, `SELECT amr FROM auth_session WHERE id_hash = $1`, sess.hash).Scan(&amr)
	return amr, database.Translate(err)
}

// boundRequest is the pending authorization request id of this browser
// (its bind cookie; see oidcLogin), and the cookie's hash.
func (s *Server) boundRequest(ctx context.Context, r *http.Request, id string) (*oidcAuthRequest, []byte, error) {
	c, err := r.Cookie(bindCookie(id))
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil, nil, errOIDCRequest
	}
	browser := hashToken(c.Value)
	req, _, _, err := oidcStorage{s}.scanAuthRequest(s.pool.QueryRow(ctx, authRequestSelect+`
		WHERE r.id = $1 AND r.browser_hash = $2 AND NOT r.done AND r.created_at > $3`, id, browser, s.cfg.Now().Add(-s.cfg.OIDCAuthRequestTTL)))
	if errors.Is(err, database.ErrNotFound) {
		err = errOIDCRequest
	}
	return req, browser, err
}

// obstacle is what a session must do before a request gets its code.
type obstacle int

const (
	noObstacle   obstacle = iota
	needLogin             // older than max_age or prompt=login allow
	needFace              // face asked for, none in the session
	needConsent           // sensitive scopes not approved
	needFullness          // no full session on an active account (prompt=none only)
)

// obstacleOf finds the first thing sess must do for req.
func (s *Server) obstacleOf(ctx context.Context, req *oidcAuthRequest, sess *session, amr []string) (obstacle, error) {
	c, err := s.clientByID(ctx, req.clientID)
	if err != nil {
		return 0, err
	}
	if s.stale(req, sess) {
		return needLogin, nil
	}
	if (c.requireFace || slices.Contains(req.acrValues, ACRFace)) && !slices.Contains(amr, amrFace) {
		return needFace, nil
	}
	ok, err := s.consentCovers(ctx, sess.accountID, req.clientID, req.scopes)
	if err != nil || !ok {
		return needConsent, err
	}
	return noObstacle, nil
}

// stale: the request has a max_age (prompt=login is max_age 0) and the
// session's login is older, unless it was made after the request arrived
// (the login the request itself led to). A session's created_at is its
// login: every login and every gain of a factor starts a new session.
func (s *Server) stale(req *oidcAuthRequest, sess *session) bool {
	if req.maxAge == nil || !sess.created.Before(req.created) {
		return false
	}
	return s.cfg.Now().Sub(sess.created) > time.Duration(*req.maxAge)*time.Second
}

// resumeInteractive takes a full session on an active account (the full
// middleware saw to that) through what the request asks, page by page.
func (s *Server) resumeInteractive(w http.ResponseWriter, r *http.Request, req *oidcAuthRequest, browser []byte, sess *session) {
	ctx := r.Context()
	amr, err := s.sessionAMR(ctx, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ob, err := s.obstacleOf(ctx, req, sess, amr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch ob {
	case needLogin:
		// The old session ends here, not at the next login: a citizen who
		// walks away leaves no session a business system deemed too old.
		if err := s.revoke(ctx, s.pool, sess); err != nil {
			s.fail(w, r, err)
			return
		}
		s.audit(ctx, auditEvent{event: "oidc_reauthenticate", outcome: "ok", account: sess.accountID, ip: clientIP(r), detail: req.clientID})
		clearCookie(w)
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(resumePath(req.id)), http.StatusSeeOther)
	case needFace:
		http.Redirect(w, r, oidcPrefix+"/stepup?id="+url.QueryEscape(req.id), http.StatusSeeOther)
	case needConsent:
		s.consentPage(w, r, req, sess)
	default:
		s.completeRequest(w, r, req, browser, sess, amr)
	}
}

// errConsentRequired is OpenID Connect's consent_required (the library
// has no constructor for it).
func errConsentRequired() *oidc.Error {
	return &oidc.Error{ErrorType: "consent_required", Description: "The citizen has not approved what this client asks for."}
}

// resumeSilently is prompt=none: the code for a session that needs
// nothing more, else the error at the client, never a page.
func (s *Server) resumeSilently(w http.ResponseWriter, r *http.Request, req *oidcAuthRequest, browser []byte) {
	ctx := r.Context()
	ob, sess, amr, err := s.silentObstacle(ctx, r, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch ob {
	case noObstacle:
		s.completeRequest(w, r, req, browser, sess, amr)
	case needConsent:
		s.endRequest(w, r, req, errConsentRequired())
	default:
		s.endRequest(w, r, req, oidc.ErrLoginRequired().WithDescription("The citizen must log in."))
	}
}

// silentObstacle is obstacleOf for a browser whose session is not known
// to be full.
func (s *Server) silentObstacle(ctx context.Context, r *http.Request, req *oidcAuthRequest) (obstacle, *session, []string, error) {
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		return needFullness, nil, nil, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	if sess.kind != kindFull {
		return needFullness, nil, nil, nil
	}
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return 0, nil, nil, err
	}
	if a.Status != "active" {
		return needFullness, nil, nil, nil
	}
	amr, err := s.sessionAMR(ctx, sess)
	if err != nil {
		return 0, nil, nil, err
	}
	ob, err := s.obstacleOf(ctx, req, sess, amr)
	return ob, sess, amr, err
}

// oidcStepUp is the face step-up of a request asking for face: a face
// challenge of the session's own account, shown until the provider
// approves it; then the session is rotated with face in its amr and the
// request goes on.
func (s *Server) oidcStepUp(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	if _, _, err := s.boundRequest(ctx, r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	// A face check like the face login's: the lock of failed codes and
	// faces stops it (a password session would else try faces here
	// unbounded), also for a challenge the provider approved meanwhile.
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.stepLocked(ctx, r, a, "face_stepup"); err != nil {
		s.fail(w, r, err)
		return
	}
	ch, err := s.stepUpChallenge(ctx, r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, err := s.faceStatus(ctx, sess, ch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status != "approved" {
		s.render(w, r, "face.html", s.faceData("身份核验", ch, status, ""))
		return
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		// The challenge is of the session's own account (stepUpChallenge),
		// and only this session can spend it.
		acc, err := s.useFace(ctx, tx, sess, ch, faceStepUp)
		if err != nil {
			return err
		}
		_, err = s.rotateAuthenticated(ctx, tx, w, sess, acc, amrFace)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(ctx, auditEvent{event: "face_stepup", outcome: "ok", account: sess.accountID, ip: clientIP(r)})
	http.Redirect(w, r, resumePath(id), http.StatusSeeOther)
}

// stepUpChallenge is the session's step-up challenge still open, or a new
// one for its account.
func (s *Server) stepUpChallenge(ctx context.Context, r *http.Request, sess *session) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id FROM face_challenge WHERE session_hash = $1 AND purpose = $2 AND status IN ('pending', 'approved')
		AND expires_at > $3 ORDER BY created_at DESC LIMIT 1`, sess.hash, faceStepUp, s.cfg.Now()).Scan(&id)
	if err = database.Translate(err); !errors.Is(err, database.ErrNotFound) {
		return id, err
	}
	id, err = s.startFace(ctx, sess, sess.accountID, faceStepUp)
	if err == nil {
		s.audit(ctx, auditEvent{event: "face_stepup_start", outcome: "ok", account: sess.accountID, ip: clientIP(r)})
	}
	return id, err
}
