package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// completion is what a restricted session may read: the steps and the
// masked data on file.
type completion struct {
	NextStep      schemas.Step   `json:"next_step"`
	Steps         []schemas.Step `json:"steps"`
	Name          string         `json:"name"`
	IDHint        string         `json:"id_hint"`
	PhoneHint     string         `json:"phone_hint"`
	PhoneVerified bool           `json:"phone_verified"`
	Address       string         `json:"address"`
	// RealnameLevel is LV1, LV2 or LV3 (migration 018); Username "" for
	// none.
	RealnameLevel string `json:"realname_level"`
	Username      string `json:"username,omitempty"`
	// Legal: a legal account's completion (① the contact person and the
	// contact's phone, ③ the representative's face). Contact is the
	// contact person on record (the legal person's own to confirm),
	// RepName the representative masked.
	Legal   bool   `json:"legal,omitempty"`
	Contact string `json:"contact_name,omitempty"`
	RepName string `json:"rep_name,omitempty"`
}

func (s *Server) completionOf(ctx context.Context, sess *session) (*account.Account, completion, error) {
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return nil, completion{}, err
	}
	var f *completionFlow
	if sess.kind == kindRestricted {
		if f, err = s.flowOf(ctx, s.pool, sess); err != nil {
			return nil, completion{}, err
		}
	}
	c := completion{NextStep: nextStep(a, f), Name: pii.MaskPersonName(a.Name), IDHint: a.IDHint,
		PhoneHint: a.PhoneHint, PhoneVerified: s.phoneKept(a, f), Address: maskAddress(a.Address), RealnameLevel: a.RealnameLevel}
	if a.Username != nil {
		c.Username = *a.Username
	}
	if f != nil {
		c.Steps = f.steps
	}
	if a.IsLegal() {
		// The name of a legal person is on its licence: shown whole.
		c.Legal, c.Name, c.Contact, c.RepName = true, a.Name, a.Legal.ContactName, pii.MaskPersonName(a.Legal.RepName)
		if f != nil && f.contactName != nil {
			c.Contact = *f.contactName
		}
	}
	return a, c, nil
}

// phoneKept reports whether the phone on record is the citizen's own: a
// verified one, or the one this flow's login code went to.
func (s *Server) phoneKept(a *account.Account, f *completionFlow) bool {
	return a.PhoneBidx != nil && (a.PhoneVerified || (f != nil && bytes.Equal(f.phoneProvedBidx, a.PhoneBidx)))
}

// maskAddress shows the start of an address on file (the city, the
// district) and hides the rest: the holder of a restricted session has
// proved a phone, not yet a face.
func maskAddress(s string) string {
	r := []rune(s)
	if len(r) <= 6 {
		return s
	}
	return string(r[:6]) + "****"
}

// expect reads the session's account and flow and refuses a step that is
// not the flow's next one before any work is done for it (advance
// re-checks when it writes), and any step while failed checks keep the
// account locked (audited as event).
func (s *Server) expect(ctx context.Context, r *http.Request, sess *session, step schemas.Step, event string) (*account.Account, *completionFlow, error) {
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.flowOf(ctx, s.pool, sess)
	if err != nil {
		return nil, nil, err
	}
	if err := s.stepLocked(ctx, r, a, event); err != nil {
		return nil, nil, err
	}
	if next := nextStep(a, f); next != step {
		return nil, nil, &StepError{Tried: step, Next: next}
	}
	return a, f, nil
}

// stepLocked refuses a completion step, and audits the refusal as event,
// while failed checks keep the account locked: like the logins the lock
// refuses, which are audited too.
func (s *Server) stepLocked(ctx context.Context, r *http.Request, a *account.Account, event string) error {
	if a.LockedUntil == nil || !a.LockedUntil.After(s.cfg.Now()) {
		return nil
	}
	s.audit(ctx, auditEvent{event: event, outcome: "locked", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)})
	return errAccountLocked
}

// infoInput is step ①: what the citizen supplements. A phone that is not
// verified yet must be proved with a code sent to it.
type infoInput struct {
	Phone   string `json:"phone" validate:"omitempty,cnmobile"`
	Code    string `json:"code" validate:"omitempty,len=6,numeric"`
	Address string `json:"address" validate:"required,max=120"`
	// ContactName is a legal account's contact person (联系人), confirmed
	// or changed; a citizen's ① has none.
	ContactName string `json:"contact_name" validate:"max=30"`
}

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterValidation("cnmobile", func(fl validator.FieldLevel) bool { return account.ValidPhone(fl.Field().String()) })
	return v
}()

// fieldNames and tagMessages make validator's errors Chinese.
var fieldNames = map[string]string{"Phone": "手机号码", "Code": "验证码", "Address": "联系地址", "ContactName": "联系人"}

func validationErrors(err error) error {
	var ve validator.ValidationErrors
	if !errors.As(err, &ve) {
		return err
	}
	out := fieldErrors{}
	for _, fe := range ve {
		name := fieldNames[fe.Field()]
		var msg string
		switch fe.Tag() {
		case "required":
			msg = "请填写" + name
		case "cnmobile":
			msg = "请输入正确的手机号码"
		case "len", "numeric":
			msg = name + "应为6位数字"
		case "max":
			msg = name + "不能超过" + fe.Param() + "个字"
		default:
			msg = name + "格式不正确"
		}
		out[jsonName(fe.Field())] = msg
	}
	return out
}

// jsonName is a validated field's name as the forms and the JSON name it.
func jsonName(field string) string {
	if field == "ContactName" {
		return "contact_name"
	}
	return strings.ToLower(field)
}

// sendVerifyCode sends a code to the phone a restricted session wants to
// put on its account.
func (s *Server) sendVerifyCode(ctx context.Context, r *http.Request, sess *session, phone string, captcha captchaInput) error {
	a, _, err := s.expect(ctx, r, sess, schemas.StepInfo, "sms_send_verify")
	if err != nil {
		return err
	}
	phone = account.NormalizePhone(phone)
	if !account.ValidPhone(phone) {
		return fieldErrors{"phone": "请输入正确的手机号码"}
	}
	if err := s.checkCaptcha(ctx, r, "sms_send_verify", a.ID, phone, captcha); err != nil {
		return err
	}
	err = s.sendCode(ctx, phone, purposeVerifyPhone, a.ID, clientNet(r), true)
	outcome := sendOutcome(err)
	s.audit(ctx, auditEvent{event: "sms_send_verify", outcome: outcome, account: a.ID, bidx: a.IDBidx, subject: pii.MaskPhone(phone), ip: clientIP(r)})
	return err
}

// completeInfo does step ①. A new phone, proved by a code to it, and the
// address wait in the flow until ③.
func (s *Server) completeInfo(ctx context.Context, r *http.Request, sess *session, in infoInput) error {
	a, f, err := s.expect(ctx, r, sess, schemas.StepInfo, "step_info")
	if err != nil {
		return err
	}
	in.Phone, in.Code, in.Address = account.NormalizePhone(in.Phone), strings.TrimSpace(in.Code), strings.TrimSpace(in.Address)
	in.ContactName = strings.TrimSpace(in.ContactName)
	if err := validate.Struct(in); err != nil {
		return validationErrors(err)
	}
	// A legal account's ① confirms its contact person: required, and kept
	// in the flow until ③ (a citizen's ① has none: ignored).
	if a.IsLegal() && in.ContactName == "" {
		return fieldErrors{"contact_name": "请填写联系人"}
	}
	// A phone is needed, and must be the citizen's: either the one on file
	// kept (verified, or proved by this session's login code), or a new one
	// proved by its code.
	kept := s.phoneKept(a, f)
	newPhone := in.Phone != "" && !(kept && bytes.Equal(s.phoneIndex(in.Phone), a.PhoneBidx))
	switch {
	case !newPhone && !kept:
		return fieldErrors{"phone": "请填写并验证本人手机号码"}
	case newPhone && in.Code == "":
		return fieldErrors{"code": "请填写手机收到的验证码"}
	}
	if newPhone {
		if err := s.checkCode(ctx, a.ID, in.Phone, purposeVerifyPhone, in.Code); err != nil {
			if errors.Is(err, errCodeWrong) {
				if ferr := s.failed(ctx, a.ID, auditEvent{event: "step_info", outcome: "fail", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r), detail: "wrong code"}); ferr != nil {
					return ferr
				}
			}
			return err
		}
	}
	u := flowUpdate{set: "address = $3", args: []any{in.Address}}
	if newPhone {
		u.set += ", phone_sealed = $4, phone_bidx = $5, phone_hint = $6"
		u.args = append(u.args, s.cfg.Keyring.Seal([]byte(in.Phone), []byte(schemas.FieldPhone)), s.phoneIndex(in.Phone), pii.MaskPhone(in.Phone))
	}
	if a.IsLegal() {
		u.set += fmt.Sprintf(", contact_name = $%d", len(u.args)+3)
		u.args = append(u.args, in.ContactName)
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.advance(ctx, tx, sess, schemas.StepInfo, u); err != nil {
			return err
		}
		return account.ClearFailures(ctx, tx, a.ID)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "step_info", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)})
	return nil
}

// completePassword does step ②.
func (s *Server) completePassword(ctx context.Context, r *http.Request, sess *session, password, confirm string) error {
	a, f, err := s.expect(ctx, r, sess, schemas.StepPassword, "step_password")
	if err != nil {
		return err
	}
	if password != confirm {
		return fieldErrors{"confirm": "两次输入的密码不一致"}
	}
	// The phone the account will have: the new one of ①, else the one on
	// record.
	phone := a.PhoneSealed
	if f.phoneSealed != nil {
		phone = f.phoneSealed
	}
	if _, _, err := s.checkNewPassword(a, phone, password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.advance(ctx, s.pool, sess, schemas.StepPassword, flowUpdate{set: "password_hash = $3", args: []any{hash}}); err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "step_password", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)})
	return nil
}

// faceChallenge returns the session's pending challenge for step ③, or a
// new one.
func (s *Server) faceChallenge(ctx context.Context, r *http.Request, sess *session) (string, error) {
	a, _, err := s.expect(ctx, r, sess, schemas.StepFace, "face_complete_start")
	if err != nil {
		return "", err
	}
	// A legal account's ③ is its representative's face: without a
	// representative on record nobody can prove it here.
	if a.IsLegal() && a.Legal.RepBidx == nil {
		s.audit(ctx, auditEvent{event: "face_complete_start", outcome: "refused", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r), detail: "no representative on record"})
		return "", errNoRepresentative
	}
	var id string
	err = s.pool.QueryRow(ctx, `SELECT id FROM face_challenge WHERE session_hash = $1 AND purpose = $2 AND status IN ('pending', 'approved') AND expires_at > $3
		ORDER BY created_at DESC LIMIT 1`, sess.hash, faceComplete, s.cfg.Now()).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(database.Translate(err), database.ErrNotFound) {
		return "", err
	}
	id, err = s.startFace(ctx, sess, a.ID, faceComplete)
	if err == nil {
		s.audit(ctx, auditEvent{event: "face_complete_start", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)})
	}
	return id, err
}

// finishFace ends step ③ once the provider approved the session's
// challenge: the account becomes active and the session is rotated into a
// full one. It returns the challenge's status and, when done, where to go.
func (s *Server) finishFace(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *session, id string) (string, string, error) {
	status, err := s.faceStatus(ctx, sess, id)
	if err != nil || status != "approved" {
		return status, "", err
	}
	// A face approved during the lock (its challenge started before it)
	// activates nothing, as in the face login.
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return "", "", err
	}
	if err := s.stepLocked(ctx, r, a, "step_face"); err != nil {
		return "", "", err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		acc, err := s.useFace(ctx, tx, sess, id, faceComplete)
		if err != nil {
			return err
		}
		if acc != sess.accountID {
			return errFacePerson
		}
		if err := s.activate(ctx, tx, sess); err != nil {
			return err
		}
		if err := account.ClearFailures(ctx, tx, acc); err != nil {
			return err
		}
		_, err = s.rotateAuthenticated(ctx, tx, w, sess, acc, amrFace)
		return err
	})
	if err != nil {
		return "", "", err
	}
	s.audit(ctx, auditEvent{event: "step_face", outcome: "ok", account: sess.accountID, ip: clientIP(r), detail: "account active"})
	next := "/complete/done"
	if to := safeReturn(sess.returnTo); to != "" {
		next = "/complete/done?next=" + url.QueryEscape(to)
	}
	return "used", next, nil
}

// Pages and API twins of the completion.

func (s *Server) completePage(w http.ResponseWriter, r *http.Request, sess *session) {
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, stepPath(c.NextStep), http.StatusSeeOther)
}

// stepPage renders the page of step for a session whose next step it is.
func (s *Server) stepPage(w http.ResponseWriter, r *http.Request, sess *session, step schemas.Step, d pageData) {
	_, c, err := s.completionOf(r.Context(), sess)
	if err == nil && c.NextStep != step {
		err = &StepError{Tried: step, Next: c.NextStep}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Title, d.Completion, d.Step = stepOf(step).label, &c, stepOf(step).number
	if step == schemas.StepInfo && d.Captcha == nil {
		// Shown when a send from here will need it: not to a citizen
		// keeping the phone already verified, who need send nothing.
		d.Captcha = s.formCaptcha(r, !c.PhoneVerified || r.Method == http.MethodPost)
	}
	s.render(w, r, stepOf(step).template, d)
}

// stepFormError re-renders a step's page with the error, or sends the
// citizen where the error says.
func (s *Server) stepFormError(w http.ResponseWriter, r *http.Request, sess *session, step schemas.Step, err error, d pageData) {
	p := problemOf(err)
	if p.status == http.StatusInternalServerError || p.code == "step_out_of_order" || p.code == "unauthenticated" {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields, d.Captcha = p.message, p.fields, p.captcha
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.stepPage(w, r, sess, step, d)
}

func (s *Server) infoPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.stepPage(w, r, sess, schemas.StepInfo, pageData{})
}

func (s *Server) infoSMSForm(w http.ResponseWriter, r *http.Request, sess *session) {
	d := pageData{Phone: r.PostFormValue("phone"), Address: r.PostFormValue("address")}
	if err := s.sendVerifyCode(r.Context(), r, sess, r.PostFormValue("phone"), captchaInput{ID: r.PostFormValue("captcha_id"), Answer: r.PostFormValue("captcha")}); err != nil {
		s.stepFormError(w, r, sess, schemas.StepInfo, err, d)
		return
	}
	d.Notice = "验证码已发送，5分钟内有效"
	s.stepPage(w, r, sess, schemas.StepInfo, d)
}

func (s *Server) infoForm(w http.ResponseWriter, r *http.Request, sess *session) {
	in := infoInput{Phone: r.PostFormValue("phone"), Code: r.PostFormValue("code"), Address: r.PostFormValue("address"), ContactName: r.PostFormValue("contact_name")}
	if err := s.completeInfo(r.Context(), r, sess, in); err != nil {
		s.stepFormError(w, r, sess, schemas.StepInfo, err, pageData{Phone: in.Phone, Address: in.Address})
		return
	}
	http.Redirect(w, r, "/complete", http.StatusSeeOther) // the next step, ② unless a recovered password did it
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.stepPage(w, r, sess, schemas.StepPassword, pageData{})
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.completePassword(r.Context(), r, sess, r.PostFormValue("password"), r.PostFormValue("confirm")); err != nil {
		s.stepFormError(w, r, sess, schemas.StepPassword, err, pageData{})
		return
	}
	http.Redirect(w, r, stepPath(schemas.StepFace), http.StatusSeeOther)
}

func (s *Server) facePage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := s.faceChallenge(r.Context(), r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, next, err := s.finishFace(r.Context(), w, r, sess, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := s.faceData(stepLabel(schemas.StepFace), id, status, "/complete/face")
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Completion, d.Step = &c, stepOf(schemas.StepFace).number
	s.render(w, r, "face.html", d)
}

func (s *Server) donePage(w http.ResponseWriter, r *http.Request, sess *session) {
	next := safeReturn(r.URL.Query().Get("next"))
	if h, ok := identityOf(r); ok && h.Switch && sess.actingFor == 0 {
		// An agent chooses the identity first (2.3.2).
		next = identityPath(next)
	}
	s.render(w, r, "done.html", pageData{Title: stepDone.label, Step: stepDone.number, Next: next})
}

func statusLabel(st schemas.AccountStatus) string {
	switch st {
	case schemas.StatusActive:
		return "正常"
	case schemas.StatusPendingCompletion:
		return "待补充信息"
	case schemas.StatusLocked:
		return "已锁定"
	}
	return "已停用"
}

func (s *Server) apiCompletion(w http.ResponseWriter, r *http.Request, sess *session) {
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiInfoSMS(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		Phone     string `json:"phone"`
		CaptchaID string `json:"captcha_id"`
		Captcha   string `json:"captcha"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sendVerifyCode(r.Context(), r, sess, in.Phone, captchaInput{ID: in.CaptchaID, Answer: in.Captcha}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "验证码已发送，5分钟内有效"})
}

func (s *Server) apiInfo(w http.ResponseWriter, r *http.Request, sess *session) {
	var in infoInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.completeInfo(r.Context(), r, sess, in); err != nil {
		s.fail(w, r, err)
		return
	}
	// ② may be done already (a recovered password, recovery.go).
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": string(c.NextStep)})
}

func (s *Server) apiPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		Password string `json:"password"`
		Confirm  string `json:"confirm"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.completePassword(r.Context(), r, sess, in.Password, in.Confirm); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": string(schemas.StepFace)})
}

func (s *Server) apiFaceStart(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := s.faceChallenge(r.Context(), r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.faceJSON(id, "pending"))
}

func (s *Server) apiFaceStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	status, next, err := s.finishFace(r.Context(), w, r, sess, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.faceJSON(r.PathValue("id"), status)
	if next != "" {
		out["next"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, sess *session) {
	a, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if a.IsLegal() {
		e, err := s.enterpriseOf(a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": a.Kind, "enterprise": e, "status": a.Status})
		return
	}
	out := map[string]any{"kind": a.Kind, "name": c.Name, "id_hint": c.IDHint, "phone_hint": c.PhoneHint, "status": a.Status,
		"realname_level": c.RealnameLevel, "username": c.Username}
	// The header's 当前身份 (agent.go): the enterprise acted for, if any.
	if h, ok := identityOf(r); ok && h.Acting != "" {
		out["acting_for"], out["acting_enterprise"] = sess.actingFor, h.Acting
	}
	writeJSON(w, http.StatusOK, out)
}

// completionRoutes: the completion flow's pages and JSON twins, for a
// restricted session only.
func (s *Server) completionRoutes() []route {
	return []route{
		{"GET /complete", s.restricted(s.completePage)},
		{"GET /complete/info", s.restricted(s.infoPage)},
		{"POST /complete/info/sms", s.limited(s.restricted(s.infoSMSForm))},
		{"POST /complete/info/captcha", s.restricted(s.infoCaptchaForm)},
		{"POST /complete/info", s.limited(s.restricted(s.infoForm))},
		{"GET /complete/password", s.restricted(s.passwordPage)},
		{"POST /complete/password", s.hashing(s.restricted(s.passwordForm))},
		{"GET /complete/face", s.restricted(s.facePage)},
		{"GET /api/v1/completion", s.restricted(s.apiCompletion)},
		{"POST /api/v1/completion/info/sms", s.limited(s.restricted(s.apiInfoSMS))},
		{"POST /api/v1/completion/info", s.limited(s.restricted(s.apiInfo))},
		{"POST /api/v1/completion/password", s.hashing(s.restricted(s.apiPassword))},
		{"POST /api/v1/completion/face", s.restricted(s.apiFaceStart)},
		{"GET /api/v1/completion/face/{id}", s.restricted(s.apiFaceStatus)},
	}
}

// centerRoutes: the personal center of a full session.
func (s *Server) centerRoutes() []route {
	return []route{
		{"GET /complete/done", s.full(s.donePage)},
		{"GET /center", s.full(s.centerPage)},
		{"GET /api/v1/me", s.full(s.apiMe)},
	}
}
