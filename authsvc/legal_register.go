package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// Registration of a legal person (法人注册, 2.2.1), enforced like the
// citizens' (register.go): one flow bound to an anonymous session, its
// steps removed from the front by a conditional UPDATE.
//
//	① info: 法人类型, name, credit code, representative and its ID, agreement
//	   ─▶ ② account: password, contact person, address, contact phone (captcha, SMS code)
//	   ─▶ 注册成功 (3 完成注册)
//
// At ② the enterprise interface (EnterpriseVerifier) is asked at once:
// match makes the account 实名用户; no verdict yet, an error or a mismatch
// make it 未实名用户, told the seed's notice, and the scheduled re-check
// (RecheckRealname) asks again later.
//
// Enumeration of credit codes: nothing before ② looks at whether the
// credit code has an account, and ② answers a credit code that has one
// exactly as a new registration with the same verdict (the same page, the
// same JSON, the verifier asked, the password hashed alike) and creates
// nothing; the truth goes by SMS to the contact phone the registrant just
// proved to hold (该统一社会信用代码已注册), bounded by the SMS limits.
// The login name of the new account is its credit code.

// legalStep is a step of a legal registration.
type legalStep string

const (
	legalInfo    legalStep = "info"
	legalAccount legalStep = "account"
)

var legalSteps = []struct {
	step  legalStep
	label string
	path  string
}{
	{legalInfo, "填写信息认证", "/register/legal/info"},
	{legalAccount, "创建用户", "/register/legal/account"},
}

func legalLabel(s legalStep) string {
	for _, r := range legalSteps {
		if r.step == s {
			return r.label
		}
	}
	return "完成注册"
}

func legalPath(s legalStep) string {
	for _, r := range legalSteps {
		if r.step == s {
			return r.path
		}
	}
	return "/register/legal"
}

// LegalStepError refuses a legal registration step that is not the next
// one; Next "" : no legal registration in progress here.
type LegalStepError struct {
	Tried, Next legalStep
}

func (e *LegalStepError) Error() string {
	return fmt.Sprintf("legal registration step %s: the next step is %q", e.Tried, e.Next)
}

// Validity periods offered for the end of the representative's ID
// (5年/10年/20年/长期有效).
var validityPeriods = map[string]int{"5": 5, "10": 10, "20": 20}

// legalFlow is a session's legal registration as stored.
type legalFlow struct {
	steps                []legalStep
	legalType, name      *string
	codeSealed, codeBidx []byte
	codeHint             *string
	repName, repNat      *string
	repIDType, repIDHint *string
	repSealed, repBidx   []byte
	validFrom, validTo   *time.Time
	agreementVer         *string
	agreementAt          *time.Time
}

func (f *legalFlow) next() legalStep {
	if f == nil || len(f.steps) == 0 {
		return ""
	}
	return f.steps[0]
}

const legalColumns = `steps, legal_type, name, code_sealed, code_bidx, code_hint, rep_name, rep_nationality, rep_id_type, rep_id_hint,
	rep_id_sealed, rep_id_bidx, rep_id_valid_from, rep_id_valid_to, agreement_version, agreement_accepted_at`

func scanLegalFlow(row pgx.Row) (*legalFlow, error) {
	var f legalFlow
	var steps []string
	var from, to pgtype.Date
	if err := row.Scan(&steps, &f.legalType, &f.name, &f.codeSealed, &f.codeBidx, &f.codeHint, &f.repName, &f.repNat, &f.repIDType,
		&f.repIDHint, &f.repSealed, &f.repBidx, &from, &to, &f.agreementVer, &f.agreementAt); err != nil {
		return nil, database.Translate(err)
	}
	f.validFrom, f.validTo = account.DateOf(from), account.DateOf(to)
	for _, s := range steps {
		f.steps = append(f.steps, legalStep(s))
	}
	return &f, nil
}

// legalFlowOf reads the legal registration of the request's session.
func (s *Server) legalFlowOf(ctx context.Context, r *http.Request, tried legalStep) (*session, *legalFlow, error) {
	return anonymousFlow(ctx, s, r, `SELECT `+legalColumns+` FROM legal_registration_flow WHERE session_hash = $1`, scanLegalFlow, &LegalStepError{Tried: tried})
}

// legalExpect refuses a step that is not the flow's next one before any
// work is done for it (the step's write re-checks).
func (s *Server) legalExpect(ctx context.Context, r *http.Request, step legalStep) (*session, *legalFlow, error) {
	sess, f, err := s.legalFlowOf(ctx, r, step)
	if err != nil {
		return nil, nil, err
	}
	if f.next() != step {
		return nil, nil, &LegalStepError{Tried: step, Next: f.next()}
	}
	return sess, f, nil
}

// legalStepLost is the error of a conditional write that found the step
// done (or the flow gone) meanwhile.
func (s *Server) legalStepLost(ctx context.Context, q querier, sess *session, step legalStep) error {
	f, err := scanLegalFlow(q.QueryRow(ctx, `SELECT `+legalColumns+` FROM legal_registration_flow WHERE session_hash = $1`, sess.hash))
	if errors.Is(err, database.ErrNotFound) {
		return &LegalStepError{Tried: step}
	}
	if err != nil {
		return err
	}
	return &LegalStepError{Tried: step, Next: f.next()}
}

// startLegalRegistration begins a legal registration in a new anonymous
// session, ending the browser's session if any.
func (s *Server) startLegalRegistration(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	old, err := s.session(ctx, r)
	if err != nil && !errors.Is(err, errNoSession) {
		return err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		sess, err := s.rotate(ctx, tx, w, old, kindAnonymous, 0)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO legal_registration_flow (session_hash, steps, created_at) VALUES ($1, $2, $3)`,
			sess.hash, []string{string(legalInfo), string(legalAccount)}, s.cfg.Now())
		return err
	})
	if err == nil {
		s.audit(ctx, auditEvent{event: "legal_register_start", outcome: "ok", ip: clientIP(r)})
	}
	return err
}

// legalInfoInput is step ①.
type legalInfoInput struct {
	LegalType        string `json:"legal_type"`
	Name             string `json:"name"`
	CreditCode       string `json:"credit_code"`
	RepName          string `json:"rep_name"`
	RepNationality   string `json:"rep_nationality"`
	RepIDType        string `json:"rep_id_type"`
	RepIDNumber      string `json:"rep_id_number"`
	ValidFrom        string `json:"valid_from"`   // YYYY-MM-DD
	ValidTo          string `json:"valid_to"`     // YYYY-MM-DD, or empty with ValidPeriod
	ValidPeriod      string `json:"valid_period"` // 5, 10, 20 or long (长期有效)
	Agree            bool   `json:"agree"`
	AgreementVersion string `json:"agreement_version"`
}

// orgNameOK is the rule of a legal person's name: 2–100 characters, no
// control characters.
func orgNameOK(n string) bool {
	if c := utf8.RuneCountInString(n); c < 2 || c > 100 {
		return false
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// legalInfoChecked is step ①'s input checked and normalized.
type legalInfoChecked struct {
	legalType          schemas.LegalType
	name               string
	repName, repNat    string
	repIDType, repID   string
	validFrom, validTo *time.Time
}

// checkLegalInfo checks what ① and the upgrade (2.2.5) share: the type,
// the name, the representative and its ID's validity.
func checkLegalInfo(in legalInfoInput, fe fieldErrors) legalInfoChecked {
	var c legalInfoChecked
	c.legalType = schemas.LegalType(strings.TrimSpace(in.LegalType))
	known := false
	for _, t := range schemas.LegalTypes {
		known = known || t == c.legalType
	}
	if !known {
		fe["legal_type"] = "请选择法人类型"
	}
	if c.name = strings.TrimSpace(in.Name); !orgNameOK(c.name) {
		fe["name"] = "请填写营业执照上的名称"
	}
	if c.repName = strings.TrimSpace(in.RepName); utf8.RuneCountInString(c.repName) < 2 || utf8.RuneCountInString(c.repName) > 30 {
		fe["rep_name"] = "请填写法定代表人姓名"
	}
	if c.repNat = strings.TrimSpace(in.RepNationality); c.repNat == "" {
		c.repNat = "CHN"
	}
	if c.repIDType = strings.TrimSpace(in.RepIDType); c.repIDType == "" {
		c.repIDType = string(schemas.IDResident)
	}
	if knownIDType(c.repIDType) {
		var ok bool
		if c.repID, ok = account.CheckID(in.RepIDNumber, schemas.IDType(c.repIDType)); !ok {
			fe["rep_id_number"] = "法人证件号码不正确，请核对后重新填写"
		}
	} else {
		fe["rep_id_type"] = "请选择法人证件类型"
	}
	from, err := time.Parse(time.DateOnly, strings.TrimSpace(in.ValidFrom))
	if err != nil {
		fe["valid_from"] = "请选择证件有效开始日期"
		return c
	}
	c.validFrom = &from
	switch p := strings.TrimSpace(in.ValidPeriod); {
	case p == "long":
		c.validTo = &account.LongTerm
	case validityPeriods[p] > 0:
		to := from.AddDate(validityPeriods[p], 0, 0)
		c.validTo = &to
	default:
		to, err := time.Parse(time.DateOnly, strings.TrimSpace(in.ValidTo))
		if err != nil || !to.After(from) {
			fe["valid_to"] = "请选择证件有效结束日期（须晚于开始日期）或有效期限"
			break
		}
		c.validTo = &to
	}
	return c
}

// registerLegalInfo does step ①: checked by the pipeline's rules only;
// whether the credit code has an account is not looked at.
func (s *Server) registerLegalInfo(ctx context.Context, r *http.Request, in legalInfoInput) error {
	sess, _, err := s.legalExpect(ctx, r, legalInfo)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	c := checkLegalInfo(in, fe)
	code, ok := account.NormalizeCreditCode(in.CreditCode)
	if !ok {
		fe["credit_code"] = "统一社会信用代码不正确，请核对后重新填写"
	}
	if !in.Agree || in.AgreementVersion != AgreementVersion {
		fe["agree"] = "请阅读并同意用户协议"
	}
	if len(fe) > 0 {
		return fe
	}
	k := s.cfg.Keyring
	hint := account.CreditCodeHint(code)
	tag, err := s.pool.Exec(ctx, `UPDATE legal_registration_flow SET steps = steps[2:], legal_type = $3, name = $4, code_sealed = $5,
			code_bidx = $6, code_hint = $7, rep_name = $8, rep_nationality = $9, rep_id_type = $10, rep_id_hint = $11, rep_id_sealed = $12,
			rep_id_bidx = $13, rep_id_valid_from = $14, rep_id_valid_to = $15, agreement_version = $16, agreement_accepted_at = $17
		WHERE session_hash = $1 AND steps[1] = $2`,
		sess.hash, string(legalInfo), string(c.legalType), c.name, account.SealID(k, code), account.CreditCodeIndex(k, code), hint,
		c.repName, c.repNat, c.repIDType, pii.MaskID(c.repID), account.SealRepID(k, c.repID), account.IDIndex(k, c.repID),
		account.DateArg(c.validFrom), account.DateArg(c.validTo), AgreementVersion, s.cfg.Now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return s.legalStepLost(ctx, s.pool, sess, legalInfo)
	}
	s.audit(ctx, auditEvent{event: "legal_register_info", outcome: "ok", subject: hint, ip: clientIP(r)})
	return nil
}

// sendLegalRegisterCode sends a code to the contact phone of ②, to any
// valid phone alike (the limits and the captcha of every send apply).
func (s *Server) sendLegalRegisterCode(ctx context.Context, r *http.Request, phone string, captcha captchaInput) error {
	if _, _, err := s.legalExpect(ctx, r, legalAccount); err != nil {
		return err
	}
	phone = account.NormalizePhone(phone)
	if !account.ValidPhone(phone) {
		return fieldErrors{"phone": "请输入正确的手机号码"}
	}
	if err := s.checkCaptcha(ctx, r, "legal_register_sms", 0, phone, captcha); err != nil {
		return err
	}
	err := s.sendCode(ctx, phone, purposeRegister, 0, clientNet(r), true)
	s.audit(ctx, auditEvent{event: "legal_register_sms", outcome: sendOutcome(err), subject: pii.MaskPhone(phone), ip: clientIP(r)})
	return err
}

// legalAccountInput is step ②.
type legalAccountInput struct {
	// Username is the login name chosen, optional: without one the
	// credit code is the login name. Never changed afterwards.
	Username    string `json:"username"`
	Password    string `json:"password"`
	Confirm     string `json:"confirm"`
	ContactName string `json:"contact_name"`
	Address     string `json:"address"`
	Phone       string `json:"phone"`
	Code        string `json:"code"`
}

// legalResult is how a legal registration ended, as the registrant sees
// it: the same for a credit code that had an account.
type legalResult struct {
	Realname schemas.RealnameStatus
	CodeHint string
}

// unverifiedNotice is the seed's notice (2.2.5) of a registration the
// enterprise interface did not confirm (yet).
const unverifiedNotice = "注册成功，但未通过实名认证：可能因国家接口数据延迟，企业法人信息无误时也可能暂未通过校验。" +
	"当前账号状态为“未实名用户”，系统会定时自动实名认证，校验通过后将自动更新为“实名用户”。" +
	"也可登录后在用户中心-个人信息-实名等级升级中重新认证。"

// registeredTakenNotice goes by SMS to the contact phone of a
// registration whose credit code had an account.
const registeredTakenNotice = "【海南政务服务】您提交注册的统一社会信用代码已注册过法人账号，本次注册未创建新账号。如忘记密码，请在登录页选择法人登录后点击“忘记密码”找回。"

// registerLegalAccount does step ②: it ends the registration.
func (s *Server) registerLegalAccount(ctx context.Context, r *http.Request, in legalAccountInput) (legalResult, error) {
	sess, f, err := s.legalExpect(ctx, r, legalAccount)
	if err != nil {
		return legalResult{}, err
	}
	in.ContactName, in.Address = strings.TrimSpace(in.ContactName), strings.TrimSpace(in.Address)
	in.Phone, in.Code = account.NormalizePhone(in.Phone), strings.TrimSpace(in.Code)
	in.Username = strings.TrimSpace(in.Username)
	fe := fieldErrors{}
	if err := s.checkLegalUsername(ctx, in.Username); err != "" {
		fe["username"] = err
	}
	if in.Password != in.Confirm {
		fe["confirm"] = "两次输入的密码不一致"
	}
	if n := utf8.RuneCountInString(in.ContactName); n < 2 || n > 30 {
		fe["contact_name"] = "请填写联系人姓名"
	}
	if n := utf8.RuneCountInString(in.Address); n < 2 || n > 200 {
		fe["address"] = "请填写联系地址"
	}
	if !account.ValidPhone(in.Phone) {
		fe["phone"] = "请输入正确的手机号码"
	}
	if in.Code == "" {
		fe["code"] = "请填写手机收到的验证码"
	}
	if len(fe) > 0 {
		return legalResult{}, fe
	}
	k := s.cfg.Keyring
	repID, err := account.OpenRepID(k, f.repSealed)
	if err != nil {
		return legalResult{}, err
	}
	if err := CheckPassword(in.Password, PasswordFacts{Name: deref(f.repName), IDNumber: repID, Phone: in.Phone}); err != nil {
		return legalResult{}, err
	}
	if err := s.checkRegisterCode(ctx, in.Phone, in.Code); err != nil {
		if errors.Is(err, errCodeWrong) {
			if ferr := s.failed(ctx, 0, auditEvent{event: "legal_register_account", outcome: "fail", subject: pii.MaskPhone(in.Phone), ip: clientIP(r), detail: "wrong code"}); ferr != nil {
				return legalResult{}, ferr
			}
		}
		return legalResult{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return legalResult{}, err
	}
	code, err := account.OpenID(k, f.codeSealed)
	if err != nil {
		return legalResult{}, err
	}
	verdict, verr := s.verifyEnterprise(ctx, Enterprise{CreditCode: code, Name: deref(f.name), RepName: deref(f.repName), RepIDType: deref(f.repIDType), RepID: repID})
	now := s.cfg.Now()
	res := legalResult{Realname: schemas.RealnameUnverified, CodeHint: deref(f.codeHint)}
	if verdict == Match {
		res.Realname = schemas.RealnameVerified
	}
	var id int64
	taken := false
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM legal_registration_flow WHERE session_hash = $1 AND steps[1] = $2`, sess.hash, string(legalAccount))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return s.legalStepLost(ctx, tx, sess, legalAccount)
		}
		id, err = account.RegisterLegal(ctx, tx, account.LegalRegistration{
			Type: schemas.LegalType(deref(f.legalType)), Name: deref(f.name), CodeSealed: f.codeSealed, CodeBidx: f.codeBidx, CodeHint: deref(f.codeHint),
			RepName: deref(f.repName), RepIDType: deref(f.repIDType), RepIDSealed: f.repSealed, RepIDBidx: f.repBidx, RepIDHint: deref(f.repIDHint),
			RepNationality: deref(f.repNat), RepValidFrom: f.validFrom, RepValidTo: f.validTo,
			Username: in.Username, ContactName: in.ContactName, Address: in.Address,
			PhoneSealed: account.SealPhone(k, in.Phone), PhoneBidx: s.phoneIndex(in.Phone), PhoneHint: pii.MaskPhone(in.Phone),
			PasswordHash: hash, AgreementVersion: deref(f.agreementVer), AgreementAt: derefTime(f.agreementAt, now),
			Verified: verdict == Match, CheckedAt: now, NextCheck: now.Add(s.cfg.RealnameBackoff),
		})
		if errors.Is(err, account.ErrUsernameTaken) {
			return fieldErrors{"username": usernameTakenMessage}
		}
		if errors.Is(err, account.ErrCreditCodeTaken) {
			taken = true
			return s.auditIn(ctx, tx, auditEvent{event: "legal_register", outcome: "refused", subject: res.CodeHint, ip: clientIP(r), detail: "credit code has an account"})
		}
		if err != nil {
			return err
		}
		detail := "realname " + string(res.Realname)
		if verr != nil {
			detail += "; verifier: " + verr.Error()
		} else if verdict != Match {
			detail += "; verifier: " + string(verdict)
		}
		return s.auditIn(ctx, tx, auditEvent{event: "legal_register", outcome: "ok", account: id, subject: res.CodeHint, ip: clientIP(r), detail: detail})
	})
	if err != nil {
		return legalResult{}, err
	}
	if taken {
		s.notify(ctx, in.Phone, registeredTakenNotice)
	}
	return res, nil
}

func derefTime(p *time.Time, or time.Time) time.Time {
	if p == nil {
		return or
	}
	return *p
}

// verifyEnterprise asks the configured verifier; without one, or on its
// error, there is no verdict (the scheduled check asks again).
func (s *Server) verifyEnterprise(ctx context.Context, e Enterprise) (Verdict, error) {
	if s.cfg.Enterprise == nil {
		return NotYetAvailable, errNoVerifier
	}
	v, err := s.cfg.Enterprise.Verify(ctx, e)
	if err != nil {
		return NotYetAvailable, err
	}
	return v, nil
}

// legalStatus is what a legal registration's API reports.
func legalStatus(f *legalFlow) map[string]any {
	steps := make([]string, len(f.steps))
	for i, st := range f.steps {
		steps[i] = string(st)
	}
	out := map[string]any{"next_step": string(f.next()), "steps": steps, "agreement_version": AgreementVersion}
	if f.codeHint != nil {
		out["name"], out["credit_code_hint"], out["legal_type"] = deref(f.name), *f.codeHint, deref(f.legalType)
		out["rep_name"], out["rep_id_hint"] = pii.MaskPersonName(deref(f.repName)), deref(f.repIDHint)
	}
	return out
}

func legalResultJSON(res legalResult) map[string]any {
	out := map[string]any{"status": "registered", "realname_status": string(res.Realname), "realname_label": res.Realname.Label(),
		"login_name_hint": res.CodeHint, "next": "/login"}
	if res.Realname != schemas.RealnameVerified {
		out["message"] = unverifiedNotice
	} else {
		out["message"] = "注册成功"
	}
	return out
}

// JSON twins (/api/v1/register/legal*).

func (s *Server) apiLegalStart(w http.ResponseWriter, r *http.Request) {
	if err := s.startLegalRegistration(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"next_step": string(legalInfo), "agreement_version": AgreementVersion})
}

func (s *Server) apiLegalStatus(w http.ResponseWriter, r *http.Request) {
	_, f, err := s.legalFlowOf(r.Context(), r, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, legalStatus(f))
}

func (s *Server) apiLegalInfo(w http.ResponseWriter, r *http.Request) {
	var in legalInfoInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.registerLegalInfo(r.Context(), r, in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": string(legalAccount)})
}

func (s *Server) apiLegalSMS(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phone     string `json:"phone"`
		CaptchaID string `json:"captcha_id"`
		Captcha   string `json:"captcha"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sendLegalRegisterCode(r.Context(), r, in.Phone, captchaInput{ID: in.CaptchaID, Answer: in.Captcha}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func (s *Server) apiLegalAccount(w http.ResponseWriter, r *http.Request) {
	var in legalAccountInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.registerLegalAccount(r.Context(), r, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, legalResultJSON(res))
}

// legalRegistrationRoutes: the legal registration's pages and JSON twins.
func (s *Server) legalRegistrationRoutes() []route {
	return []route{
		{"GET /register/legal", s.legalRegisterPage},
		{"POST /register/legal", s.limited(s.legalStartForm)},
		{"GET /register/legal/info", s.legalInfoPage},
		{"POST /register/legal/info", s.limited(s.legalInfoForm)},
		{"GET /register/legal/account", s.legalAccountPage},
		{"POST /register/legal/account/sms", s.limited(s.legalSMSForm)},
		{"POST /register/legal/account", s.limited(s.hashing(s.legalAccountForm))},
		{"GET /register/legal/done", s.legalDonePage},
		{"POST /api/v1/register/legal", s.limited(s.apiLegalStart)},
		{"GET /api/v1/register/legal", s.apiLegalStatus},
		{"POST /api/v1/register/legal/info", s.limited(s.apiLegalInfo)},
		{"POST /api/v1/register/legal/sms", s.limited(s.apiLegalSMS)},
		{"POST /api/v1/register/legal/account", s.limited(s.hashing(s.apiLegalAccount))},
	}
}

// Pages.

// legalView is what a legal registration's page shows.
type legalView struct {
	Step       string
	Number     int
	Labels     []string
	Agreement  string
	LegalTypes []struct{ Value, Label string }
	IDTypes    []struct{ Value, Label string }
	In         legalInfoInput
	Contact    legalAccountInput
	Name       string
	CodeHint   string
	Realname   string
	Message    string
	Verified   bool
}

func legalLabels() []string {
	out := make([]string, 0, len(legalSteps)+1)
	for _, r := range legalSteps {
		out = append(out, r.label)
	}
	return append(out, "完成注册")
}

func legalTypeOptions() []struct{ Value, Label string } {
	var out []struct{ Value, Label string }
	for _, t := range schemas.LegalTypes {
		out = append(out, struct{ Value, Label string }{string(t), t.Label()})
	}
	return out
}

func (s *Server) legalRegisterPage(w http.ResponseWriter, r *http.Request) {
	_, f, err := s.legalFlowOf(r.Context(), r, "")
	var step *LegalStepError
	if errors.As(err, &step) {
		s.render(w, r, "legal_register.html", pageData{Title: "法人注册", Legal: &legalView{Step: "start", Labels: legalLabels(), Number: 1}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, legalPath(f.next()), http.StatusSeeOther)
}

func (s *Server) legalStartForm(w http.ResponseWriter, r *http.Request) {
	if err := s.startLegalRegistration(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, legalPath(legalInfo), http.StatusSeeOther)
}

func (s *Server) legalStepPage(w http.ResponseWriter, r *http.Request, step legalStep, d pageData) {
	_, f, err := s.legalExpect(r.Context(), r, step)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &legalView{Step: string(step), Number: 1, Labels: legalLabels(), Agreement: AgreementVersion, LegalTypes: legalTypeOptions(), IDTypes: idTypes,
		Name: deref(f.name), CodeHint: deref(f.codeHint)}
	if step == legalAccount {
		v.Number = 2
	}
	if d.Legal != nil {
		v.In, v.Contact = d.Legal.In, d.Legal.Contact
	}
	if v.In.LegalType == "" {
		v.In.LegalType = string(schemas.LegalEnterprise)
	}
	d.Title, d.Legal = "法人注册", v
	if step == legalAccount && d.Captcha == nil {
		d.Captcha = s.formCaptcha(r, true)
	}
	s.render(w, r, "legal_register.html", d)
}

func (s *Server) legalFormError(w http.ResponseWriter, r *http.Request, step legalStep, err error, d pageData) {
	p := problemOf(err)
	if p.status == http.StatusInternalServerError || p.code == "step_out_of_order" || p.code == "unauthenticated" {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields, d.Captcha = p.message, p.fields, p.captcha
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.legalStepPage(w, r, step, d)
}

func (s *Server) legalInfoPage(w http.ResponseWriter, r *http.Request) {
	s.legalStepPage(w, r, legalInfo, pageData{})
}

func legalInfoOf(r *http.Request) legalInfoInput {
	return legalInfoInput{LegalType: r.PostFormValue("legal_type"), Name: r.PostFormValue("name"), CreditCode: r.PostFormValue("credit_code"),
		RepName: r.PostFormValue("rep_name"), RepNationality: r.PostFormValue("rep_nationality"), RepIDType: r.PostFormValue("rep_id_type"),
		RepIDNumber: r.PostFormValue("rep_id_number"), ValidFrom: r.PostFormValue("valid_from"), ValidTo: r.PostFormValue("valid_to"),
		ValidPeriod: r.PostFormValue("valid_period"), Agree: r.PostFormValue("agree") != "", AgreementVersion: r.PostFormValue("agreement_version")}
}

func (s *Server) legalInfoForm(w http.ResponseWriter, r *http.Request) {
	in := legalInfoOf(r)
	if err := s.registerLegalInfo(r.Context(), r, in); err != nil {
		s.legalFormError(w, r, legalInfo, err, pageData{Legal: &legalView{In: in}})
		return
	}
	http.Redirect(w, r, legalPath(legalAccount), http.StatusSeeOther)
}

func (s *Server) legalAccountPage(w http.ResponseWriter, r *http.Request) {
	s.legalStepPage(w, r, legalAccount, pageData{})
}

// usernameTakenMessage refuses a login name another account has.
const usernameTakenMessage = "该登录名已被使用，请换一个"

// checkLegalUsername checks an optional login name: the username rule,
// not a valid credit code (the 法人登录 tab reads a credit code as one:
// such a name would never log in, or would look like another
// enterprise's code), not taken. It returns the field's message, "" when
// the name is good or absent.
func (s *Server) checkLegalUsername(ctx context.Context, name string) string {
	if name == "" {
		return ""
	}
	if _, ok := account.NormalizeCreditCode(name); ok {
		return "登录名不能是统一社会信用代码"
	}
	if !account.ValidUsername(name) {
		return "登录名为4–20位字母、数字或下划线，须以字母开头"
	}
	taken, err := account.UsernameTaken(ctx, s.pool, name)
	if err != nil || taken {
		return usernameTakenMessage
	}
	return ""
}

func legalAccountOf(r *http.Request) legalAccountInput {
	return legalAccountInput{Username: r.PostFormValue("username"), Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm"), ContactName: r.PostFormValue("contact_name"),
		Address: r.PostFormValue("address"), Phone: r.PostFormValue("phone"), Code: r.PostFormValue("code")}
}

func (s *Server) legalSMSForm(w http.ResponseWriter, r *http.Request) {
	in := legalAccountOf(r)
	in.Password, in.Confirm = "", ""
	d := pageData{Legal: &legalView{Contact: in}}
	if err := s.sendLegalRegisterCode(r.Context(), r, in.Phone, captchaInput{ID: r.PostFormValue("captcha_id"), Answer: r.PostFormValue("captcha")}); err != nil {
		s.legalFormError(w, r, legalAccount, err, d)
		return
	}
	d.Notice = "验证码已发送，5分钟内有效"
	s.legalStepPage(w, r, legalAccount, d)
}

func (s *Server) legalAccountForm(w http.ResponseWriter, r *http.Request) {
	in := legalAccountOf(r)
	res, err := s.registerLegalAccount(r.Context(), r, in)
	if err != nil {
		in.Password, in.Confirm = "", ""
		s.legalFormError(w, r, legalAccount, err, pageData{Legal: &legalView{Contact: in}})
		return
	}
	http.Redirect(w, r, "/register/legal/done?realname="+url.QueryEscape(string(res.Realname)), http.StatusSeeOther)
}

// legalDonePage is 3 完成注册: 注册成功, with the seed's notice when the
// account is not verified yet.
func (s *Server) legalDonePage(w http.ResponseWriter, r *http.Request) {
	st := schemas.RealnameStatus(r.URL.Query().Get("realname"))
	v := &legalView{Step: "done", Number: 3, Labels: legalLabels(), Verified: st == schemas.RealnameVerified, Realname: st.Label()}
	if !v.Verified {
		v.Message, v.Realname = unverifiedNotice, schemas.RealnameUnverified.Label()
	}
	s.render(w, r, "legal_register.html", pageData{Title: "法人注册", Legal: v})
}
