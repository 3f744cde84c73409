package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// Forgot password (2.1.5), a flow bound to the browser that started it
// (an anonymous session), with steps the server enforces like the
// completion's (recovery_flow, migration 019):
//
//	① identify: account type, ID type, ID number, image captcha
//	   ─▶ a code to the phone on file, shown masked
//	② code ─▶ ③ password (twice, the completion's rules)
//	   ─▶ the password is set, every session of the account ends, an SMS notice
//
// The answers of ① are the same whether the ID number has an account or
// not: an ID number without one (or an account without a phone, or one
// that cannot take a password now) gets a flow too, a stand-in phone
// derived from the ID number (the same mask every time, the same send
// limits), and a code that is never sent, so ② can only fail.

// Recovery steps, in order.
const (
	recoveryIdentify = "identify"
	recoveryCode     = "code"
	recoveryPassword = "password"
)

// recoveryTTL is how long a recovery may take.
const recoveryTTL = 15 * time.Minute

// RecoveryStepError refuses a recovery step that is not the next one.
type RecoveryStepError struct {
	Tried, Next string
}

func (e *RecoveryStepError) Error() string {
	return fmt.Sprintf("recovery step %s: the next step is %s", e.Tried, e.Next)
}

// recoveryLabels name the steps as the pages do.
var recoveryLabels = map[string]string{recoveryIdentify: "填写基本信息", recoveryCode: "验证身份", recoveryPassword: "设置新密码"}

// recoveryPaths are the steps' pages.
var recoveryPaths = map[string]string{recoveryIdentify: "/recovery", recoveryCode: "/recovery/code", recoveryPassword: "/recovery/password"}

// recoveryFlow is a browser's recovery as stored.
type recoveryFlow struct {
	accountID int64 // 0: the ID number has no account
	steps     []string
	phoneBidx []byte
	phoneHint string
}

// recoveryOf reads the session's live recovery.
func (s *Server) recoveryOf(ctx context.Context, sess *session) (*recoveryFlow, error) {
	var f recoveryFlow
	var acc *int64
	err := s.pool.QueryRow(ctx, `SELECT account_id, steps, phone_bidx, phone_hint FROM recovery_flow WHERE session_hash = $1 AND expires_at > $2`,
		sess.hash, s.cfg.Now()).Scan(&acc, &f.steps, &f.phoneBidx, &f.phoneHint)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if acc != nil {
		f.accountID = *acc
	}
	return &f, nil
}

// expectRecovery returns the request's recovery when step is its next
// one; else a *RecoveryStepError naming the step to do.
func (s *Server) expectRecovery(ctx context.Context, r *http.Request, step string) (*session, *recoveryFlow, error) {
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		return nil, nil, &RecoveryStepError{Tried: step, Next: recoveryIdentify}
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := s.recoveryOf(ctx, sess)
	if err != nil {
		return nil, nil, err
	}
	next := recoveryIdentify
	if f != nil && len(f.steps) > 0 {
		next = f.steps[0]
	}
	if next != step {
		return nil, nil, &RecoveryStepError{Tried: step, Next: next}
	}
	return sess, f, nil
}

// standInPhone is the phone an ID number without a usable account seems
// to have: a mainland mobile number derived from the ID number's blind
// index, the same every time, never sent to.
func (s *Server) standInPhone(idBidx []byte) string {
	h := s.cfg.Keyring.BlindIndex("recovery_stand_in", fmt.Sprintf("%x", idBidx))
	var b strings.Builder
	b.WriteString("1")
	b.WriteByte("35789"[int(h[0])%5])
	for i := 1; i <= 9; i++ {
		b.WriteByte('0' + h[i]%10)
	}
	return b.String()
}

// recoveryInput is step ①.
type recoveryInput struct {
	AccountType string `json:"account_type"` // "personal" (个人) or "legal" (法人, 2.2.3)
	IDType      string `json:"id_type"`
	IDNumber    string `json:"id_number"`
	// CreditCode is a legal person's key (account type "legal"): its
	// unified social credit code, typed as on the login form.
	CreditCode string `json:"credit_code"`
	CaptchaID  string `json:"captcha_id"`
	Captcha    string `json:"captcha"`
}

// recoveryIDTypes are the ID types a citizen can choose.
var recoveryIDTypes = map[string]string{"resident": "居民身份证"}

// startRecovery does step ①: it answers with the phone hint the code went
// to (or seems to have gone to).
func (s *Server) startRecovery(ctx context.Context, w http.ResponseWriter, r *http.Request, in recoveryInput) (string, error) {
	fields := fieldErrors{}
	var subject string
	var bidx []byte
	switch in.AccountType {
	case "personal":
		if _, ok := recoveryIDTypes[in.IDType]; !ok {
			fields["id_type"] = "请选择证件类型"
		}
		id := account.NormalizeID(in.IDNumber)
		if id == "" {
			fields["id_number"] = "请输入证件号码"
		}
		subject, bidx = pii.MaskID(id), account.IDIndex(s.cfg.Keyring, id)
	case "legal":
		// A legal person's key is its credit code, in the credit codes'
		// own domain (principal.key): the same answers follow whether it
		// has an account or not.
		if _, ok := account.NormalizeCreditCode(in.CreditCode); !ok {
			fields["credit_code"] = "请输入正确的统一社会信用代码"
		} else {
			var err error
			if subject, bidx, err = s.key(ctx, legalPerson, in.CreditCode, false); err != nil {
				return "", err
			}
		}
	default:
		fields["account_type"] = "请选择账户类型：个人或法人"
	}
	if len(fields) > 0 {
		return "", fields
	}
	// The image captcha, always, before anything is looked up: a wrong
	// one says nothing of the account.
	if strings.TrimSpace(in.Captcha) == "" {
		return "", s.recoveryCaptchaRefused(ctx, r, subject, false)
	}
	ok, err := s.useCaptcha(ctx, in.CaptchaID, in.Captcha)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", s.recoveryCaptchaRefused(ctx, r, subject, true)
	}
	a, err := account.ByIDIndex(ctx, s.pool, bidx)
	if err != nil {
		return "", err
	}
	deliver := a != nil && !s.locked(a) && a.PhoneSealed != nil
	phone := s.standInPhone(bidx)
	if a != nil && a.PhoneSealed != nil {
		if phone, err = s.openPhone(a.PhoneSealed); err != nil {
			return "", err
		}
	}
	var acc int64
	var accRef *int64
	if a != nil {
		acc, accRef = a.ID, &a.ID
	}
	// The browser's anonymous session carries the flow; a signed-in
	// browser gets a new one (a recovery is not a signed-in act).
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) || (err == nil && sess.kind != kindAnonymous) {
		sess, err = s.startSession(ctx, s.pool, w, kindAnonymous, 0, "")
	}
	if err != nil {
		return "", err
	}
	err = s.sendCode(ctx, phone, purposeRecover, acc, clientNet(r), deliver)
	outcome := sendOutcome(err)
	if err == nil && !deliver {
		outcome = "not_sent"
	}
	s.audit(ctx, auditEvent{event: "recovery_start", outcome: outcome, account: acc, subject: subject, ip: clientIP(r)})
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	hint := pii.MaskPhone(phone)
	_, err = s.pool.Exec(ctx, `INSERT INTO recovery_flow (session_hash, account_id, steps, phone_bidx, phone_hint, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (session_hash) DO UPDATE SET account_id = EXCLUDED.account_id, steps = EXCLUDED.steps, phone_bidx = EXCLUDED.phone_bidx,
			phone_hint = EXCLUDED.phone_hint, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
		sess.hash, accRef, []string{recoveryCode, recoveryPassword}, s.phoneIndex(phone), hint, now, now.Add(recoveryTTL))
	return hint, err
}

// recoveryCaptchaRefused audits a step ① without the right captcha and
// returns the refusal with a fresh one.
func (s *Server) recoveryCaptchaRefused(ctx context.Context, r *http.Request, subject string, wrong bool) error {
	outcome := "captcha_required"
	if wrong {
		outcome = "captcha_wrong"
	}
	s.audit(ctx, auditEvent{event: "recovery_start", outcome: outcome, subject: subject, ip: clientIP(r)})
	refusal := &captchaError{wrong: wrong}
	var err error
	if refusal.fresh, err = s.newCaptcha(ctx, r); err != nil {
		return err
	}
	return refusal
}

// recoveryCodeStep does step ②: the code sent at ①. A wrong code counts
// against the account (the SMS codes' and faces' lock); a flow without
// an account, or an account locked now, checks and counts against nobody
// at the same cost.
func (s *Server) recoveryCodeStep(ctx context.Context, r *http.Request, code string) error {
	sess, f, err := s.expectRecovery(ctx, r, recoveryCode)
	if err != nil {
		return err
	}
	acc := f.accountID
	var subject string
	if acc != 0 {
		a, err := account.ByID(ctx, s.pool, acc, false)
		if err != nil {
			return err
		}
		subject = a.IDHint
		if s.locked(a) {
			acc = 0
		}
	}
	if err := s.checkCodeAt(ctx, acc, f.phoneBidx, purposeRecover, strings.TrimSpace(code)); err != nil {
		if !errors.Is(err, errCodeWrong) {
			return err
		}
		if ferr := s.failed(ctx, acc, auditEvent{event: "recovery_code", outcome: "fail", account: f.accountID, subject: subject, ip: clientIP(r), detail: "wrong code"}); ferr != nil {
			return ferr
		}
		return err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recovery_flow SET steps = steps[2:] WHERE session_hash = $1 AND steps[1] = $2 AND expires_at > $3`,
			sess.hash, recoveryCode, s.cfg.Now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return &RecoveryStepError{Tried: recoveryCode, Next: recoveryPassword}
		}
		return account.ClearFailures(ctx, tx, acc)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "recovery_code", outcome: "ok", account: acc, subject: subject, ip: clientIP(r)})
	return nil
}

// recoveryPasswordStep does step ③: the new password is set (for an
// account pending completion, its password step is done), the flow ends,
// every session of the account ends, and the phone on file gets a notice.
func (s *Server) recoveryPasswordStep(ctx context.Context, r *http.Request, password, confirm string) error {
	sess, f, err := s.expectRecovery(ctx, r, recoveryPassword)
	if err != nil {
		return err
	}
	if password != confirm {
		return fieldErrors{"confirm": "两次输入的密码不一致"}
	}
	a, err := account.ByID(ctx, s.pool, f.accountID, false)
	if err != nil {
		return err
	}
	_, phone, err := s.checkNewPassword(a, a.PhoneSealed, password)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	var ended [][]byte
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := account.ByID(ctx, tx, a.ID, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM recovery_flow WHERE session_hash = $1 AND steps = $2 AND expires_at > $3`,
			sess.hash, []string{recoveryPassword}, s.cfg.Now())
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return &RecoveryStepError{Tried: recoveryPassword, Next: recoveryIdentify}
		}
		set, err := account.SetPassword(ctx, tx, a.ID, hash)
		if err != nil {
			return err
		}
		if !set {
			return errLoginFailed
		}
		if ended, err = s.endSessions(ctx, tx, a.ID, nil); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, auditEvent{event: "recovery_password", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r),
			detail: fmt.Sprintf("%d sessions ended", len(ended))})
	})
	if err != nil {
		return err
	}
	s.afterSessionsEnded(ctx, ended)
	s.notify(ctx, phone, "【统一身份认证】您的账号密码已通过“忘记密码”重新设置，账号在其他设备上的登录已退出。如非本人操作，请立即使用手机验证码登录并修改密码。")
	return nil
}

// endSessions ends, in tx, every live session of the account but keep
// (nil: all), with their completion and phone-change flows, and returns
// their hashes for afterSessionsEnded.
func (s *Server) endSessions(ctx context.Context, tx pgx.Tx, accountID int64, keep []byte) ([][]byte, error) {
	return endSessionsAt(ctx, tx, accountID, keep, s.cfg.Now())
}

// endSessionsAt is endSessions at now, for the operators' commands too.
func endSessionsAt(ctx context.Context, tx pgx.Tx, accountID int64, keep []byte, now time.Time) ([][]byte, error) {
	rows, err := tx.Query(ctx, `UPDATE auth_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2)
		WHERE account_id = $1 AND revoked_at IS NULL AND ($3::bytea IS NULL OR id_hash <> $3) RETURNING id_hash`, accountID, now, keep)
	if err != nil {
		return nil, err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM completion_flow WHERE session_hash = ANY($1)`, ended); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM phone_change_flow WHERE session_hash = ANY($1)`, ended); err != nil {
		return nil, err
	}
	return ended, nil
}

// afterSessionsEnded tells the business systems of ended sessions.
func (s *Server) afterSessionsEnded(ctx context.Context, ended [][]byte) {
	for _, h := range ended {
		if _, err := s.endProviderSession(ctx, h); err != nil {
			s.cfg.Logger.Warn("provider_session_end_failed", errAttr(err))
		}
	}
}

// notify sends a notice (no code) to a phone; a failure is logged, the
// change it tells of stands.
func (s *Server) notify(ctx context.Context, phone, text string) {
	if phone == "" {
		return
	}
	if err := s.cfg.SMS.Send(ctx, phone, text); err != nil {
		s.cfg.Logger.Warn("sms_notice_failed", errAttr(err))
	}
}

// API twins of the recovery.

func (s *Server) apiRecovery(w http.ResponseWriter, r *http.Request) {
	next, hint := recoveryIdentify, ""
	sess, err := s.session(r.Context(), r)
	if err == nil {
		f, err := s.recoveryOf(r.Context(), sess)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if f != nil && len(f.steps) > 0 {
			next, hint = f.steps[0], f.phoneHint
		}
	} else if !errors.Is(err, errNoSession) {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": next, "phone_hint": hint})
}

func (s *Server) apiRecoveryStart(w http.ResponseWriter, r *http.Request) {
	var in recoveryInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	hint, err := s.startRecovery(r.Context(), w, r, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"next_step": recoveryCode, "phone_hint": hint, "message": codeSentTo(hint)})
}

func codeSentTo(hint string) string {
	return "验证码已发送至手机" + hint + "，5分钟内有效"
}

func (s *Server) apiRecoveryCode(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recoveryCodeStep(r.Context(), r, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": recoveryPassword})
}

func (s *Server) apiRecoveryPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
		Confirm  string `json:"confirm"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recoveryPasswordStep(r.Context(), r, in.Password, in.Confirm); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next": "/login", "message": recoveryDone})
}

const recoveryDone = "密码已重新设置，请使用新密码登录"

// recoveryRoutes: forgot password, its pages and JSON twins.
func (s *Server) recoveryRoutes() []route {
	return append(s.recoveryPageRoutes(), []route{
		{"GET /api/v1/recovery", s.apiRecovery},
		{"POST /api/v1/recovery", s.limited(s.apiRecoveryStart)},
		{"POST /api/v1/recovery/code", s.limited(s.apiRecoveryCode)},
		{"POST /api/v1/recovery/password", s.limited(s.hashing(s.apiRecoveryPassword))},
	}...)
}
