package authsvc

// The personal center (用户中心) of a signed-in citizen: 身份信息 masked,
// 修改密码, 修改手机号 (part of the recovery unit: /settings/phone),
// 邮寄地址管理, 登录记录, 退出. The username and the ID number are never
// editable (2.1.3): every way of asking is refused.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

var (
	// errOldPassword: the old password of 修改密码 is wrong, or the
	// account's password logins are locked (the same count: one secret).
	errOldPassword = errors.New("old password refused")
	// errImmutable refuses a change of the username or the ID number.
	errImmutable = errors.New("username and ID number cannot be changed")
	// errAddressUnknown: no such address of this account.
	errAddressUnknown = errors.New("no such address")
)

// centerView is what the center page shows besides the identity
// (pageData.Completion).
type centerView struct {
	Addresses []account.Address
	Logins    []loginRecord
	// Max is how many addresses an account may keep.
	Max int
	// Enterprises is 企业授权 (agent.go), loaded and shown (Agencies) only
	// in a natural person's own identity.
	Enterprises []agencyEntry
	Agencies    bool
}

// realnameLevel is the account's real-name level (account.realname_level)
// as the center shows it: the level and what it proves.
func realnameLevel(a *account.Account) string {
	switch a.RealnameLevel {
	case "LV3":
		return "LV3（已人脸核验）"
	case "LV2":
		return "LV2（已核验姓名和证件号码）"
	case "LV1":
		return "LV1（已验证手机号）"
	}
	return a.RealnameLevel
}

func (s *Server) centerData(ctx context.Context, sess *session, d pageData) (pageData, error) {
	a, c, err := s.completionOf(ctx, sess)
	if err != nil {
		return d, err
	}
	if d.Consents, err = s.consentsOf(ctx, sess.accountID); err != nil {
		return d, err
	}
	if d.Systems, err = s.systemsOf(ctx, sess.accountID); err != nil {
		return d, err
	}
	v := &centerView{Max: account.MaxAddresses}
	if v.Addresses, err = account.Addresses(ctx, s.pool, sess.accountID); err != nil {
		return d, err
	}
	if v.Logins, err = s.loginRecords(ctx, sess.accountID); err != nil {
		return d, err
	}
	if v.Agencies = !a.IsLegal() && sess.actingFor == 0; v.Agencies {
		if v.Enterprises, err = s.agenciesOf(ctx, sess.accountID); err != nil {
			return d, err
		}
	}
	d.Title, d.Completion, d.Status, d.RealnameLevel, d.Center = "用户中心", &c, statusLabel(a.Status), realnameLevel(a), v
	if a.IsLegal() {
		e, err := s.enterpriseOf(a)
		if err != nil {
			return d, err
		}
		d.Title, d.Enterprise = "企业中心", &e
	}
	return d, nil
}

// enterpriseView is the 企业中心's 身份信息 of a legal account, masked as
// the seed shows it: the credit code's hint, the representative's and
// the contact's names as 韩****, the representative's ID number as
// 130****0000, the contact's phone as 139****9071. The legal person's
// name is shown whole (it is on its licence).
type enterpriseView struct {
	Name           string `json:"name"`
	CreditCodeHint string `json:"credit_code_hint"`
	Type           string `json:"legal_type"`
	RepName        string `json:"rep_name"`
	RepIDHint      string `json:"rep_id_hint"`
	Contact        string `json:"contact_name"`
	PhoneHint      string `json:"phone_hint"`
	Realname       string `json:"realname_status"`
	Username       string `json:"username,omitempty"`
	Status         string `json:"status"`
}

func (s *Server) enterpriseOf(a *account.Account) (enterpriseView, error) {
	l := a.Legal
	e := enterpriseView{Name: a.Name, CreditCodeHint: a.IDHint, Type: l.Type.Label(), RepName: pii.MaskPersonName(l.RepName),
		Contact: pii.MaskPersonName(l.ContactName), PhoneHint: a.PhoneHint, Realname: l.Realname.Label(), Status: statusLabel(a.Status)}
	if a.Username != nil {
		e.Username = *a.Username
	}
	if l.RepIDSealed != nil {
		id, err := account.OpenRepID(s.cfg.Keyring, l.RepIDSealed)
		if err != nil {
			return e, err
		}
		e.RepIDHint = pii.MaskPhone(id)
	}
	return e, nil
}

func (s *Server) centerPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderCenter(w, r, sess, pageData{Notice: centerNotices[r.URL.Query().Get("done")]})
}

// centerNotices are the notices after a change (?done=).
var centerNotices = map[string]string{
	"password": "密码已修改，其他设备上的登录已退出",
	"address":  "邮寄地址已保存",
	"deleted":  "邮寄地址已删除",
	"default":  "已设为默认地址",
	// 我的经办人 (agents.go)
	"agent":         "已发送授权通知，请经办人在24小时内确认",
	"agent_enable":  "经办人已启用",
	"agent_disable": "经办人已禁用",
	"agent_revoke":  "授权已撤销",
}

// renderCenter renders the center with d's error or notice; a form's
// error keeps its status.
func (s *Server) renderCenter(w http.ResponseWriter, r *http.Request, sess *session, d pageData) {
	d, err := s.centerData(r.Context(), sess, d)
	if err == nil && d.Enterprise != nil {
		d.Agents, err = s.agentsOf(r.Context(), sess.accountID, pageOf(r))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "center.html", d)
}

// centerFormError re-renders the center with a form's error.
func (s *Server) centerFormError(w http.ResponseWriter, r *http.Request, sess *session, err error, d pageData) {
	p := problemOf(err)
	if p.status >= http.StatusInternalServerError || p.code == "unauthenticated" {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields = p.message, p.fields
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.renderCenter(w, r, sess, d)
}

// 修改密码

// changePassword replaces the password after checking the old one. The
// old password is a credential check like a login's, on the same count:
// a place is claimed first (account.Lockout.ClaimPasswordTry), a wrong
// one is counted with its audit row (PasswordFailed) and the
// MaxFailures-th locks password logins, so the center is no way around
// the lock. The new password follows the completion's rules; the other
// sessions of the account end.
func (s *Server) changePassword(ctx context.Context, r *http.Request, sess *session, old, password, confirm string) error {
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return err
	}
	if old == "" {
		return fieldErrors{"old_password": "请输入原密码"}
	}
	if password != confirm {
		return fieldErrors{"confirm": "两次输入的密码不一致"}
	}
	if password == old {
		return fieldErrors{"password": "新密码不能与原密码相同"}
	}
	id, _, err := s.checkNewPassword(a, a.PhoneSealed, password)
	if err != nil {
		return err
	}
	fail := auditEvent{event: "settings_password", outcome: "fail", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r)}
	claimed, err := s.claimPasswordTry(ctx, s.idIndex(id))
	if errors.Is(err, account.ErrTriesInFlight) {
		fail.outcome, fail.detail = "refused", "tries in flight"
		s.audit(ctx, fail)
		return &OverloadError{RetryAfter: time.Second}
	}
	if err != nil {
		return err
	}
	if claimed == nil || claimed.ID != a.ID || claimed.PasswordHash == nil {
		// No password, or its logins locked: the same answer as a wrong
		// one, nothing compared.
		fail.detail = "locked or no password"
		s.audit(ctx, fail)
		return errOldPassword
	}
	ok, err := s.hasher.Verify(ctx, old, *claimed.PasswordHash)
	if err != nil {
		s.releaseTry(ctx, a.ID)
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if !ok {
		fail.detail = "wrong old password"
		// The audit row first: see signIn.
		err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
			if err := s.auditIn(ctx, tx, fail); err != nil {
				return err
			}
			return s.lockout.PasswordFailed(ctx, tx, a.ID, s.cfg.Now())
		})
		if err != nil {
			s.releaseTry(ctx, a.ID) // nothing recorded: the place goes back
			return err
		}
		return errOldPassword
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		s.releaseTry(ctx, a.ID)
		return err
	}
	var ended [][]byte
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		done, err := account.ChangePassword(ctx, tx, a.ID, hash)
		if err != nil {
			return err
		}
		if !done {
			return errNoSession // no longer active: the session ends too
		}
		if ended, err = s.endSessions(ctx, tx, a.ID, sess.hash); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, auditEvent{event: "settings_password", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint,
			ip: clientIP(r), detail: fmt.Sprintf("other sessions ended: %d", len(ended))})
	})
	if err != nil {
		s.releaseTry(ctx, a.ID)
		return err
	}
	// The business systems those sessions signed into hear of it too.
	s.afterSessionsEnded(ctx, ended)
	return nil
}

func (s *Server) passwordChangeForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.changePassword(r.Context(), r, sess, r.PostFormValue("old_password"), r.PostFormValue("password"), r.PostFormValue("confirm")); err != nil {
		s.centerFormError(w, r, sess, err, pageData{Tab: "password"})
		return
	}
	http.Redirect(w, r, "/center?done=password#password", http.StatusSeeOther)
}

func (s *Server) apiPasswordChange(w http.ResponseWriter, r *http.Request, sess *session) {
	var in struct {
		OldPassword string `json:"old_password"`
		Password    string `json:"password"`
		Confirm     string `json:"confirm"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.changePassword(r.Context(), r, sess, in.OldPassword, in.Password, in.Confirm); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": centerNotices["password"]})
}

// 邮寄地址管理

// addressOp is one change of the account's addresses, in a transaction.
func (s *Server) addressOp(ctx context.Context, r *http.Request, sess *session, event string, op func(tx pgx.Tx) error) error {
	err := database.Transact(ctx, s.pool, op)
	switch {
	case errors.Is(err, database.ErrNotFound):
		err = errAddressUnknown
	case errors.Is(err, account.ErrTooManyAddresses):
	case err != nil:
		return err
	}
	e := auditEvent{event: event, outcome: "ok", account: sess.accountID, ip: clientIP(r)}
	if err != nil {
		e.outcome, e.detail = "refused", err.Error()
	}
	s.audit(ctx, e)
	return err
}

func (s *Server) addAddress(ctx context.Context, r *http.Request, sess *session, in account.AddressInput) (int64, error) {
	if bad := in.Validate(); bad != nil {
		return 0, fieldErrors(bad)
	}
	var id int64
	err := s.addressOp(ctx, r, sess, "address_add", func(tx pgx.Tx) (err error) {
		id, err = account.AddAddress(ctx, tx, s.cfg.Keyring, sess.accountID, in, s.cfg.Now())
		return err
	})
	return id, err
}

func (s *Server) updateAddress(ctx context.Context, r *http.Request, sess *session, id int64, in account.AddressInput) error {
	if bad := in.Validate(); bad != nil {
		return fieldErrors(bad)
	}
	return s.addressOp(ctx, r, sess, "address_update", func(tx pgx.Tx) error {
		return account.UpdateAddress(ctx, tx, s.cfg.Keyring, sess.accountID, id, in, s.cfg.Now())
	})
}

func (s *Server) deleteAddress(ctx context.Context, r *http.Request, sess *session, id int64) error {
	return s.addressOp(ctx, r, sess, "address_delete", func(tx pgx.Tx) error {
		return account.DeleteAddress(ctx, tx, sess.accountID, id)
	})
}

func (s *Server) defaultAddress(ctx context.Context, r *http.Request, sess *session, id int64) error {
	return s.addressOp(ctx, r, sess, "address_default", func(tx pgx.Tx) error {
		return account.SetDefaultAddress(ctx, tx, sess.accountID, id)
	})
}

// addressID is the {id} of a path; 0 (no address has it) when it is not
// a number.
func addressID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func addressForm(r *http.Request) account.AddressInput {
	return account.AddressInput{Recipient: r.PostFormValue("recipient"), Phone: r.PostFormValue("phone"),
		Region: r.PostFormValue("region"), Detail: r.PostFormValue("detail"), Default: r.PostFormValue("is_default") != ""}
}

func (s *Server) addressAddForm(w http.ResponseWriter, r *http.Request, sess *session) {
	in := addressForm(r)
	if _, err := s.addAddress(r.Context(), r, sess, in); err != nil {
		s.centerFormError(w, r, sess, err, pageData{Tab: "address", Address: in.Detail})
		return
	}
	http.Redirect(w, r, "/center?done=address#addresses", http.StatusSeeOther)
}

// addressEditPage is the form of one address (the phone is typed again:
// it is kept sealed and shown masked).
func (s *Server) addressEditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderAddressEdit(w, r, sess, pageData{})
}

func (s *Server) renderAddressEdit(w http.ResponseWriter, r *http.Request, sess *session, d pageData) {
	list, err := account.Addresses(r.Context(), s.pool, sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := addressID(r)
	for _, a := range list {
		if a.ID == id {
			d.Title, d.Center = "修改邮寄地址", &centerView{Addresses: []account.Address{a}}
			s.render(w, r, "address.html", d)
			return
		}
	}
	s.fail(w, r, errAddressUnknown)
}

func (s *Server) addressEditForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.updateAddress(r.Context(), r, sess, addressID(r), addressForm(r)); err != nil {
		p := problemOf(err)
		if p.code != "invalid_input" {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		s.renderAddressEdit(w, r, sess, pageData{Error: p.message, Fields: p.fields})
		return
	}
	http.Redirect(w, r, "/center?done=address#addresses", http.StatusSeeOther)
}

func (s *Server) addressDeleteForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.deleteAddress(r.Context(), r, sess, addressID(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/center?done=deleted#addresses", http.StatusSeeOther)
}

func (s *Server) addressDefaultForm(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.defaultAddress(r.Context(), r, sess, addressID(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/center?done=default#addresses", http.StatusSeeOther)
}

func (s *Server) apiAddresses(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := account.Addresses(r.Context(), s.pool, sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []account.Address{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"addresses": list, "max": account.MaxAddresses})
}

func (s *Server) apiAddressAdd(w http.ResponseWriter, r *http.Request, sess *session) {
	var in account.AddressInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.addAddress(r.Context(), r, sess, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

func (s *Server) apiAddressUpdate(w http.ResponseWriter, r *http.Request, sess *session) {
	var in account.AddressInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.updateAddress(r.Context(), r, sess, addressID(r), in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"id": addressID(r)})
}

func (s *Server) apiAddressDelete(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.deleteAddress(r.Context(), r, sess, addressID(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAddressDefault(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.defaultAddress(r.Context(), r, sess, addressID(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"id": addressID(r)})
}

// 登录记录

// loginRecord is one login as the center shows it.
type loginRecord struct {
	At     string `json:"at"`
	Method string `json:"method"`
	IP     string `json:"ip"`
}

// loginMethodLabels name the audited login events.
var loginMethodLabels = map[string]string{
	methodPassword.event: "密码登录",
	methodSMS.event:      "手机验证码登录",
	methodFace.event:     "刷脸登录",
	methodCA.event:       "CA 认证登录",
	methodUpstream.event: "第三方账号登录",
}

// loginRecords are the account's last 20 logins, newest first, from the
// audit.
func (s *Server) loginRecords(ctx context.Context, accountID int64) ([]loginRecord, error) {
	events := make([]string, 0, len(loginMethodLabels))
	for e := range loginMethodLabels {
		events = append(events, e)
	}
	rows, err := s.pool.Query(ctx, `SELECT at, event, ip FROM auth_audit
		WHERE account_id = $1 AND outcome = 'ok' AND event = ANY($2) ORDER BY at DESC, id DESC LIMIT 20`, accountID, events)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (loginRecord, error) {
		var at time.Time
		var event, ip string
		err := row.Scan(&at, &event, &ip)
		return loginRecord{At: at.In(shanghai).Format("2006-01-02 15:04:05"), Method: loginMethodLabels[event], IP: maskIP(ip)}, err
	})
	if out == nil {
		out = []loginRecord{}
	}
	return out, err
}

// maskIP shows the network of a client address and hides the host:
// 203.0.113.7 as 203.0.*.*, an IPv6 address by its first 32 bits.
func maskIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "*"
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.*.*", b[0], b[1])
	}
	b := a.As16()
	return fmt.Sprintf("%x:%x:*", uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]))
}

func (s *Server) apiLogins(w http.ResponseWriter, r *http.Request, sess *session) {
	out, err := s.loginRecords(r.Context(), sess.accountID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logins": out})
}

// The username and the ID number: never changed (2.1.3). Every request
// that asks is refused and audited.
func (s *Server) refuseImmutable(w http.ResponseWriter, r *http.Request, sess *session) {
	field := "profile"
	if strings.Contains(r.URL.Path, "username") {
		field = "username"
	} else if strings.Contains(r.URL.Path, "id_number") {
		field = "id_number"
	}
	s.audit(r.Context(), auditEvent{event: "settings_immutable", outcome: "refused", account: sess.accountID, ip: clientIP(r), detail: field})
	s.fail(w, r, errImmutable)
}

// settingsRoutes: the personal center's changes, pages and JSON twins,
// for a full session. (The center page itself: centerRoutes.)
func (s *Server) settingsRoutes() []route {
	rs := []route{
		{"POST /settings/password", s.limited(s.hashing(s.full(s.passwordChangeForm)))},
		{"POST /api/v1/settings/password", s.limited(s.hashing(s.full(s.apiPasswordChange)))},
		{"POST /settings/addresses", s.full(s.addressAddForm)},
		{"GET /settings/addresses/{id}", s.full(s.addressEditPage)},
		{"POST /settings/addresses/{id}", s.full(s.addressEditForm)},
		{"POST /settings/addresses/{id}/delete", s.full(s.addressDeleteForm)},
		{"POST /settings/addresses/{id}/default", s.full(s.addressDefaultForm)},
		{"GET /api/v1/settings/addresses", s.full(s.apiAddresses)},
		{"POST /api/v1/settings/addresses", s.full(s.apiAddressAdd)},
		{"PUT /api/v1/settings/addresses/{id}", s.full(s.apiAddressUpdate)},
		{"DELETE /api/v1/settings/addresses/{id}", s.full(s.apiAddressDelete)},
		{"POST /api/v1/settings/addresses/{id}/default", s.full(s.apiAddressDefault)},
		{"GET /api/v1/settings/logins", s.full(s.apiLogins)},
	}
	for _, p := range []string{"/settings/username", "/settings/id_number", "/api/v1/settings/username", "/api/v1/settings/id_number"} {
		for _, m := range []string{"POST", "PUT", "PATCH"} {
			rs = append(rs, route{m + " " + p, s.full(s.refuseImmutable)})
		}
	}
	return append(rs, route{"PUT /api/v1/me", s.full(s.refuseImmutable)}, route{"PATCH /api/v1/me", s.full(s.refuseImmutable)})
}
