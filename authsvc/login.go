package authsvc

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// loginResult is where a passed first factor leads: the next completion
// step for a restricted session, else where the citizen was going.
type loginResult struct {
	Next     string       `json:"next"`
	NextStep schemas.Step `json:"next_step,omitempty"`
}

// safeReturn keeps a return address only if it is a path of this service,
// also as a browser reads it: browsers drop tabs and line breaks anywhere
// in a URL and take a backslash for a slash, so /<TAB>/evil.example and
// /\\evil.example are //evil.example. No control character passes.
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") ||
		strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return ""
	}
	return s
}

// signIn replaces the browser's session (if any) with one the account's
// state allows: full when active, restricted while completion is pending.
// One statement ends the old session, clears the failure count of the
// method's factor (loginMethod.knowledge), starts the new session and audits the
// login: a login costs one round trip besides finding the
// account, so logins run at the password hash's pace.
func (s *Server) signIn(ctx context.Context, w http.ResponseWriter, r *http.Request, a *account.Account, m *loginMethod, returnTo string) (loginResult, error) {
	res, _, err := s.signInOn(ctx, s.pool, w, r, a, m, returnTo)
	return res, err
}

// signInOn is signIn with q (a transaction the sign-in belongs to); it
// also returns the new session's hash.
func (s *Server) signInOn(ctx context.Context, q querier, w http.ResponseWriter, r *http.Request, a *account.Account, m *loginMethod, returnTo string) (loginResult, []byte, error) {
	kind := kindFull
	if a.Status == schemas.StatusPendingCompletion {
		kind = kindRestricted
	}
	var old []byte // the browser's current session, valid or not
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		old = hashToken(c.Value)
	}
	token, hash, err := newToken()
	if err != nil {
		return loginResult{}, nil, err
	}
	// A restricted session gets its completion flow (flow.go) with the
	// account's steps; a login code proved the phone on record for it.
	var proved []byte
	if m.provesPhone {
		proved = a.PhoneBidx
	}
	now, life := s.cfg.Now(), s.lifetime(kind)
	// The audit row first (reset waits for it: RETURNING 1, as the
	// service may insert audit rows but not read them): every transaction
	// that audits and writes an account takes the audit chain's head
	// before the account's row, so none of them can deadlock another.
	// It also tells whether the person holds enabled authorizations as
	// an agent (经办人): then the next page is the identity chooser.
	if err := holdAccount(ctx, q, a.ID, a.IDBidx); err != nil {
		return loginResult{}, nil, err
	}
	var agent bool
	err = q.QueryRow(ctx, `WITH
		audited AS (INSERT INTO auth_audit (at, event, outcome, account_id, account_bidx, subject, ip, detail) VALUES ($1, $4, 'ok', $3, $15, $5, $6, $14) RETURNING 1),
		revoked AS (UPDATE auth_session SET revoked_at = $1, expires_at = LEAST(expires_at, $1) WHERE id_hash = $2 AND revoked_at IS NULL),
		reset AS (`+account.ResetAfterLoginSQL(m.knowledge, "(SELECT $3::bigint FROM audited)")+`),
		flow AS (INSERT INTO completion_flow (session_hash, account_id, steps, phone_proved_bidx, created_at)
			SELECT $8, $3, $13::text[], $11, $1 WHERE $7 = 'restricted')
		INSERT INTO auth_session (id_hash, account_id, kind, created_at, last_seen_at, expires_at, return_to, amr)
		VALUES ($8, $3, $7, $1, $1, $9, $10, $12)
		RETURNING $7 = 'full' AND EXISTS (SELECT 1 FROM agent_authorization g WHERE g.agent_account_id = $3 AND `+actableSQL("g")+`)`,
		now, old, a.ID, m.event, a.IDHint, clientIP(r), string(kind), hash, now.Add(life), safeReturn(returnTo), proved, []string{m.amr}, a.StepNames(), m.auditDetail(kind), a.IDBidx).Scan(&agent)
	if err != nil {
		return loginResult{}, nil, err
	}
	setSessionCookie(w, token, life)
	if kind == kindRestricted {
		next := nextStep(a, &completionFlow{steps: a.Steps})
		return loginResult{Next: stepPath(next), NextStep: next}, hash, nil
	}
	if agent && !a.IsLegal() {
		return loginResult{Next: identityPath(returnTo)}, hash, nil
	}
	if to := safeReturn(returnTo); to != "" {
		return loginResult{Next: to}, hash, nil
	}
	return loginResult{Next: "/center"}, hash, nil
}

// refuse records a failed first factor and answers with the one message a
// login failure ever gets: whether the account exists, is locked, pending
// or simply mistyped is not told. Counting the failure is the caller's
// (failed, account.Lockout.ClaimPasswordTry): not every refusal is the account's.
func (s *Server) refuse(ctx context.Context, r *http.Request, method string, a *account.Account, subject, why string) error {
	e := auditEvent{event: method, outcome: "fail", subject: subject, ip: clientIP(r), detail: why}
	if a != nil {
		e.account, e.bidx = a.ID, a.IDBidx
	}
	s.audit(ctx, e)
	return errLoginFailed
}

func (s *Server) loginPassword(ctx context.Context, w http.ResponseWriter, r *http.Request, p *principal, idNumber, password, returnTo string) (loginResult, error) {
	// The account (2.1.2, 2.2.2) is the principal's key (an ID number, a
	// credit code) or a username of its kind.
	subject, bidx, err := s.key(ctx, p, idNumber, true)
	if err != nil {
		return loginResult{}, err
	}
	fail := auditEvent{event: methodPassword.event, outcome: "fail", bidx: bidx, subject: subject, ip: clientIP(r)}
	// Finding the account claims a place for the try, before the slow
	// hash: guesses in flight together get no more than the lock allows.
	// An account that cannot log in with a password (none, locked by the
	// operators or by wrong passwords, none set) gets the same time and
	// the same answer.
	a, err := s.claimPasswordTry(ctx, bidx)
	busy := errors.Is(err, account.ErrTriesInFlight)
	if err != nil && !busy {
		return loginResult{}, err
	}
	if a == nil {
		if other, err := account.ByIDIndex(ctx, s.pool, bidx); err == nil && other != nil {
			fail.account, fail.bidx = other.ID, other.IDBidx
		}
		if busy {
			fail.outcome, fail.detail = "refused", "tries in flight"
			s.audit(ctx, fail)
			return loginResult{}, &OverloadError{RetryAfter: time.Second}
		}
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return loginResult{}, err
		}
		fail.detail = "no account"
		if fail.account != 0 {
			fail.detail = "locked or no password"
		}
		s.audit(ctx, fail)
		return loginResult{}, errLoginFailed
	}
	fail.account, fail.bidx = a.ID, a.IDBidx
	ok, err := s.hasher.Verify(ctx, password, *a.PasswordHash)
	if err != nil {
		s.releaseTry(ctx, a.ID)
		return loginResult{}, err
	}
	// The password has been compared: the outcome is recorded, the count
	// with its audit row, even when the client has gone.
	ctx = context.WithoutCancel(ctx)
	if !ok {
		fail.detail = "wrong password"
		// The audit row first: see signIn.
		err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
			if err := s.auditIn(ctx, tx, fail); err != nil {
				return err
			}
			return s.lockout.PasswordFailed(ctx, tx, a.ID, s.cfg.Now())
		})
		if err != nil {
			s.releaseTry(ctx, a.ID)
			return loginResult{}, err
		}
		return loginResult{}, errLoginFailed
	}
	res, err := s.signIn(ctx, w, r, a, methodPassword, returnTo)
	if err != nil {
		// signIn's one statement gives the place back with the rest.
		s.releaseTry(ctx, a.ID)
	}
	return res, err
}

// claimPasswordTry claims a place for a password try
// (account.Lockout.ClaimPasswordTry), waiting while the account's tries in
// flight fill the places left: they end within a hash or two, and a
// citizen's double click or an app's retry must not be refused, let alone
// counted. account.ErrTriesInFlight after Config.TryWait; the wait ends
// early when the service stops.
func (s *Server) claimPasswordTry(ctx context.Context, bidx []byte) (*account.Account, error) {
	deadline := time.NewTimer(s.cfg.TryWait)
	defer deadline.Stop()
	pause := 10 * time.Millisecond
	for {
		a, err := s.lockout.ClaimPasswordTry(ctx, s.pool, bidx, s.cfg.Now())
		if !errors.Is(err, account.ErrTriesInFlight) {
			return a, err
		}
		select {
		case <-time.After(pause):
		case <-deadline.C:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.hasher.queue.stopped:
			return nil, &OverloadError{RetryAfter: retryAfterStopping, Stopping: true}
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// releaseTry gives back a claimed try's place when the try ends without
// an outcome. When the database cannot take it either, the place is
// forgotten after account.TryLifetime.
func (s *Server) releaseTry(ctx context.Context, id int64) {
	if err := account.ReleasePasswordTry(context.WithoutCancel(ctx), s.pool, id); err != nil {
		s.cfg.Logger.Warn("password_try_release_failed", errAttr(err))
	}
}

// sendLoginCode sends a login code to phone when it is the phone on
// record of the ID number's account. The limits count every request, sent
// or not, and the answer is the same: neither tells whether the account
// exists or which phone it has. A send the image captcha refuses
// (checkCaptcha, before the account is looked up) sends nothing and counts
// for no limit.
func (s *Server) sendLoginCode(ctx context.Context, r *http.Request, p *principal, idNumber, phone string, captcha captchaInput) error {
	phone = account.NormalizePhone(phone)
	if !account.ValidPhone(phone) {
		return fieldErrors{"phone": "请输入正确的手机号码"}
	}
	if err := s.checkCaptcha(ctx, r, "sms_send_login", 0, phone, captcha); err != nil {
		return err
	}
	a, _, err := s.lookupAs(ctx, p, idNumber)
	if err != nil {
		return err
	}
	deliver := a != nil && !s.locked(a) && bytes.Equal(a.PhoneBidx, s.phoneIndex(phone))
	var acc int64
	if a != nil {
		acc = a.ID
	}
	err = s.sendCode(ctx, phone, purposeLogin, acc, clientNet(r), deliver)
	outcome := sendOutcome(err)
	if err == nil && !deliver {
		outcome = "not_sent"
	}
	s.audit(ctx, auditEvent{event: "sms_send_login", outcome: outcome, account: acc, subject: pii.MaskPhone(phone), ip: clientIP(r)})
	return err
}

func (s *Server) loginSMS(ctx context.Context, w http.ResponseWriter, r *http.Request, p *principal, idNumber, phone, code, returnTo string) (loginResult, error) {
	phone = account.NormalizePhone(phone)
	a, subject, err := s.lookupAs(ctx, p, idNumber)
	if err != nil {
		return loginResult{}, err
	}
	// Only the account the ID number names, with the phone on record,
	// has a code to check and a count to charge. Any other request checks
	// and counts against nobody (0), at the same cost and with the same
	// answer: it cannot void the owner's code or lock the owner out, nor
	// tell which ID numbers and phones go together.
	var acc int64
	why := "wrong code"
	switch {
	case a == nil:
		why = "no account"
	case s.locked(a):
		why = "locked"
	case !bytes.Equal(a.PhoneBidx, s.phoneIndex(phone)):
		why = "not the phone on record"
	default:
		acc = a.ID
	}
	if err := s.checkCode(ctx, acc, phone, purposeLogin, strings.TrimSpace(code)); err != nil {
		if !errors.Is(err, errCodeWrong) {
			return loginResult{}, err
		}
		e := auditEvent{event: methodSMS.event, outcome: "fail", subject: subject, ip: clientIP(r), detail: why}
		if a != nil {
			e.account, e.bidx = a.ID, a.IDBidx
		}
		if err := s.failed(ctx, acc, e); err != nil {
			return loginResult{}, err
		}
		return loginResult{}, errLoginFailed
	}
	// The citizen holds the phone on record of an active account: it is
	// verified now, and no department's data will replace it. An account
	// pending completion verifies it only with the face check of ③ in this
	// session's flow (signIn records the proof there): a recycled number a
	// department still lists must not become the account's own before that.
	// (phone_bidx: an import may have replaced the department's phone since
	// the lookup.)
	if !a.PhoneVerified {
		if a.PhoneVerified, err = account.VerifyPhone(ctx, s.pool, a.ID, a.PhoneBidx); err != nil {
			return loginResult{}, err
		}
	}
	return s.signIn(ctx, w, r, a, methodSMS, returnTo)
}

// startFaceLogin binds a face challenge to this browser (an anonymous
// session) and to the ID number's account. An ID number without an
// account gets a challenge too, which can only fail.
func (s *Server) startFaceLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, idNumber, returnTo string) (string, error) {
	if strings.TrimSpace(idNumber) == "" {
		return "", fieldErrors{"id_number": "请输入证件号码"}
	}
	// The browser's session (an earlier face login's, or a signed-in one)
	// goes where this login was asked to go.
	sess, err := s.challengeSession(ctx, w, r, returnTo)
	if err != nil {
		return "", err
	}
	a, err := s.lookup(ctx, idNumber)
	if err != nil {
		return "", err
	}
	var acc int64
	if a != nil {
		acc = a.ID
	}
	id, err := s.startFace(ctx, sess, acc, faceLogin)
	if err != nil {
		return "", err
	}
	s.audit(ctx, auditEvent{event: "face_login_start", outcome: "ok", account: acc, subject: pii.MaskID(account.NormalizeID(idNumber)), ip: clientIP(r)})
	return id, nil
}

// faceLoginStatus answers the polling of a face login.
func (s *Server) faceLoginStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (string, loginResult, error) {
	return s.challengeLoginStatus(ctx, w, r, id, faceLogin, methodFace)
}

// challengeLoginStatus answers the polling of a login by a challenge (the
// face, the electronic business licence, the CA certificate): once its
// provider approved, the challenge is spent by its own session, once, and
// the account signed in by the method, unless it is locked.
func (s *Server) challengeLoginStatus(ctx context.Context, w http.ResponseWriter, r *http.Request, id, purpose string, m *loginMethod) (string, loginResult, error) {
	sess, err := s.session(ctx, r)
	if err != nil {
		return "", loginResult{}, err
	}
	status, err := s.faceStatus(ctx, sess, id)
	if err != nil || status != "approved" {
		return status, loginResult{}, err
	}
	acc, err := s.useFace(ctx, s.pool, sess, id, purpose)
	if err != nil {
		return "", loginResult{}, err
	}
	a, err := account.ByID(ctx, s.pool, acc, false)
	if err != nil {
		return "", loginResult{}, err
	}
	if s.locked(a) {
		return "rejected", loginResult{}, s.refuse(ctx, r, m.event, a, a.IDHint, m.auditDetail("locked"))
	}
	res, err := s.signIn(ctx, w, r, a, m, sess.returnTo)
	return "used", res, err
}

// Pages and API twins of the login.

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r.Context(), r)
	if err != nil && !errors.Is(err, errNoSession) {
		s.fail(w, r, err)
		return
	}
	if err == nil && sess.kind != kindAnonymous {
		if sess.kind == kindRestricted {
			http.Redirect(w, r, "/complete", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/center", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: loginTitle, ReturnTo: safeReturn(r.URL.Query().Get("return_to")), Tab: r.URL.Query().Get("tab"), Licence: s.cfg.Licence != nil, Upstreams: s.upstreamButtons()}
	if d.Tab == legalPerson.tab || d.Tab == legalPerson.smsTab || d.Tab == legalLicenceTab {
		d.Title = legalLoginTitle
	}
	if d.Tab == "sms" || d.Tab == legalPerson.smsTab {
		d.Captcha = s.formCaptcha(r, true)
	}
	s.render(w, r, "login.html", d)
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, tab string, err error, notice string) {
	d := pageData{Title: loginTitle, ReturnTo: safeReturn(r.PostFormValue("return_to")), Tab: tab, Notice: notice,
		IDNumber: r.PostFormValue("id_number"), Phone: r.PostFormValue("phone"), Licence: s.cfg.Licence != nil, Upstreams: s.upstreamButtons()}
	if tab == legalPerson.tab || tab == legalPerson.smsTab || tab == legalLicenceTab {
		d.Title, d.IDNumber = legalLoginTitle, r.PostFormValue(legalPerson.field)
	}
	if err != nil {
		p := problemOf(err)
		if p.status >= http.StatusInternalServerError {
			s.fail(w, r, err) // logged, and Retry-After when it applies
			return
		}
		d.Error, d.Captcha = p.message, p.captcha
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
	}
	if (tab == "sms" || tab == legalPerson.smsTab) && d.Captcha == nil {
		d.Captcha = s.formCaptcha(r, true)
	}
	s.render(w, r, "login.html", d)
}

func (s *Server) loginPasswordForm(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.loginPassword(r.Context(), w, r, p, r.PostFormValue(p.field), r.PostFormValue("password"), r.PostFormValue("return_to"))
		if err != nil {
			s.loginForm(w, r, p.tab, p.refused(err), "")
			return
		}
		s.redirectAfterPost(w, r, res.Next)
	}
}

// loginTitle and legalLoginTitle are the login page's titles (the layout
// adds 统一身份认证).
const (
	loginTitle      = "个人登录"
	legalLoginTitle = "法人登录"
)

// codeSentNotice and legalCodeSentNotice answer every send of a login
// code that was not refused.
const (
	codeSentNotice      = "若证件号码与预留手机号匹配，验证码已发送，5分钟内有效"
	legalCodeSentNotice = "若统一社会信用代码与联系人手机号匹配，验证码已发送，5分钟内有效"
)

func (s *Server) loginSMSSendForm(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := s.sendLoginCode(r.Context(), r, p, r.PostFormValue(p.field), r.PostFormValue("phone"),
			captchaInput{ID: r.PostFormValue("captcha_id"), Answer: r.PostFormValue("captcha")})
		// The notice only with a send that went through (or, for an account
		// that does not match, looked as if it did): beside a refusal (too
		// soon, a captcha, a limit) it would make the earlier code look
		// valid and burn a try.
		notice := p.sentNotice
		if err != nil {
			notice = ""
		}
		s.loginForm(w, r, p.smsTab, err, notice)
	}
}

func (s *Server) loginSMSForm(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := s.loginSMS(r.Context(), w, r, p, r.PostFormValue(p.field), r.PostFormValue("phone"), r.PostFormValue("code"), r.PostFormValue("return_to"))
		if err != nil {
			s.loginForm(w, r, p.smsTab, p.refused(err), "")
			return
		}
		s.redirectAfterPost(w, r, res.Next)
	}
}

func (s *Server) loginFaceForm(w http.ResponseWriter, r *http.Request) {
	id, err := s.startFaceLogin(r.Context(), w, r, r.PostFormValue("id_number"), r.PostFormValue("return_to"))
	if err != nil {
		s.loginForm(w, r, "face", err, "")
		return
	}
	http.Redirect(w, r, "/login/face/"+id, http.StatusSeeOther)
}

func (s *Server) loginFacePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	status, res, err := s.faceLoginStatus(r.Context(), w, r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		http.Redirect(w, r, res.Next, http.StatusSeeOther)
		return
	}
	s.render(w, r, "face.html", s.faceData("刷脸登录", id, status, ""))
}

type loginRequest struct {
	IDNumber string `json:"id_number"`
	// CreditCode is the key of the 法人登录 (a credit code or a username).
	CreditCode string `json:"credit_code"`
	Password   string `json:"password"`
	Phone      string `json:"phone"`
	Code       string `json:"code"`
	ReturnTo   string `json:"return_to"`
	// The image captcha of a send, when it needs one.
	CaptchaID string `json:"captcha_id"`
	Captcha   string `json:"captcha"`
}

// key is the typed key of the principal's form.
func (in *loginRequest) key(p *principal) string {
	if p.kind == schemas.KindLegal {
		return in.CreditCode
	}
	return in.IDNumber
}

func (s *Server) apiLoginPassword(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in loginRequest
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.loginPassword(r.Context(), w, r, p, in.key(p), in.Password, in.ReturnTo)
		if err != nil {
			s.fail(w, r, p.refused(err))
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) apiLoginSMSSend(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in loginRequest
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.sendLoginCode(r.Context(), r, p, in.key(p), in.Phone, captchaInput{ID: in.CaptchaID, Answer: in.Captcha}); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"message": p.sentNotice})
	}
}

func (s *Server) apiLoginSMS(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in loginRequest
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.loginSMS(r.Context(), w, r, p, in.key(p), in.Phone, in.Code, in.ReturnTo)
		if err != nil {
			s.fail(w, r, p.refused(err))
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) apiLoginFace(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.startFaceLogin(r.Context(), w, r, in.IDNumber, in.ReturnTo)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.faceJSON(id, "pending"))
}

func (s *Server) apiLoginFaceStatus(w http.ResponseWriter, r *http.Request) {
	status, res, err := s.faceLoginStatus(r.Context(), w, r, r.PathValue("id"))
	s.writeChallengeStatus(w, r, s.faceJSON(r.PathValue("id"), status), status, res, err)
}

// writeChallengeStatus answers the polling of a challenge login's JSON
// twin: out, and where to go once it was used.
func (s *Server) writeChallengeStatus(w http.ResponseWriter, r *http.Request, out map[string]any, status string, res loginResult, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		out["next"] = res.Next
		if res.NextStep != "" {
			out["next_step"] = string(res.NextStep)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// logout ends the browser's session and the business systems' part of
// it (endProviderSession); it returns their front-channel logout URLs.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) ([]string, error) {
	sess, err := s.session(r.Context(), r)
	var front []string
	if err == nil {
		if err := s.revoke(r.Context(), s.pool, sess); err != nil {
			return nil, err
		}
		s.audit(r.Context(), auditEvent{event: "logout", outcome: "ok", account: sess.accountID, ip: clientIP(r)})
		if front, err = s.endProviderSession(r.Context(), sess.hash); err != nil {
			return nil, err
		}
	}
	clearCookie(w)
	return front, nil
}

func (s *Server) logoutForm(w http.ResponseWriter, r *http.Request) {
	front, err := s.logout(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(front) > 0 {
		s.renderLoggedOut(w, r, front, "/login")
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	if _, err := s.logout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// loginRoutes: the login page, the first factors (pages and JSON), logout.
func (s *Server) loginRoutes() []route {
	return []route{
		{"GET /{$}", s.home},
		{"GET /login", s.loginPage},
		{"POST /login/password", s.limited(s.hashing(s.loginPasswordForm(personal)))},
		{"POST /login/sms/send", s.limited(s.loginSMSSendForm(personal))},
		{"POST /login/sms/captcha", s.loginCaptchaForm(personal)},
		{"POST /login/sms", s.limited(s.loginSMSForm(personal))},
		{"POST /login/legal/password", s.limited(s.hashing(s.loginPasswordForm(legalPerson)))},
		{"POST /login/legal/sms/send", s.limited(s.loginSMSSendForm(legalPerson))},
		{"POST /login/legal/sms/captcha", s.loginCaptchaForm(legalPerson)},
		{"POST /login/legal/sms", s.limited(s.loginSMSForm(legalPerson))},
		{"POST /login/face", s.limited(s.loginFaceForm)},
		{"GET /login/face/{id}", s.loginFacePage},
		{"GET /help", s.helpPage},
		{"POST /logout", s.logoutForm},
		{"POST /api/v1/login/password", s.limited(s.hashing(s.apiLoginPassword(personal)))},
		{"POST /api/v1/login/sms/send", s.limited(s.apiLoginSMSSend(personal))},
		{"POST /api/v1/login/sms", s.limited(s.apiLoginSMS(personal))},
		{"POST /api/v1/login/legal/password", s.limited(s.hashing(s.apiLoginPassword(legalPerson)))},
		{"POST /api/v1/login/legal/sms/send", s.limited(s.apiLoginSMSSend(legalPerson))},
		{"POST /api/v1/login/legal/sms", s.limited(s.apiLoginSMS(legalPerson))},
		{"POST /api/v1/login/face", s.limited(s.apiLoginFace)},
		{"GET /api/v1/login/face/{id}", s.apiLoginFaceStatus},
		{"POST /api/v1/logout", s.apiLogout},
	}
}

// helpPage is the login page's 帮助文档: the questions the help desk is
// asked most.
func (s *Server) helpPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "help.html", pageData{Title: "帮助文档"})
}
