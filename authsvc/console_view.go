package authsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// The console's account page in full (issue 20, point 2), masked: a legal
// account's particulars, the linked upstream providers, the agent
// authorizations, the last audit rows of the account, the lineage (which
// department files and rows the account was fused from, and where each
// value came from) and the open conflicts. Unmasking one field of the
// account needs a reason, shows the value once, is audited (admin_unmask)
// and is bounded per staff member (maxUnmaskPerHour).

// maxUnmaskPerHour bounds a staff member's unmaskings in any hour.
const maxUnmaskPerHour = 20

// recentAudit is how many of the account's audit rows the page shows.
const recentAudit = 20

var (
	// errUnmaskField: the field cannot be unmasked (unknown, or not one of
	// this kind of account).
	errUnmaskField = errors.New("unmask: no such field")
	// errUnmaskLimit: the staff member unmasked maxUnmaskPerHour values in
	// the last hour.
	errUnmaskLimit = errors.New("unmask: too many in an hour")
)

// consoleLegal is a legal account's particulars, masked.
type consoleLegal struct {
	Type        string `json:"type"`
	Realname    string `json:"realname"` // 已认证, 未认证
	CheckedAt   string `json:"checked_at,omitempty"`
	RepName     string `json:"rep_name"`
	RepIDHint   string `json:"rep_id_hint"`
	ContactName string `json:"contact_name"`
}

// upstreamEntry is a linked upstream provider (never the subject).
type upstreamEntry struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	LinkedAt string `json:"linked_at"`
}

// agentEntry is an agent authorization: a legal account's agent, or an
// enterprise a citizen acts for.
type agentEntry struct {
	Role    string `json:"role"` // 经办人 (the legal account's agent), 所代理企业 (a citizen's)
	Name    string `json:"name"`
	IDHint  string `json:"id_hint"`
	State   string `json:"state"`
	Created string `json:"created_at"`
	Expires string `json:"expires_at"`
	Changed string `json:"changed_at"`
}

// activityEntry is one of the account's audit rows.
type activityEntry struct {
	At      string `json:"at"`
	Event   string `json:"event"`
	Label   string `json:"label"`
	Outcome string `json:"outcome"`
	IP      string `json:"ip"`
}

// lineageRow is an input row the account was fused from.
type lineageRow struct {
	ID       int64  `json:"id"`
	Dept     string `json:"dept"`
	DeptName string `json:"dept_name"`
	File     string `json:"file"`
	Format   string `json:"format"`
	SHA256   string `json:"file_sha256"`
	Row      int64  `json:"row"`
	Run      int64  `json:"run"`
}

// Label is the row as a value's source: 来源：部门 文件名 第N行.
func (l lineageRow) Label() string {
	return fmt.Sprintf("来源：%s %s 第%d行", l.DeptName, l.File, l.Row)
}

// fieldSource is where a value of the account came from.
type fieldSource struct {
	Field   string `json:"field"`
	Label   string `json:"label"`
	Lineage int64  `json:"lineage_id,omitempty"`
	Source  string `json:"source"` // 来源：… or 本人设置
}

// conflictView is an open conflict: the field and its candidates.
type conflictView struct {
	Field      string          `json:"field"`
	Label      string          `json:"label"`
	Created    string          `json:"created_at"`
	Candidates []candidateView `json:"candidates"`
}

// candidateView is a conflict's value (masked but gender and birth date)
// and its sources.
type candidateView struct {
	Value   string   `json:"value"`
	Sources []string `json:"sources"`
}

// unmaskedValue is a value shown once.
type unmaskedValue struct {
	Field string `json:"field"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// fieldLabels name the account's fields on the page.
var fieldLabels = map[string]string{
	"name": "姓名", "phone": "手机号", "address": "地址", "gender": "性别", "birth_date": "出生日期",
	"id_number": "证件号码", "rep": "法定代表人", "rep_name": "法定代表人姓名", "rep_id_number": "法定代表人证件号码",
	"contact": "联系人", "contact_name": "联系人姓名",
}

// activityLabels name the audit events the page shows besides the logins
// (loginMethodLabels, the center's 登录记录).
var activityLabels = map[string]string{
	"logout": "退出登录", "admin_unmask": "工作人员查看明文", "sms_send_login": "发送登录验证码",
	"face_login_start": "发起刷脸登录",
}

var outcomeLabels = map[string]string{"ok": "成功", "fail": "失败", "refused": "拒绝", "none": "无结果"}

// unmaskFields are the fields of a that may be unmasked, with their
// labels.
func unmaskFields(a *account.Account) map[string]string {
	m := map[string]string{"id_number": "证件号码", "phone": "手机号", "name": "姓名", "address": "地址"}
	if a.IsLegal() {
		m["id_number"], m["name"] = "统一社会信用代码", "名称"
		m["rep_id_number"], m["rep_name"], m["contact_name"] = "法定代表人证件号码", "法定代表人姓名", "联系人姓名"
	}
	return m
}

func consoleTime(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04:05") }

// accountDetails fills v, the view of a, with the rest of the page.
func (s *Server) accountDetails(ctx context.Context, a *account.Account, v *accountView) error {
	v.UnmaskFields = unmaskFields(a)
	if a.IsLegal() && a.Legal != nil {
		l := a.Legal
		v.Legal = &consoleLegal{Type: l.Type.Label(), Realname: "未认证", RepName: pii.MaskPersonName(l.RepName), RepIDHint: l.RepIDHint,
			ContactName: pii.MaskPersonName(l.ContactName)}
		if l.Realname == schemas.RealnameVerified {
			v.Legal.Realname = "已认证"
		}
		if l.RealnameCheckedAt != nil {
			v.Legal.CheckedAt = consoleTime(*l.RealnameCheckedAt)
		}
	}
	for _, load := range []func(context.Context, *account.Account, *accountView) error{
		s.viewLocks, s.viewUpstreams, s.viewAgents, s.viewActivity, s.viewLineage, s.viewConflicts,
	} {
		if err := load(ctx, a, v); err != nil {
			return err
		}
	}
	return nil
}

// viewLocks lists the locks in force: the operators' (status locked),
// the password's and the SMS codes' and faces' (what 解除锁定 clears).
func (s *Server) viewLocks(ctx context.Context, a *account.Account, v *accountView) error {
	var password *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT password_locked_until FROM account WHERE id_bidx = $1`, a.IDBidx).Scan(&password); err != nil {
		return err
	}
	now := s.cfg.Now()
	v.Locks = []string{}
	if a.Status == schemas.StatusLocked {
		v.Locks = append(v.Locks, "账号已被锁定")
	}
	if password != nil && now.Before(*password) {
		v.Locks = append(v.Locks, "密码错误次数过多，锁定至 "+consoleTime(*password))
	}
	if a.LockedUntil != nil && now.Before(*a.LockedUntil) {
		v.Locks = append(v.Locks, "验证码或人脸核验失败次数过多，锁定至 "+consoleTime(*a.LockedUntil))
	}
	return nil
}

func (s *Server) viewUpstreams(ctx context.Context, a *account.Account, v *accountView) error {
	rows, err := s.pool.Query(ctx, `SELECT provider, linked_at FROM upstream_link WHERE account_bidx = $1 AND account_id = $2 ORDER BY linked_at`,
		a.IDBidx, a.ID)
	if err != nil {
		return err
	}
	v.Upstreams, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (upstreamEntry, error) {
		var e upstreamEntry
		var at time.Time
		err := row.Scan(&e.Provider, &at)
		e.LinkedAt, e.Name = consoleTime(at), e.Provider
		for _, p := range s.cfg.Upstream {
			if p.ID == e.Provider && p.Name != "" {
				e.Name = p.Name
			}
		}
		return e, err
	})
	return err
}

func (s *Server) viewAgents(ctx context.Context, a *account.Account, v *accountView) error {
	// A legal account's agents are in its group; the enterprises a citizen
	// acts for, by the agent index.
	q := `SELECT 'agent', o.kind, o.name, o.id_hint, g.state, g.created_at, g.expires_at, g.changed_at
		FROM agent_authorization g JOIN account o ON o.id = g.agent_account_id
		WHERE g.legal_account_bidx = $1 AND g.legal_account_id = $2 ORDER BY g.id DESC LIMIT 50`
	if !a.IsLegal() {
		q = `SELECT 'legal', o.kind, o.name, o.id_hint, g.state, g.created_at, g.expires_at, g.changed_at
			FROM agent_authorization g JOIN account o ON o.id = g.legal_account_id
			WHERE g.agent_account_id = $2 AND $1::bytea IS NOT NULL ORDER BY g.id DESC LIMIT 50`
	}
	rows, err := s.pool.Query(ctx, q, a.IDBidx, a.ID)
	if err != nil {
		return err
	}
	v.Agents, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (agentEntry, error) {
		var e agentEntry
		var side, kind, name, state string
		var created, expires, changed time.Time
		err := row.Scan(&side, &kind, &name, &e.IDHint, &state, &created, &expires, &changed)
		e.Role, e.Name = "经办人", pii.MaskPersonName(name)
		if side == "legal" {
			e.Role, e.Name = "所代理企业", name // an enterprise's name is public
		}
		e.State, e.Created, e.Expires, e.Changed = AgentState(state).Label(), consoleTime(created), consoleTime(expires), consoleTime(changed)
		return e, err
	})
	return err
}

func (s *Server) viewActivity(ctx context.Context, a *account.Account, v *accountView) error {
	rows, err := s.pool.Query(ctx, `SELECT at, event, outcome, ip FROM auth_audit WHERE account_bidx = $1
		ORDER BY id DESC LIMIT $2`, a.IDBidx, recentAudit)
	if err != nil {
		return err
	}
	v.Activity, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (activityEntry, error) {
		var e activityEntry
		var at time.Time
		var ip *string
		err := row.Scan(&at, &e.Event, &e.Outcome, &ip)
		e.At = consoleTime(at)
		if ip != nil {
			e.IP = *ip
		}
		e.Label = loginMethodLabels[e.Event]
		if e.Label == "" {
			e.Label = activityLabels[e.Event]
		}
		if e.Label == "" {
			e.Label = e.Event
		}
		if l := outcomeLabels[e.Outcome]; l != "" {
			e.Outcome = l
		}
		return e, err
	})
	return err
}

func (s *Server) viewLineage(ctx context.Context, a *account.Account, v *accountView) error {
	rows, err := s.pool.Query(ctx, `SELECT l.id, sf.dept, coalesce(d.name, sf.dept), coalesce(f.name, ''), coalesce(f.format, ''), sf.sha256, l.row_num, l.run_id
		FROM account_lineage l JOIN source_file sf ON sf.id = l.file_id
		LEFT JOIN department d ON d.code = sf.dept
		LEFT JOIN import_file f ON f.run_id = l.run_id AND f.file_id = l.file_id
		WHERE l.account_bidx = $1 ORDER BY l.id`, a.IDBidx)
	if err != nil {
		return err
	}
	v.Lineage, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (lineageRow, error) {
		var l lineageRow
		err := row.Scan(&l.ID, &l.Dept, &l.DeptName, &l.File, &l.Format, &l.SHA256, &l.Row, &l.Run)
		return l, err
	})
	if err != nil {
		return err
	}
	var name, phone, address, rep, contact *int64
	var namePinned, repPinned bool
	if err := s.pool.QueryRow(ctx, `SELECT name_source, phone_source, address_source, rep_source, contact_source, name_pinned, rep_pinned FROM account
		WHERE id_bidx = $1`, a.IDBidx).Scan(&name, &phone, &address, &rep, &contact, &namePinned, &repPinned); err != nil {
		return err
	}
	type field struct {
		key    string
		source *int64
		empty  bool
	}
	fields := []field{{"name", name, a.Name == ""}, {"phone", phone, a.PhoneSealed == nil}, {"address", address, a.Address == ""}}
	if a.IsLegal() && a.Legal != nil {
		fields = append(fields, field{"rep", rep, a.Legal.RepName == ""}, field{"contact", contact, a.Legal.ContactName == ""})
	}
	for _, f := range fields {
		fs := fieldSource{Field: f.key, Label: fieldLabels[f.key]}
		switch {
		case f.source != nil:
			fs.Lineage, fs.Source = *f.source, "来源：未知的导入行"
			for _, l := range v.Lineage {
				if l.ID == *f.source {
					fs.Source = l.Label()
				}
			}
		case f.empty:
			fs.Source = "无"
		default:
			fs.Source = "本人设置"
		}
		if f.key == "name" && namePinned || f.key == "rep" && repPinned {
			// A value staff resolved a conflict with (four eyes): it
			// outranks every later import.
			fs.Source = "工作人员核定"
		}
		v.Sources = append(v.Sources, fs)
	}
	return nil
}

func (s *Server) viewConflicts(ctx context.Context, a *account.Account, v *accountView) error {
	rows, err := s.pool.Query(ctx, `SELECT field, candidates, created_at FROM merge_conflict
		WHERE account_bidx = $1 AND status = 'open' ORDER BY id`, a.IDBidx)
	if err != nil {
		return err
	}
	v.Conflicts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (conflictView, error) {
		var c conflictView
		var raw []byte
		var at time.Time
		if err := row.Scan(&c.Field, &raw, &at); err != nil {
			return c, err
		}
		c.Created, c.Label = consoleTime(at), fieldLabels[c.Field]
		if c.Label == "" {
			c.Label = c.Field
		}
		var cs []report.Candidate // as merge stores them
		if err := json.Unmarshal(raw, &cs); err != nil {
			return c, fmt.Errorf("conflict candidates: %w", err)
		}
		for _, x := range cs {
			cv := candidateView{Value: x.Value, Sources: []string{}}
			if c.Field != string(schemas.FieldGender) && c.Field != string(schemas.FieldBirthDate) {
				cv.Value = pii.MaskPersonName(x.Value)
			}
			switch x.Source {
			case "citizen":
				cv.Sources = append(cv.Sources, "本人设置")
			case "staff":
				cv.Sources = append(cv.Sources, "工作人员核定")
			case "id_number":
				cv.Sources = append(cv.Sources, "证件号码")
			}
			for _, src := range x.Sources {
				label := fmt.Sprintf("来源：%s 第%d行", src.Dept, src.Row)
				for _, l := range v.Lineage {
					if l.Dept == src.Dept && l.SHA256 == src.SHA256 && l.Row == src.Row {
						label = l.Label()
					}
				}
				cv.Sources = append(cv.Sources, label)
			}
			c.Candidates = append(c.Candidates, cv)
		}
		return c, nil
	})
	return err
}

// unmaskRequest is an unmasking: the field and the staff member's reason.
type unmaskRequest struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// unmask reveals one field of the case's account to c, once: with a
// reason, audited (admin_unmask, target the masked ID), at most
// maxUnmaskPerHour times an hour per staff member (the refusal audited).
func (s *Server) unmask(ctx context.Context, r *http.Request, c *staffCall, in unmaskRequest) (*unmaskedValue, error) {
	reason, err := staffReason(in.Reason)
	if err != nil {
		return nil, err
	}
	var out *unmaskedValue
	limited := false
	ctx = context.WithoutCancel(ctx)
	// In Transact: a deadlock with another transaction of the member's
	// (the staff row, then the audit's head) is run again.
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := s.caseAccount(ctx, tx, c, r.PathValue("ref"))
		if err != nil {
			return err
		}
		label, ok := unmaskFields(a)[in.Field]
		if !ok {
			return errUnmaskField
		}
		within, err := s.withinQuota(ctx, tx, c, "admin_unmask", maxUnmaskPerHour)
		if err != nil {
			return err
		}
		act := staffAction{action: "unmask", account: a.ID, bidx: a.IDBidx, target: a.IDHint, reason: reason, detail: "field=" + in.Field}
		if limited = !within; limited {
			act.outcome, act.detail = "refused", act.detail+"; limit"
			return s.staffAuditIn(ctx, tx, r, c, act)
		}
		value, err := s.reveal(a, in.Field)
		if err != nil {
			return err
		}
		out = &unmaskedValue{Field: in.Field, Label: label, Value: value}
		return s.staffAuditIn(ctx, tx, r, c, act)
	})
	if err != nil {
		return nil, err
	}
	if limited {
		return nil, errUnmaskLimit
	}
	return out, nil
}

// reveal is the field of a in clear.
func (s *Server) reveal(a *account.Account, field string) (string, error) {
	k := s.cfg.Keyring
	switch field {
	case "id_number":
		return account.OpenID(k, a.IDSealed)
	case "phone":
		if a.PhoneSealed == nil {
			return "", nil
		}
		return account.OpenPhone(k, a.PhoneSealed)
	case "name":
		return a.Name, nil
	case "address":
		return a.Address, nil
	}
	if a.Legal == nil {
		return "", errUnmaskField
	}
	switch field {
	case "rep_id_number":
		if a.Legal.RepIDSealed == nil {
			return "", nil
		}
		return account.OpenRepID(k, a.Legal.RepIDSealed)
	case "rep_name":
		return a.Legal.RepName, nil
	case "contact_name":
		return a.Legal.ContactName, nil
	}
	return "", errUnmaskField
}

func (s *Server) unmaskForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	w.Header().Set("Cache-Control", "no-store")
	got, err := s.unmask(r.Context(), r, c, unmaskRequest{Field: r.PostFormValue("field"), Reason: r.PostFormValue("reason")})
	if errors.Is(err, errCaseRef) || (err != nil && problemOf(err).status >= 500) {
		s.fail(w, r, err)
		return
	}
	v, _, verr := s.accountOf(r, c)
	if verr != nil {
		s.fail(w, r, verr)
		return
	}
	d := pageData{Title: "账号详情", Staff: c.staffMember, Console: &consoleView{Account: v}}
	if err != nil {
		p := problemOf(err)
		w.WriteHeader(p.status)
		d.Error = p.message
	} else {
		v.Unmasked = got
	}
	s.render(w, r, "admin_account.html", d)
}

func (s *Server) apiUnmask(w http.ResponseWriter, r *http.Request, c *staffCall) {
	w.Header().Set("Cache-Control", "no-store")
	var in unmaskRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	got, err := s.unmask(r.Context(), r, c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// viewRoutes: unmasking, for who may look (lookupRoutes' roles).
func (s *Server) viewRoutes() []staffRoute {
	return []staffRoute{
		{"POST /admin/accounts/{ref}/unmask", lookRoles, s.unmaskForm},
		{"POST /api/v1/admin/accounts/{ref}/unmask", lookRoles, s.apiUnmask},
	}
}
