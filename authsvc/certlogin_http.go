package authsvc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// The CA login's two sides. The main site's 法人登录 tab starts a
// challenge (purpose 'ca', bound to the browser's anonymous session) and
// sends the browser to the certificate listener, which asks for the
// client certificate (tls.RequireAnyClientCert: the handshake takes any,
// the handler verifies and audits), approves the challenge with the
// account and sends the browser back; the owning session spends it and
// signs in. Scripts POST /api/v1/login/ca to the certificate listener and
// are signed in at once. No certificate is stored; the audit log keeps
// its serial and issuer.

// faceCA is the CA login's challenge purpose.
const faceCA = "ca"

// errCALogin is every refusal of a certificate as the citizen hears it;
// the audit log says why.
var errCALogin = errors.New("certificate login refused")

// errCAUnknown: no such CA challenge for this session, or not pending.
var errCAUnknown = errors.New("no such CA login challenge")

const caLoginFailedMessage = "CA 认证登录失败：请确认已插入海南 CA 发放的 U-KEY，证书在有效期内且未被注销。首次登录需要按界面提示下载安装 CA 数字证书驱动。"

// CertHandler is the certificate listener's handler (cmd/authsvc
// --ca-addr): its TLS configuration must request a client certificate
// (tls.RequireAnyClientCert). Nil when Config.CA is not set.
func (s *Server) CertHandler() http.Handler {
	if s.cfg.CA == nil {
		return nil
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /ca/login", s.limited(s.caApprove))
	m.HandleFunc("POST /api/v1/login/ca", s.limited(s.apiCALogin))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return s.recoverer(s.peer(securityHeaders(http.NewCrossOriginProtection().Handler(s.limitBody(m)))))
}

// CertListenerTLS is the certificate listener's TLS configuration, from
// base (its server certificate; nil: none yet): TLS 1.2 or later, a
// client certificate requested but not verified by the handshake — the
// handler verifies it (CertLogin) and audits every refusal, a missing
// certificate too, and answers in Chinese instead of a handshake error.
func CertListenerTLS(base *tls.Config) *tls.Config {
	c := &tls.Config{}
	if base != nil {
		c = base.Clone()
	}
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	c.ClientAuth = tls.RequestClientCert
	return c
}

// caAccount verifies the request's client certificate and finds its
// account. Every refusal is audited (login_ca, why, the serial and the
// issuer) and counted on the account the certificate names when the
// roots issued it.
func (s *Server) caAccount(ctx context.Context, r *http.Request) (*account.Account, certIdentity, error) {
	ca := s.cfg.CA
	var chain []*x509.Certificate
	if r.TLS != nil {
		chain = r.TLS.PeerCertificates
	}
	id, verr := ca.verify(chain, s.cfg.Now())
	detail := func(why string) string {
		return "provider=CA reason=" + why + " serial=" + id.serial + " issuer=" + id.issuer
	}
	var a *account.Account
	subject := ""
	if id.key != "" && id.trusted {
		p := personal
		if ca.subject.Kind == schemas.KindLegal {
			p = legalPerson
			if _, ok := account.NormalizeCreditCode(id.key); !ok {
				return s.caRefuse(ctx, r, nil, false, pii.MaskID(id.key), detail("unmapped subject: not a credit code"), id)
			}
		}
		var err error
		if a, subject, err = s.lookupAs(ctx, p, id.key); err != nil {
			return nil, id, err
		}
	}
	if verr != nil {
		// The issuer's CRL missing or out of date is the CA's outage (or
		// the fetch job's), not the holder's failure: audited on the
		// account, not counted, so that it locks no one out.
		crl := errors.Is(verr, errCertNoCRL) || errors.Is(verr, errCertCRLExpired)
		return s.caRefuse(ctx, r, a, !crl, subject, detail(verr.Error()), id)
	}
	if a == nil {
		return s.caRefuse(ctx, r, nil, false, subject, detail("unmapped subject: no account"), id)
	}
	if s.locked(a) {
		// Not counted: the lock is why.
		s.audit(ctx, auditEvent{event: methodCA.event, outcome: "fail", account: a.ID, bidx: a.IDBidx, subject: subject, ip: clientIP(r), detail: detail("locked")})
		return nil, id, errCALogin
	}
	s.audit(ctx, auditEvent{event: "ca_verified", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: subject, ip: clientIP(r), detail: detail("verified")})
	return a, id, nil
}

// caRefuse audits a refused certificate on a (nil: none) and, when
// counted, counts it on a (else on nobody, at the same cost).
func (s *Server) caRefuse(ctx context.Context, r *http.Request, a *account.Account, counted bool, subject, detail string, id certIdentity) (*account.Account, certIdentity, error) {
	e := auditEvent{event: methodCA.event, outcome: "fail", subject: subject, ip: clientIP(r), detail: detail}
	var countOn int64
	if a != nil {
		e.account, e.bidx = a.ID, a.IDBidx
		if counted {
			countOn = a.ID
		}
	}
	if err := s.failed(ctx, countOn, e); err != nil {
		return nil, id, err
	}
	return nil, id, errCALogin
}

// apiCALogin: a script's certificate login, signed in at once.
func (s *Server) apiCALogin(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.caAccount(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.signIn(r.Context(), w, r, a, methodCA, r.URL.Query().Get("return_to"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// caApprove answers a browser's challenge with its certificate's account
// (only a pending, unexpired CA challenge) and sends the browser back to
// the main site, which signs it in. A refused certificate rejects the
// challenge.
func (s *Server) caApprove(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("c")
	a, _, err := s.caAccount(ctx, r)
	verdict, acc := "rejected", (*int64)(nil)
	if err == nil {
		verdict, acc = "approved", &a.ID
	} else if !errors.Is(err, errCALogin) {
		s.fail(w, r, err)
		return
	}
	// Only the browser that started the challenge answers it with its
	// certificate: its session's cookie comes along (the listener has the
	// site's host name). Anyone else's U-KEY, on a link an attacker sent,
	// answers nothing.
	var sessHash []byte
	if sess, err := s.session(ctx, r); err == nil {
		sessHash = sess.hash
	} else if !errors.Is(err, errNoSession) {
		s.fail(w, r, err)
		return
	}
	tag, uerr := s.pool.Exec(ctx, `UPDATE face_challenge SET status = $2, account_id = $3, answered_at = $4
		WHERE id = $1 AND purpose = $5 AND status = 'pending' AND expires_at > $4 AND session_hash = $6`, id, verdict, acc, s.cfg.Now(), faceCA, sessHash)
	if uerr != nil {
		s.fail(w, r, uerr)
		return
	}
	if tag.RowsAffected() == 0 {
		var accID int64
		if acc != nil {
			accID = *acc
		}
		s.audit(ctx, auditEvent{event: methodCA.event, outcome: "fail", account: accID, ip: clientIP(r), detail: "provider=CA reason=no pending challenge of this browser"})
		s.fail(w, r, errCAUnknown)
		return
	}
	http.Redirect(w, r, s.cfg.BaseURL+"/login/ca/"+url.PathEscape(id), http.StatusSeeOther)
}

// startCALogin binds a CA challenge to this browser (an anonymous
// session, or the one it has) and returns where the browser goes: the
// certificate listener.
func (s *Server) startCALogin(ctx context.Context, w http.ResponseWriter, r *http.Request, returnTo string) (string, string, error) {
	sess, err := s.challengeSession(ctx, w, r, returnTo)
	if err != nil {
		return "", "", err
	}
	id, err := s.startFace(ctx, sess, 0, faceCA)
	if err != nil {
		return "", "", err
	}
	s.audit(ctx, auditEvent{event: "ca_login_start", outcome: "ok", ip: clientIP(r), detail: "provider=CA"})
	return id, s.cfg.CA.BaseURL() + "/ca/login?c=" + url.QueryEscape(id), nil
}

// caLoginStatus spends the session's approved CA challenge and signs in.
func (s *Server) caLoginStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (string, loginResult, error) {
	status, res, err := s.challengeLoginStatus(ctx, w, r, id, faceCA, methodCA)
	if errors.Is(err, errFaceUnknown) {
		err = errCAUnknown
	}
	return status, res, err
}

func (s *Server) caLoginForm(w http.ResponseWriter, r *http.Request) {
	_, to, err := s.startCALogin(r.Context(), w, r, r.FormValue("return_to"))
	if err != nil {
		s.loginForm(w, r, legalPerson.tab, err, "")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) caLoginPage(w http.ResponseWriter, r *http.Request) {
	status, res, err := s.caLoginStatus(r.Context(), w, r, r.PathValue("id"))
	switch {
	case err != nil && !errors.Is(err, errLoginFailed):
		s.fail(w, r, err)
	case status == "used":
		http.Redirect(w, r, res.Next, http.StatusSeeOther)
	default:
		s.loginForm(w, r, legalPerson.tab, errCALogin, "")
	}
}

func (s *Server) apiCALoginStart(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, to, err := s.startCALogin(r.Context(), w, r, in.ReturnTo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"challenge": id, "status": "pending", "certificate_url": to})
}

func (s *Server) apiCALoginStatus(w http.ResponseWriter, r *http.Request) {
	status, res, err := s.caLoginStatus(r.Context(), w, r, r.PathValue("id"))
	if err == nil && status != "used" && status != "pending" {
		err = errCALogin
	}
	s.writeChallengeStatus(w, r, map[string]any{"challenge": r.PathValue("id"), "status": status}, status, res, err)
}

// caRoutes: the main site's side of the CA login (with Config.CA only).
func (s *Server) caRoutes() []route {
	if s.cfg.CA == nil {
		return nil
	}
	return []route{
		{"GET /login/ca", s.limited(s.caLoginForm)},
		{"POST /login/ca", s.limited(s.caLoginForm)},
		{"GET /login/ca/{id}", s.caLoginPage},
		{"POST /api/v1/login/ca/challenge", s.limited(s.apiCALoginStart)},
		{"GET /api/v1/login/ca/{id}", s.apiCALoginStatus},
	}
}
