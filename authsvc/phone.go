package authsvc

import (
	"bytes"
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

// Change of the bound phone (2.1.4; a legal account's contact phone,
// 2.2.4), from the personal center of a full session, in two steps the
// server enforces:
//
//	① face: a face verification of the account's own holder, a legal
//	   account's representative (purpose
//	   'phone_change'); its approval opens the change for this session
//	   for phoneChangeWindow (phone_change_flow.face_at)
//	② the new phone, proved by a code sent to it, within that window
//	   ─▶ bound and verified; the old phone gets a notice; the account's
//	   other sessions end
//
// A phone that is another account's verified phone is refused. A citizen
// who forgot the password takes the same route after a face login.

// facePhoneChange is the face challenge purpose of ①.
const facePhoneChange = "phone_change"

// phoneChangeWindow is how fresh the face of ① must be.
const phoneChangeWindow = 5 * time.Minute

// errFaceRequired refuses a phone change without a fresh face check (a
// phone bound elsewhere is errPhoneBound, register.go).
var errFaceRequired = errors.New("a fresh face verification is required")

// phoneFace starts ①, or returns the session's pending challenge.
func (s *Server) phoneFace(ctx context.Context, r *http.Request, sess *session) (string, error) {
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return "", err
	}
	if err := s.stepLocked(ctx, r, a, "phone_change_face_start"); err != nil {
		return "", err
	}
	// A legal account's face is its representative's (account.FaceIndexOf):
	// without one on record nobody can open the change here; the operators
	// can (authsvc admin set-phone).
	if a.IsLegal() && a.Legal.RepBidx == nil {
		s.audit(ctx, auditEvent{event: "phone_change_face_start", outcome: "refused", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r), detail: "no representative on record"})
		return "", errNoRepresentative
	}
	var id string
	err = s.pool.QueryRow(ctx, `SELECT id FROM face_challenge WHERE session_hash = $1 AND purpose = $2 AND status IN ('pending', 'approved') AND expires_at > $3
		ORDER BY created_at DESC LIMIT 1`, sess.hash, facePhoneChange, s.cfg.Now()).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(database.Translate(err), database.ErrNotFound) {
		return "", err
	}
	if id, err = s.startFace(ctx, sess, a.ID, facePhoneChange); err != nil {
		return "", err
	}
	s.audit(ctx, auditEvent{event: "phone_change_face_start", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)})
	return id, nil
}

// phoneFaceStatus answers the polling of ①: once approved, the challenge
// is spent and the change is open for phoneChangeWindow.
func (s *Server) phoneFaceStatus(ctx context.Context, r *http.Request, sess *session, id string) (string, error) {
	status, err := s.faceStatus(ctx, sess, id)
	if err != nil || status != "approved" {
		return status, err
	}
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return "", err
	}
	if err := s.stepLocked(ctx, r, a, "phone_change_face"); err != nil {
		return "", err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		acc, err := s.useFace(ctx, tx, sess, id, facePhoneChange)
		if err != nil {
			return err
		}
		if acc != sess.accountID {
			return errFacePerson
		}
		if _, err := tx.Exec(ctx, `INSERT INTO phone_change_flow (session_hash, account_id, face_at) VALUES ($1, $2, $3)
			ON CONFLICT (session_hash) DO UPDATE SET account_id = EXCLUDED.account_id, face_at = EXCLUDED.face_at`, sess.hash, acc, s.cfg.Now()); err != nil {
			return err
		}
		if err := account.ClearFailures(ctx, tx, acc); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, auditEvent{event: "phone_change_face", outcome: "ok", account: acc, subject: a.IDHint, ip: clientIP(r)})
	})
	if err != nil {
		return "", err
	}
	return "used", nil
}

// freshFace refuses ② unless this session's face of ① is fresh.
func (s *Server) freshFace(ctx context.Context, q querier, sess *session) error {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM phone_change_flow WHERE session_hash = $1 AND account_id = $2 AND face_at > $3)`,
		sess.hash, sess.accountID, s.cfg.Now().Add(-phoneChangeWindow)).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return errFaceRequired
	}
	return nil
}

// newPhone checks the new phone of ②: valid, not the phone on record,
// not bound to another account.
func (s *Server) newPhone(ctx context.Context, a *account.Account, phone string) (string, error) {
	phone = account.NormalizePhone(phone)
	if !account.ValidPhone(phone) {
		return "", fieldErrors{"phone": "请输入正确的手机号码"}
	}
	if bytes.Equal(s.phoneIndex(phone), a.PhoneBidx) {
		return "", fieldErrors{"phone": "新手机号与当前绑定的手机号相同"}
	}
	bound, err := account.PhoneBoundElsewhere(ctx, s.pool, s.phoneIndex(phone), a.ID)
	if err != nil {
		return "", err
	}
	if bound {
		return "", errPhoneBound
	}
	return phone, nil
}

// phoneSend sends the code of ② to the new phone.
func (s *Server) phoneSend(ctx context.Context, r *http.Request, sess *session, phone string, captcha captchaInput) error {
	if err := s.freshFace(ctx, s.pool, sess); err != nil {
		s.audit(ctx, auditEvent{event: "sms_send_phone_change", outcome: "refused", account: sess.accountID, ip: clientIP(r), detail: "no fresh face"})
		return err
	}
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return err
	}
	if err := s.stepLocked(ctx, r, a, "sms_send_phone_change"); err != nil {
		return err
	}
	if phone, err = s.newPhone(ctx, a, phone); err != nil {
		if errors.Is(err, errPhoneBound) {
			s.audit(ctx, auditEvent{event: "sms_send_phone_change", outcome: "refused", account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(account.NormalizePhone(phone)), ip: clientIP(r), detail: "bound elsewhere"})
		}
		return err
	}
	if err := s.checkCaptcha(ctx, r, "sms_send_phone_change", a.ID, phone, captcha); err != nil {
		return err
	}
	err = s.sendCode(ctx, phone, purposeNewPhone, a.ID, clientNet(r), true)
	s.audit(ctx, auditEvent{event: "sms_send_phone_change", outcome: sendOutcome(err), account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(phone), ip: clientIP(r)})
	return err
}

// changePhone does ②: the code proves the new phone, which is bound in
// the transaction that ends the change (only while the face is fresh) and
// the account's other sessions; the old phone gets a notice.
func (s *Server) changePhone(ctx context.Context, r *http.Request, sess *session, phone, code string) error {
	if err := s.freshFace(ctx, s.pool, sess); err != nil {
		s.audit(ctx, auditEvent{event: "phone_change", outcome: "refused", account: sess.accountID, ip: clientIP(r), detail: "no fresh face"})
		return err
	}
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return err
	}
	if err := s.stepLocked(ctx, r, a, "phone_change"); err != nil {
		return err
	}
	raw := phone
	if phone, err = s.newPhone(ctx, a, phone); err != nil {
		if errors.Is(err, errPhoneBound) {
			s.audit(ctx, auditEvent{event: "phone_change", outcome: "refused", account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(account.NormalizePhone(raw)), ip: clientIP(r), detail: "bound elsewhere"})
		}
		return err
	}
	if err := s.checkCode(ctx, a.ID, phone, purposeNewPhone, strings.TrimSpace(code)); err != nil {
		if errors.Is(err, errCodeWrong) {
			if ferr := s.failed(ctx, a.ID, auditEvent{event: "phone_change", outcome: "fail", account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(phone), ip: clientIP(r), detail: "wrong code"}); ferr != nil {
				return ferr
			}
		}
		return err
	}
	old, err := s.openPhone(a.PhoneSealed)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	var ended [][]byte
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := account.ByID(ctx, tx, a.ID, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM phone_change_flow WHERE session_hash = $1 AND account_id = $2 AND face_at > $3`,
			sess.hash, a.ID, s.cfg.Now().Add(-phoneChangeWindow))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errFaceRequired
		}
		set, err := account.SetPhone(ctx, tx, a.ID, account.SealPhone(s.cfg.Keyring, phone), s.phoneIndex(phone), pii.MaskPhone(phone))
		if err != nil {
			return err
		}
		if !set {
			return errPhoneBound
		}
		if ended, err = s.endSessions(ctx, tx, a.ID, sess.hash); err != nil {
			return err
		}
		if err := account.ClearFailures(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, auditEvent{event: "phone_change", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(phone), ip: clientIP(r),
			detail: fmt.Sprintf("from %s; %d other sessions ended", a.PhoneHint, len(ended))})
	})
	if err != nil {
		return err
	}
	s.afterSessionsEnded(ctx, ended)
	s.notify(ctx, old, "【统一身份认证】您的账号绑定手机号已变更为"+pii.MaskPhone(phone)+"，本手机号不再用于登录和找回密码。如非本人操作，请立即使用刷脸登录并修改手机号。")
	return nil
}

// API twins of the change of phone.

func (s *Server) apiPhoneFaceStart(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := s.phoneFace(r.Context(), r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.faceJSON(id, "pending"))
}

func (s *Server) apiPhoneFaceStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	status, err := s.phoneFaceStatus(r.Context(), r, sess, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.faceJSON(r.PathValue("id"), status)
	if status == "used" {
		out["next_step"] = "phone"
	}
	writeJSON(w, http.StatusOK, out)
}

type phoneInput struct {
	Phone     string `json:"phone"`
	Code      string `json:"code"`
	CaptchaID string `json:"captcha_id"`
	Captcha   string `json:"captcha"`
}

func (s *Server) apiPhoneSMS(w http.ResponseWriter, r *http.Request, sess *session) {
	var in phoneInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.phoneSend(r.Context(), r, sess, in.Phone, captchaInput{ID: in.CaptchaID, Answer: in.Captcha}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "验证码已发送，5分钟内有效"})
}

func (s *Server) apiPhone(w http.ResponseWriter, r *http.Request, sess *session) {
	var in phoneInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.changePhone(r.Context(), r, sess, in.Phone, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": phoneChanged, "next": "/center"})
}

const phoneChanged = "手机号已修改，新手机号可用于登录和找回密码"

// phoneRoutes: the change of phone of the personal center.
func (s *Server) phoneRoutes() []route {
	return append(s.phonePageRoutes(), []route{
		{"POST /api/v1/settings/phone/face", s.limited(s.full(s.apiPhoneFaceStart))},
		{"GET /api/v1/settings/phone/face/{id}", s.full(s.apiPhoneFaceStatus)},
		{"POST /api/v1/settings/phone/sms", s.limited(s.full(s.apiPhoneSMS))},
		{"POST /api/v1/settings/phone", s.limited(s.full(s.apiPhone))},
	}...)
}
