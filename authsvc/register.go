package authsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// Registration (个人注册, 2.1.1) of a citizen who was never in any
// department's data, enforced here like the completion (flow.go): one
// flow bound to an anonymous session, its steps removed from the front by
// a conditional UPDATE.
//
//	① account: username, phone (SMS code), agreement ─▶ ② realname: name, ID type, ID number
//	   ─▶ ③ face: the challenge bound to that ID number's blind index ─▶ ④ signed in
//
// Nothing becomes an account before ③. Until then no answer depends on
// whether the ID number or the phone has an account (no enumeration); the
// code is sent to any phone alike, and a phone bound to another account is
// refused only once its code proved the registrant holds it. At ③ the face
// proves the registrant is the ID number's holder: a new account is
// created (LV3), or, when the ID number has one (fused, or registered
// earlier), the registrant is told 账号已存在 and signed into it — a
// fused account pending completion continues with its completion.

// regStep is a step of the registration.
type regStep string

const (
	regAccount  regStep = "account"
	regRealname regStep = "realname"
	regFace     regStep = "face"
)

// registrationSteps are the steps in order with their pages' labels and
// paths; after the last, done (完成).
var registrationSteps = []struct {
	step  regStep
	label string
	path  string
}{
	{regAccount, "填写账号信息", "/register/account"},
	{regRealname, "实名认证", "/register/realname"},
	{regFace, "实人认证", "/register/face"},
}

func regLabel(s regStep) string {
	for _, r := range registrationSteps {
		if r.step == s {
			return r.label
		}
	}
	return "完成"
}

func regPath(s regStep) string {
	for _, r := range registrationSteps {
		if r.step == s {
			return r.path
		}
	}
	return "/register"
}

func regNumber(s regStep) int {
	for i, r := range registrationSteps {
		if r.step == s {
			return i + 1
		}
	}
	return len(registrationSteps) + 1
}

// RegStepError refuses a registration step that is not the next one;
// Next is the one to do ("" : no registration in progress here).
type RegStepError struct {
	Tried, Next regStep
}

func (e *RegStepError) Error() string {
	return fmt.Sprintf("registration step %s: the next step is %q", e.Tried, e.Next)
}

// Errors of the registration.
var (
	errPhoneBound    = errors.New("the phone is bound to another account")
	errUsernameTaken = errors.New("the username is taken")
)

// AgreementVersion is the version of the user agreement (用户协议) that
// registration shows and stores as accepted. A new text gets a new
// version.
const AgreementVersion = "2026-12-01"

// agreementText is the agreement of AgreementVersion.
var agreementText = []string{
	"一、本系统为统一身份认证平台，为个人用户提供注册、登录及身份认证服务。",
	"二、用户应使用本人真实身份信息注册，注册时须通过手机验证码验证及人脸识别实人认证。一个证件号码只能注册一个账号。",
	"三、用户名一经注册不可修改；证件号码不可修改。用户应妥善保管账号、密码及手机验证码，不得转借他人使用。",
	"四、平台依法保护用户个人信息，证件号码、手机号等敏感信息加密存储，页面及日志中仅显示脱敏信息。",
	"五、用户登录对接本平台的业务系统时，平台将按用户授权向该业务系统提供必要的身份信息。",
}

// regFlow is a session's registration as stored.
type regFlow struct {
	steps                  []regStep
	username               *string
	phoneSealed, phoneBidx []byte
	phoneHint              *string
	agreementVersion       *string
	name, idType, idHint   *string
	idSealed, idBidx       []byte
}

func (f *regFlow) next() regStep {
	if f == nil || len(f.steps) == 0 {
		return ""
	}
	return f.steps[0]
}

const regColumns = `steps, username, phone_sealed, phone_bidx, phone_hint, agreement_version, name, id_type, id_hint, id_sealed, id_bidx`

func scanRegFlow(row pgx.Row) (*regFlow, error) {
	var f regFlow
	var steps []string
	if err := row.Scan(&steps, &f.username, &f.phoneSealed, &f.phoneBidx, &f.phoneHint, &f.agreementVersion,
		&f.name, &f.idType, &f.idHint, &f.idSealed, &f.idBidx); err != nil {
		return nil, database.Translate(err)
	}
	for _, s := range steps {
		f.steps = append(f.steps, regStep(s))
	}
	return &f, nil
}

// regFlowOf reads the registration of the request's session; a
// *RegStepError with Next "" when there is none.
func (s *Server) regFlowOf(ctx context.Context, r *http.Request, tried regStep) (*session, *regFlow, error) {
	return anonymousFlow(ctx, s, r, `SELECT `+regColumns+` FROM registration_flow WHERE session_hash = $1`, scanRegFlow, &RegStepError{Tried: tried})
}

// anonymousFlow reads the flow of the request's anonymous session by
// query (its one argument: the session's hash) and scan; refused when
// there is no such session or flow (a registration's, either kind).
func anonymousFlow[F any](ctx context.Context, s *Server, r *http.Request, query string, scan func(pgx.Row) (*F, error), refused error) (*session, *F, error) {
	sess, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		return nil, nil, refused
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.kind != kindAnonymous {
		return nil, nil, refused
	}
	f, err := scan(s.pool.QueryRow(ctx, query, sess.hash))
	if errors.Is(err, database.ErrNotFound) {
		return nil, nil, refused
	}
	return sess, f, err
}

// regExpect is regFlowOf refusing a step that is not the flow's next one
// before any work is done for it (regAdvance re-checks when it writes).
func (s *Server) regExpect(ctx context.Context, r *http.Request, step regStep) (*session, *regFlow, error) {
	sess, f, err := s.regFlowOf(ctx, r, step)
	if err != nil {
		return nil, nil, err
	}
	if f.next() != step {
		return nil, nil, &RegStepError{Tried: step, Next: f.next()}
	}
	return sess, f, nil
}

// regAdvance marks step done when it is the flow's next one, keeping what
// it collected (u: assignments, arguments from $3); a *RegStepError
// naming the next step when it is not (or a parallel request did it).
func (s *Server) regAdvance(ctx context.Context, sess *session, step regStep, u flowUpdate) error {
	set := "steps = steps[2:]"
	if u.set != "" {
		set += ", " + u.set
	}
	var done bool
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE registration_flow SET `+set+` WHERE session_hash = $1 AND steps[1] = $2`,
			append([]any{sess.hash, string(step)}, u.args...)...)
		if err != nil {
			return err
		}
		done = tag.RowsAffected() == 1
		if done && u.username != "" {
			// The flow holds its username in the lookup table that
			// keeps it unique across the country (docs/scale-out.md
			// §3.2), in the step's transaction.
			_, err = tx.Exec(ctx, `INSERT INTO registration_username (username_lower, session_hash) VALUES (lower($1), $2)`,
				u.username, sess.hash)
		}
		return err
	})
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "registration_flow_username" {
		return errUsernameTaken
	}
	if err != nil {
		return err
	}
	if done {
		return nil
	}
	f, err := scanRegFlow(s.pool.QueryRow(ctx, `SELECT `+regColumns+` FROM registration_flow WHERE session_hash = $1`, sess.hash))
	if errors.Is(err, database.ErrNotFound) {
		return &RegStepError{Tried: step}
	}
	if err != nil {
		return err
	}
	return &RegStepError{Tried: step, Next: f.next()}
}

// startRegistration begins a registration in a new anonymous session,
// ending the browser's session if any (signed in or not: registering is
// starting over).
func (s *Server) startRegistration(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	old, err := s.session(ctx, r)
	if err != nil && !errors.Is(err, errNoSession) {
		return err
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		sess, err := s.rotate(ctx, tx, w, old, kindAnonymous, 0)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO registration_flow (session_hash, steps, created_at) VALUES ($1, $2, $3)`,
			sess.hash, []string{string(regAccount), string(regRealname), string(regFace)}, s.cfg.Now())
		return err
	})
	if err == nil {
		s.audit(ctx, auditEvent{event: "register_start", outcome: "ok", ip: clientIP(r)})
	}
	return err
}

// sendRegisterCode sends a code to the phone of step ①: to any valid
// phone alike, bound to an account or not (the limits and the captcha of
// every send apply).
func (s *Server) sendRegisterCode(ctx context.Context, r *http.Request, phone string, captcha captchaInput) error {
	if _, _, err := s.regExpect(ctx, r, regAccount); err != nil {
		return err
	}
	phone = account.NormalizePhone(phone)
	if !account.ValidPhone(phone) {
		return fieldErrors{"phone": "请输入正确的手机号码"}
	}
	if err := s.checkCaptcha(ctx, r, "register_sms", 0, phone, captcha); err != nil {
		return err
	}
	err := s.sendCode(ctx, phone, purposeRegister, 0, clientNet(r), true)
	s.audit(ctx, auditEvent{event: "register_sms", outcome: sendOutcome(err), subject: pii.MaskPhone(phone), ip: clientIP(r)})
	return err
}

// regAccountInput is step ①.
type regAccountInput struct {
	Username         string `json:"username"`
	Phone            string `json:"phone"`
	Code             string `json:"code"`
	Agree            bool   `json:"agree"`
	AgreementVersion string `json:"agreement_version"`
}

// usernameError is the message of a username refused by its rules; "" when
// it follows them.
func usernameError(u string) string {
	switch {
	case u == "":
		return "请填写用户名"
	case !account.ValidUsername(u):
		return "用户名须为4-20位字母、数字或下划线，且以字母开头"
	}
	return ""
}

// registerAccount does step ①.
func (s *Server) registerAccount(ctx context.Context, r *http.Request, in regAccountInput) error {
	sess, _, err := s.regExpect(ctx, r, regAccount)
	if err != nil {
		return err
	}
	in.Username, in.Phone, in.Code = strings.TrimSpace(in.Username), account.NormalizePhone(in.Phone), strings.TrimSpace(in.Code)
	fe := fieldErrors{}
	if msg := usernameError(in.Username); msg != "" {
		fe["username"] = msg
	}
	if !account.ValidPhone(in.Phone) {
		fe["phone"] = "请输入正确的手机号码"
	}
	if in.Code == "" {
		fe["code"] = "请填写手机收到的验证码"
	}
	if !in.Agree || in.AgreementVersion != AgreementVersion {
		fe["agree"] = "请阅读并同意用户协议"
	}
	if len(fe) > 0 {
		return fe
	}
	taken, err := account.UsernameTaken(ctx, s.pool, in.Username)
	if err != nil {
		return err
	}
	if taken {
		return errUsernameTaken
	}
	if err := s.checkRegisterCode(ctx, in.Phone, in.Code); err != nil {
		if errors.Is(err, errCodeWrong) {
			// No account to count against (failed counts against
			// nobody, at the same cost, and audits): the code's own
			// tries (CodeTries) and the address limit bound the guesses.
			if ferr := s.failed(ctx, 0, auditEvent{event: "register_account", outcome: "fail", subject: pii.MaskPhone(in.Phone), ip: clientIP(r), detail: "wrong code"}); ferr != nil {
				return ferr
			}
		}
		return err
	}
	// The registrant holds the phone now: telling them it is bound
	// reveals nothing they could not learn by logging in with it.
	bidx := s.phoneIndex(in.Phone)
	bound, err := account.PhoneBound(ctx, s.pool, bidx)
	if err != nil {
		return err
	}
	if bound {
		s.audit(ctx, auditEvent{event: "register_account", outcome: "refused", subject: pii.MaskPhone(in.Phone), ip: clientIP(r), detail: "phone bound to another account"})
		return errPhoneBound
	}
	err = s.regAdvance(ctx, sess, regAccount, flowUpdate{
		set:      "username = $3, phone_sealed = $4, phone_bidx = $5, phone_hint = $6, agreement_version = $7, agreement_accepted_at = $8",
		args:     []any{in.Username, account.SealPhone(s.cfg.Keyring, in.Phone), bidx, pii.MaskPhone(in.Phone), AgreementVersion, s.cfg.Now()},
		username: in.Username,
	})
	if err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "register_account", outcome: "ok", subject: pii.MaskPhone(in.Phone), ip: clientIP(r)})
	return nil
}

// regRealnameInput is step ②.
type regRealnameInput struct {
	Name     string `json:"name"`
	IDType   string `json:"id_type"`
	IDNumber string `json:"id_number"`
}

// idTypes are the ID types a citizen may register with, as the pages
// name them.
var idTypes = []struct{ Value, Label string }{
	{string(schemas.IDResident), "居民身份证"},
	{string(schemas.IDHMTPermit), "港澳台居民居住证"},
	{string(schemas.IDForeignPR), "外国人永久居留身份证"},
}

func knownIDType(t string) bool {
	for _, it := range idTypes {
		if it.Value == t {
			return true
		}
	}
	return false
}

// registerRealname does step ②: the name and ID number are checked by
// the pipeline's rules only. Whether the ID number has an account is not
// looked at before ③.
func (s *Server) registerRealname(ctx context.Context, r *http.Request, in regRealnameInput) error {
	sess, _, err := s.regExpect(ctx, r, regRealname)
	if err != nil {
		return err
	}
	in.Name, in.IDType = strings.TrimSpace(in.Name), strings.TrimSpace(in.IDType)
	if in.IDType == "" {
		in.IDType = string(schemas.IDResident)
	}
	fe := fieldErrors{}
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 30 {
		fe["name"] = "请填写证件上的姓名"
	}
	number, ok := "", false
	if knownIDType(in.IDType) {
		number, ok = account.CheckID(in.IDNumber, schemas.IDType(in.IDType))
	} else {
		fe["id_type"] = "请选择证件类型"
	}
	if !ok && fe["id_type"] == "" {
		fe["id_number"] = "证件号码不正确，请核对后重新填写"
	}
	if len(fe) > 0 {
		return fe
	}
	hint := pii.MaskID(number)
	err = s.regAdvance(ctx, sess, regRealname, flowUpdate{
		set:  "name = $3, id_type = $4, id_sealed = $5, id_bidx = $6, id_hint = $7",
		args: []any{in.Name, in.IDType, account.SealID(s.cfg.Keyring, number), account.IDIndex(s.cfg.Keyring, number), hint},
	})
	if err != nil {
		return err
	}
	s.audit(ctx, auditEvent{event: "register_realname", outcome: "ok", subject: hint, ip: clientIP(r)})
	return nil
}

// registerFaceChallenge returns the session's pending challenge for ③, or
// a new one bound to the ID number of ②.
func (s *Server) registerFaceChallenge(ctx context.Context, r *http.Request) (string, error) {
	sess, f, err := s.regExpect(ctx, r, regFace)
	if err != nil {
		return "", err
	}
	var id string
	err = s.pool.QueryRow(ctx, `SELECT id FROM face_challenge WHERE session_hash = $1 AND purpose = $2 AND status IN ('pending', 'approved')
		AND expires_at > $3 AND id_bidx = $4 ORDER BY created_at DESC LIMIT 1`, sess.hash, faceRegister, s.cfg.Now(), f.idBidx).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(database.Translate(err), database.ErrNotFound) {
		return "", err
	}
	if id, err = NewChallengeID(); err != nil {
		return "", err
	}
	now := s.cfg.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO face_challenge (id, session_hash, purpose, id_bidx, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, sess.hash, faceRegister, f.idBidx, now, now.Add(s.cfg.FaceTTL)); err != nil {
		return "", err
	}
	s.audit(ctx, auditEvent{event: "register_face_start", outcome: "ok", subject: deref(f.idHint), ip: clientIP(r)})
	return id, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// methodRegister is the first sign-in of a registered account: the face
// of ③ proved it.
var methodRegister = &loginMethod{event: "register", amr: amrFace}

// regResult is how a registration ended: where to go, and whether the ID
// number had an account already (the registrant is signed into it).
type regResult struct {
	loginResult
	Existing bool
}

// finishRegistration ends ③ once the provider approved the session's
// challenge for the ID number of ②: in one transaction the challenge is
// spent and the flow ended, and the account created unless the ID number
// has one; then the registrant is signed in (signIn ends the anonymous
// session). It returns the challenge's status.
func (s *Server) finishRegistration(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) (string, regResult, error) {
	sess, _, err := s.regExpect(ctx, r, regFace)
	if err != nil {
		return "", regResult{}, err
	}
	status, err := s.faceStatus(ctx, sess, id)
	if err != nil || status != "approved" {
		return status, regResult{}, err
	}
	var accID int64
	var existing bool
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var proved []byte
		err := tx.QueryRow(ctx, `UPDATE face_challenge SET status = 'used'
			WHERE id = $1 AND session_hash = $2 AND purpose = $3 AND status = 'approved' AND account_id IS NULL
			RETURNING id_bidx`, id, sess.hash, faceRegister).Scan(&proved)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return fmt.Errorf("%w: not approved, used, or not this session's", errFaceUnknown)
		}
		if err != nil {
			return err
		}
		done, err := scanRegFlow(tx.QueryRow(ctx, `DELETE FROM registration_flow WHERE session_hash = $1 AND steps = $2 RETURNING `+regColumns,
			sess.hash, []string{string(regFace)}))
		if errors.Is(err, database.ErrNotFound) {
			return &RegStepError{Tried: regFace}
		}
		if err != nil {
			return err
		}
		// The flow's end frees the username it held (the account takes
		// it below, or the registrant is signed into the existing one).
		if _, err := tx.Exec(ctx, `DELETE FROM registration_username WHERE username_lower = lower($1) AND session_hash = $2`,
			done.username, sess.hash); err != nil {
			return err
		}
		if !bytes.Equal(proved, done.idBidx) {
			return errFacePerson
		}
		a, err := account.ByIDIndex(ctx, tx, done.idBidx)
		if err != nil {
			return err
		}
		if a != nil {
			accID, existing = a.ID, true
			return nil
		}
		accID, err = account.Register(ctx, tx, account.Registration{
			Username: *done.username, Name: *done.name, IDType: *done.idType,
			IDSealed: done.idSealed, IDBidx: done.idBidx, IDHint: *done.idHint,
			PhoneSealed: done.phoneSealed, PhoneBidx: done.phoneBidx, PhoneHint: *done.phoneHint,
			AgreementVersion: *done.agreementVersion, AgreementAt: s.cfg.Now(),
		})
		switch {
		case errors.Is(err, account.ErrUsernameTaken):
			return errUsernameTaken
		case errors.Is(err, account.ErrIDTaken):
			// Registered or imported meanwhile: the same as found.
			a, err = account.ByIDIndex(ctx, tx, done.idBidx)
			if err != nil || a == nil {
				return fmt.Errorf("account of the ID number after a conflict: %v", err)
			}
			accID, existing = a.ID, true
			return nil
		}
		return err
	})
	if err != nil {
		return "", regResult{}, err
	}
	a, err := account.ByID(ctx, s.pool, accID, false)
	if err != nil {
		return "", regResult{}, err
	}
	method := methodRegister
	if existing {
		s.audit(ctx, auditEvent{event: "register_existing", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r),
			detail: "ID number has an account: signed into it"})
		if s.locked(a) {
			return "rejected", regResult{}, s.refuse(ctx, r, methodFace.event, a, a.IDHint, "locked")
		}
		method = methodFace
	}
	res, err := s.signIn(ctx, w, r, a, method, "")
	if err == nil && !existing {
		res.Next = "/center?registered=1"
	}
	return "used", regResult{loginResult: res, Existing: existing}, err
}

// regStatus is what a registration's API reports.
func regStatus(f *regFlow) map[string]any {
	out := map[string]any{"next_step": string(f.next()), "agreement_version": AgreementVersion}
	steps := make([]string, len(f.steps))
	for i, st := range f.steps {
		steps[i] = string(st)
	}
	out["steps"] = steps
	if f.username != nil {
		out["username"], out["phone_hint"] = *f.username, deref(f.phoneHint)
	}
	if f.idHint != nil {
		out["name"], out["id_hint"] = pii.MaskPersonName(*f.name), *f.idHint
	}
	return out
}

// phoneBoundMessage is the seed's explanation (2.1.6) of a phone that an
// account has already, with the ways in.
const phoneBoundMessage = "该手机号已绑定其他账号。政务服务网统一身份认证与健康码、海易办是同一套用户体系，您可能之前注册过。" +
	"可使用该手机号在登录页选择手机验证码登录或刷脸登录；习惯使用密码登录的，请使用“忘记密码”设置新密码后登录。"

// JSON twins of the registration (/api/v1/register/*).

func (s *Server) apiRegisterStart(w http.ResponseWriter, r *http.Request) {
	if err := s.startRegistration(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"next_step": string(regAccount), "agreement_version": AgreementVersion})
}

func (s *Server) apiRegisterStatus(w http.ResponseWriter, r *http.Request) {
	_, f, err := s.regFlowOf(r.Context(), r, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, regStatus(f))
}

func (s *Server) apiAgreement(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": AgreementVersion, "title": "统一身份认证平台用户协议", "text": agreementText})
}

func (s *Server) apiRegisterSMS(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Phone     string `json:"phone"`
		CaptchaID string `json:"captcha_id"`
		Captcha   string `json:"captcha"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sendRegisterCode(r.Context(), r, in.Phone, captchaInput{ID: in.CaptchaID, Answer: in.Captcha}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func (s *Server) apiRegisterAccount(w http.ResponseWriter, r *http.Request) {
	var in regAccountInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.registerAccount(r.Context(), r, in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": string(regRealname)})
}

func (s *Server) apiRegisterRealname(w http.ResponseWriter, r *http.Request) {
	var in regRealnameInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.registerRealname(r.Context(), r, in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next_step": string(regFace)})
}

func (s *Server) apiRegisterFaceStart(w http.ResponseWriter, r *http.Request) {
	id, err := s.registerFaceChallenge(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.faceJSON(id, "pending"))
}

func (s *Server) apiRegisterFaceStatus(w http.ResponseWriter, r *http.Request) {
	status, res, err := s.finishRegistration(r.Context(), w, r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := s.faceJSON(r.PathValue("id"), status)
	if res.Next != "" {
		out["next"] = res.Next
		if res.NextStep != "" {
			out["next_step"] = string(res.NextStep)
		}
		out["existing"] = res.Existing
		if res.Existing {
			out["message"] = existingMessage
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// existingMessage tells a registrant whose face proved an ID number that
// has an account already: they are signed into it (2.1.6).
const existingMessage = "账号已存在：该证件号码已注册过账号（可能通过健康码、海易办或部门数据开通），已为您登录该账号。"

// registrationRoutes: the registration's pages and JSON twins. Every
// credential check (the code send, the code, the face) is rate-limited.
func (s *Server) registrationRoutes() []route {
	return []route{
		{"GET /register", s.registerPage},
		{"POST /register", s.limited(s.registerStartForm)},
		{"GET /register/agreement", s.agreementPage},
		{"GET /register/account", s.registerAccountPage},
		{"POST /register/account/sms", s.limited(s.registerSMSForm)},
		{"POST /register/account", s.limited(s.registerAccountForm)},
		{"GET /register/realname", s.registerRealnamePage},
		{"POST /register/realname", s.limited(s.registerRealnameForm)},
		{"GET /register/face", s.registerFacePage},
		{"GET /register/existing", s.registerExistingPage},
		{"POST /api/v1/register", s.limited(s.apiRegisterStart)},
		{"GET /api/v1/register", s.apiRegisterStatus},
		{"GET /api/v1/register/agreement", s.apiAgreement},
		{"POST /api/v1/register/sms", s.limited(s.apiRegisterSMS)},
		{"POST /api/v1/register/account", s.limited(s.apiRegisterAccount)},
		{"POST /api/v1/register/realname", s.limited(s.apiRegisterRealname)},
		{"POST /api/v1/register/face", s.limited(s.apiRegisterFaceStart)},
		{"GET /api/v1/register/face/{id}", s.apiRegisterFaceStatus},
	}
}

// Pages of the registration.

// regView is what a registration's page shows.
type regView struct {
	Step                      string
	Number                    int
	Labels                    []string
	Agreement                 string
	Text                      []string
	Username, PhoneHint, Name string
	IDTypes                   []struct{ Value, Label string }
}

func regLabels() []string {
	out := make([]string, 0, len(registrationSteps)+1)
	for _, r := range registrationSteps {
		out = append(out, r.label)
	}
	return append(out, "完成")
}

// registerPage sends the browser to its registration's next step, and
// starts one (a form posting to /register) when there is none.
func (s *Server) registerPage(w http.ResponseWriter, r *http.Request) {
	_, f, err := s.regFlowOf(r.Context(), r, "")
	var step *RegStepError
	if errors.As(err, &step) {
		// No registration here yet: start one (a POST: a link followed
		// by a crawler must not end a signed-in session).
		s.render(w, r, "register.html", pageData{Title: "个人注册", Reg: &regView{Step: "start", Labels: regLabels(), Agreement: AgreementVersion}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, regPath(f.next()), http.StatusSeeOther)
}

func (s *Server) registerStartForm(w http.ResponseWriter, r *http.Request) {
	if err := s.startRegistration(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, regPath(regAccount), http.StatusSeeOther)
}

func (s *Server) agreementPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "agreement.html", pageData{Title: "用户协议", Reg: &regView{Agreement: AgreementVersion, Text: agreementText}})
}

// regStepPage renders step's page for a session whose next step it is.
func (s *Server) regStepPage(w http.ResponseWriter, r *http.Request, step regStep, d pageData) {
	_, f, err := s.regExpect(r.Context(), r, step)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &regView{Step: string(step), Number: regNumber(step), Labels: regLabels(), Agreement: AgreementVersion, IDTypes: idTypes,
		Username: deref(f.username), PhoneHint: deref(f.phoneHint)}
	if d.Reg != nil {
		v.Username, v.Name = d.Reg.Username, d.Reg.Name
	}
	d.Title, d.Reg = "个人注册", v
	if step == regAccount && d.Captcha == nil {
		d.Captcha = s.formCaptcha(r, true)
	}
	s.render(w, r, "register.html", d)
}

// regFormError re-renders step's page with err, or sends the browser where
// err says.
func (s *Server) regFormError(w http.ResponseWriter, r *http.Request, step regStep, err error, d pageData) {
	p := problemOf(err)
	if p.status == http.StatusInternalServerError || p.code == "step_out_of_order" || p.code == "unauthenticated" {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields, d.Captcha = p.message, p.fields, p.captcha
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.regStepPage(w, r, step, d)
}

func (s *Server) registerAccountPage(w http.ResponseWriter, r *http.Request) {
	s.regStepPage(w, r, regAccount, pageData{})
}

func (s *Server) registerSMSForm(w http.ResponseWriter, r *http.Request) {
	d := pageData{Phone: r.PostFormValue("phone"), Reg: &regView{Username: r.PostFormValue("username")}}
	if err := s.sendRegisterCode(r.Context(), r, r.PostFormValue("phone"), captchaInput{ID: r.PostFormValue("captcha_id"), Answer: r.PostFormValue("captcha")}); err != nil {
		s.regFormError(w, r, regAccount, err, d)
		return
	}
	d.Notice = "验证码已发送，5分钟内有效"
	s.regStepPage(w, r, regAccount, d)
}

func (s *Server) registerAccountForm(w http.ResponseWriter, r *http.Request) {
	in := regAccountInput{Username: r.PostFormValue("username"), Phone: r.PostFormValue("phone"), Code: r.PostFormValue("code"),
		Agree: r.PostFormValue("agree") != "", AgreementVersion: r.PostFormValue("agreement_version")}
	if err := s.registerAccount(r.Context(), r, in); err != nil {
		s.regFormError(w, r, regAccount, err, pageData{Phone: in.Phone, Reg: &regView{Username: in.Username}})
		return
	}
	http.Redirect(w, r, regPath(regRealname), http.StatusSeeOther)
}

func (s *Server) registerRealnamePage(w http.ResponseWriter, r *http.Request) {
	s.regStepPage(w, r, regRealname, pageData{})
}

func (s *Server) registerRealnameForm(w http.ResponseWriter, r *http.Request) {
	in := regRealnameInput{Name: r.PostFormValue("name"), IDType: r.PostFormValue("id_type"), IDNumber: r.PostFormValue("id_number")}
	if err := s.registerRealname(r.Context(), r, in); err != nil {
		s.regFormError(w, r, regRealname, err, pageData{IDNumber: in.IDNumber, Reg: &regView{Name: in.Name}})
		return
	}
	http.Redirect(w, r, regPath(regFace), http.StatusSeeOther)
}

// registerFacePage shows ③'s QR code and polls by reloading; once the
// provider approved, the registration ends.
func (s *Server) registerFacePage(w http.ResponseWriter, r *http.Request) {
	id, err := s.registerFaceChallenge(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, res, err := s.finishRegistration(r.Context(), w, r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		to := res.Next
		if res.Existing {
			to = "/register/existing?next=" + url.QueryEscape(res.Next)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	_, f, err := s.regExpect(r.Context(), r, regFace)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.faceData("个人注册", id, status, "/register/face")
	d.Completion = &completion{IDHint: deref(f.idHint)}
	s.render(w, r, "face.html", d)
}

// registerExistingPage tells the registrant the ID number's account
// exists and that they are signed into it.
func (s *Server) registerExistingPage(w http.ResponseWriter, r *http.Request) {
	next := safeReturn(r.URL.Query().Get("next"))
	if next == "" {
		next = "/center"
	}
	s.render(w, r, "existing.html", pageData{Title: "账号已存在", Status: existingMessage, Next: next})
}
