package authsvc

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
)

// The console's audit search for 审计 (issue 20): the audit log filtered
// by time (Asia/Shanghai dates), event (exact, or every staff action),
// staff member, outcome and account (by its whole ID number or credit
// code, through the blind index: no partial search), newest first, a
// page of auditPageSize at a time (keyset on the id); its CSV export
// (streamed, at most auditExportMax rows); and the chain check
// (VerifyAuditChain). Every search, export and check is audited itself,
// with its filters.

const (
	auditPageSize  = 100
	auditExportMax = 100_000
	// auditStaffEvents is the event filter's choice 工作人员操作: every
	// staff action (admin_%).
	auditStaffEvents = "admin_*"
)

// errAuditFilter: a filter of the audit search is malformed.
var errAuditFilter = errors.New("audit search: malformed filter")

var auditEventRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// auditEventNames are the events' Chinese labels where known.
var auditEventNames = map[string]string{
	"admin_denied":        "越权访问被拒",
	"admin_lookup":        "查询账号",
	"admin_audit_search":  "查询审计日志",
	"admin_audit_export":  "导出审计日志",
	"admin_audit_verify":  "校验审计链",
	"admin_unlock":        "解锁账号",
	"admin_staff_add":     "新增工作人员",
	"admin_staff_roles":   "设置工作人员角色",
	"admin_staff_disable": "停用工作人员",
	"admin_staff_enable":  "启用工作人员",
	"admin_staff_reset":   "重置工作人员凭据",
	"admin_staff_unlock":  "解锁工作人员",
	"staff_login":         "工作人员登录",
	"staff_add":           "新增工作人员（命令行）",
	"staff_disable":       "停用工作人员（命令行）",
	"login_password":      "密码登录",
	"login_sms":           "短信登录",
	"logout":              "退出登录",
}

// auditFilter is an audit search's filters as typed.
type auditFilter struct {
	From    string `json:"from,omitempty"` // 2006-01-02, Asia/Shanghai
	To      string `json:"to,omitempty"`   // inclusive
	Event   string `json:"event,omitempty"`
	Staff   string `json:"staff,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// Target is a whole ID number or credit code: only in a POST's body,
	// never in a URL (access logs, history). The search answers with
	// Account, the account sealed for this staff session, which the URLs
	// of the next pages and the export carry instead.
	Target  string `json:"target,omitempty"`
	Account string `json:"account,omitempty"`
	Before  int64  `json:"before,omitempty"`
	// targetHint is the account's masked ID, for the page and the
	// search's own audit row; targetInURL: a GET carried target.
	targetHint  string
	targetInURL bool
}

// TargetHint is the account searched for, masked (the page's field).
func (f auditFilter) TargetHint() string { return f.targetHint }

// errAuditTargetInURL: a GET named the account by its ID number.
var errAuditTargetInURL = errors.New("audit: the account's ID number in a URL")

// auditAccountAAD binds an audit search's account token to its use and
// to the staff session.
func auditAccountAAD(sessionHash []byte) []byte {
	return append([]byte("audit_account:"), sessionHash...)
}

// auditAccount seals the account's blind index and masked ID for c's
// session: the token the search's URLs carry.
func (s *Server) auditAccount(c *staffCall, bidx []byte, hint string) string {
	b := append([]byte{byte(len(bidx))}, bidx...)
	return base64.RawURLEncoding.EncodeToString(s.cfg.Keyring.Seal(append(b, hint...), auditAccountAAD(c.sessionHash)))
}

// openAuditAccount opens a token of c's session: errAuditFilter when it
// is another session's or tampered with.
func (s *Server) openAuditAccount(c *staffCall, token string) (bidx []byte, hint string, err error) {
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, "", errAuditFilter
	}
	b, err := s.cfg.Keyring.Open(sealed, auditAccountAAD(c.sessionHash))
	if err != nil || len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, "", errAuditFilter
	}
	return b[1 : 1+b[0]], string(b[1+b[0]:]), nil
}

func auditFilterOf(r *http.Request) auditFilter {
	q := r.URL.Query()
	f := auditFilter{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Event: strings.TrimSpace(q.Get("event")), Staff: strings.TrimSpace(q.Get("staff")),
		Outcome: strings.TrimSpace(q.Get("outcome")), Account: q.Get("account"), targetInURL: q.Get("target") != ""}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return f
}

// where is the filter as SQL conditions on auth_audit and their
// arguments: errAuditFilter for a malformed date, event or outcome,
// errLookupPartial for a target that is not a whole ID number or credit
// code.
func (s *Server) auditWhere(c *staffCall, f *auditFilter) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	day := func(s string) (time.Time, error) { return time.ParseInLocation("2006-01-02", s, shanghai) }
	if f.From != "" {
		t, err := day(f.From)
		if err != nil {
			return "", nil, errAuditFilter
		}
		add("at >= ?", t)
	}
	if f.To != "" {
		t, err := day(f.To)
		if err != nil {
			return "", nil, errAuditFilter
		}
		add("at < ?", t.AddDate(0, 0, 1))
	}
	switch {
	case f.Event == "":
	case f.Event == auditStaffEvents:
		conds = append(conds, `event LIKE 'admin\_%'`)
	case auditEventRE.MatchString(f.Event):
		add("event = ?", f.Event)
	default:
		return "", nil, errAuditFilter
	}
	if f.Staff != "" {
		if !validStaffUsername(f.Staff) {
			return "", nil, errAuditFilter
		}
		add("subject = ?", f.Staff)
	}
	if f.Outcome != "" {
		if !auditEventRE.MatchString(f.Outcome) {
			return "", nil, errAuditFilter
		}
		add("outcome = ?", f.Outcome)
	}
	switch {
	case f.targetInURL:
		return "", nil, errAuditTargetInURL
	case f.Target != "":
		var bidx []byte
		if info, code := cleanse.ParseID(f.Target, "", false); code == "" {
			f.targetHint, bidx = pii.MaskID(info.Number), account.IDIndex(s.cfg.Keyring, info.Number)
		} else if cc, ok := account.NormalizeCreditCode(f.Target); ok {
			f.targetHint, bidx = pii.MaskID(cc), account.CreditCodeIndex(s.cfg.Keyring, cc)
		} else {
			return "", nil, errLookupPartial
		}
		f.Target, f.Account = "", s.auditAccount(c, bidx, f.targetHint)
		add("account_bidx = ?", bidx)
	case f.Account != "":
		bidx, hint, err := s.openAuditAccount(c, f.Account)
		if err != nil {
			return "", nil, err
		}
		f.targetHint = hint
		add("account_bidx = ?", bidx)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// auditDetail is the filter as an audit row's detail: the target masked.
func (f *auditFilter) auditDetail() string {
	var b strings.Builder
	for _, kv := range [][2]string{{"from", f.From}, {"to", f.To}, {"event", f.Event}, {"staff", f.Staff},
		{"outcome", f.Outcome}, {"account", f.targetHint}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s ", kv[0], auditText(kv[1]))
		}
	}
	if f.Before > 0 {
		fmt.Fprintf(&b, "before=%d ", f.Before)
	}
	return "filters=" + strings.TrimSpace(b.String())
}

// auditEntry is an audit row as the console shows it: the staff member,
// role, target and reason parsed from a staff action's detail
// (staffAuditIn's shape).
type auditEntry struct {
	ID        int64  `json:"id"`
	At        string `json:"at"` // Asia/Shanghai
	Event     string `json:"event"`
	EventName string `json:"event_name,omitempty"`
	Outcome   string `json:"outcome"`
	Subject   string `json:"subject"`
	Staff     string `json:"staff,omitempty"`
	Role      string `json:"role,omitempty"`
	Target    string `json:"target,omitempty"`
	Reason    string `json:"reason,omitempty"`
	IP        string `json:"ip"`
	Detail    string `json:"detail"`
	Hash      string `json:"hash"` // the first 12 hex digits of the row's hash
}

const auditColumns = `SELECT id, at, event, outcome, subject, ip, detail, hash FROM auth_audit`

type rowScanner interface{ Scan(dest ...any) error }

func scanAuditEntry(row rowScanner) (auditEntry, error) {
	var e auditEntry
	var at time.Time
	var hash []byte
	if err := row.Scan(&e.ID, &at, &e.Event, &e.Outcome, &e.Subject, &e.IP, &e.Detail, &hash); err != nil {
		return e, err
	}
	e.At = at.In(shanghai).Format("2006-01-02 15:04:05")
	e.EventName = auditEventNames[e.Event]
	e.Hash = hex.EncodeToString(hash)
	if len(e.Hash) > 12 {
		e.Hash = e.Hash[:12]
	}
	for field := range strings.SplitSeq(e.Detail, "; ") {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "staff":
			e.Staff = v
		case "role":
			e.Role = v
		case "target":
			e.Target = v
		case "reason":
			e.Reason = v
		}
	}
	return e, nil
}

// auditSearch is a page of the rows matching f, newest first, and the id
// to pass as before for the next page (0 on the last): audited as
// admin_audit_search.
func (s *Server) auditSearch(ctx context.Context, r *http.Request, c *staffCall, f *auditFilter) ([]auditEntry, int64, error) {
	where, args, err := s.auditWhere(c, f)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.pool.Query(ctx, auditColumns+where+" ORDER BY id DESC LIMIT "+strconv.Itoa(auditPageSize+1), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []auditEntry{}
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > auditPageSize {
		out = out[:auditPageSize]
		next = out[auditPageSize-1].ID
	}
	err = s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: "audit_search",
		detail: f.auditDetail() + "; found=" + strconv.Itoa(len(out))})
	return out, next, err
}

// csvCell guards a cell against formula injection: a spreadsheet takes a
// cell starting with = + - @ (or a tab or carriage return) as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditExport streams the rows matching f (at most auditExportMax, newest
// first) as CSV, UTF-8 with a BOM (for Excel): audited as
// admin_audit_export before the first row goes out.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, c *staffCall) {
	ctx := r.Context()
	f := auditFilterOf(r)
	where, args, err := s.auditWhere(c, &f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.staffAuditIn(ctx, s.pool, r, c, staffAction{action: "audit_export", detail: f.auditDetail()}); err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.pool.Query(ctx, auditColumns+where+" ORDER BY id DESC LIMIT "+strconv.Itoa(auditExportMax), args...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rows.Close()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+s.cfg.Now().In(shanghai).Format("20060102-150405")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"编号", "时间", "事件", "事件名称", "结果", "主体", "工作人员", "角色", "对象", "原因", "IP", "详情", "哈希"})
	n := 0
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			break
		}
		rec := []string{strconv.FormatInt(e.ID, 10), e.At, e.Event, e.EventName, e.Outcome, e.Subject, e.Staff, e.Role,
			e.Target, e.Reason, e.IP, e.Detail, e.Hash}
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		cw.Write(rec)
		if n++; n%1000 == 0 {
			cw.Flush()
		}
	}
	cw.Flush()
	if err := rows.Err(); err != nil {
		s.cfg.Logger.Error("audit_export_failed", "rows", n, errAttr(err))
	}
}

// auditVerify checks the audit chain (VerifyAuditChain), audited as
// admin_audit_verify: ok, or broken with the first row that does not
// verify.
func (s *Server) auditVerify(ctx context.Context, r *http.Request, c *staffCall) (*auditCheck, error) {
	chain, err := VerifyAuditChain(ctx, s.pool)
	check := &auditCheck{OK: err == nil, Checked: chain.Checked, LastID: chain.LastID}
	var broken *AuditChainError
	switch {
	case errors.As(err, &broken):
		check.BrokenID, check.Reason = broken.ID, broken.Reason
	case err != nil:
		return nil, err
	}
	a := staffAction{action: "audit_verify", detail: fmt.Sprintf("checked=%d; last=%d", check.Checked, check.LastID)}
	if !check.OK {
		a.outcome, a.detail = "broken", fmt.Sprintf("broken_at=%d", check.BrokenID)
	}
	return check, s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, a)
}

// auditCheck is the chain check's result.
type auditCheck struct {
	OK       bool   `json:"ok"`
	Checked  int    `json:"checked"`
	LastID   int64  `json:"last_id"`
	BrokenID int64  `json:"broken_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// auditView is the audit page's data.
type auditView struct {
	Filter  auditFilter
	Entries []auditEntry
	Next    string // the next page's path
	Export  string // the export's path
	Check   *auditCheck
}

// auditForm is the page's search form (POST: the account's number in the
// body): it goes on as the page of the filters, the account as its token.
func (s *Server) auditForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	f := auditFilter{From: strings.TrimSpace(r.PostFormValue("from")), To: strings.TrimSpace(r.PostFormValue("to")),
		Event: strings.TrimSpace(r.PostFormValue("event")), Staff: strings.TrimSpace(r.PostFormValue("staff")),
		Outcome: strings.TrimSpace(r.PostFormValue("outcome")), Target: strings.TrimSpace(r.PostFormValue("target")),
		Account: r.PostFormValue("account")}
	if _, _, err := s.auditWhere(c, &f); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "admin_audit.html", pageData{Title: "审计日志", Staff: c.staffMember, Error: problemOf(err).message,
			Audit: &auditView{Filter: auditFilter{From: f.From, To: f.To, Event: f.Event, Staff: f.Staff, Outcome: f.Outcome}}})
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "event": f.Event, "staff": f.Staff, "outcome": f.Outcome, "account": f.Account} {
		if v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, "/admin/audit?"+q.Encode(), http.StatusSeeOther)
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, c *staffCall) {
	f := auditFilterOf(r)
	entries, next, err := s.auditSearch(r.Context(), r, c, &f)
	d := pageData{Title: "审计日志", Staff: c.staffMember, Audit: &auditView{Filter: f, Entries: entries}}
	switch {
	case errors.Is(err, errAuditFilter) || errors.Is(err, errLookupPartial) || errors.Is(err, errAuditTargetInURL):
		w.WriteHeader(http.StatusBadRequest)
		d.Error = problemOf(err).message
	case err != nil:
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	q.Del("before")
	d.Audit.Export = "/admin/audit/export?" + q.Encode()
	if next > 0 {
		q.Set("before", strconv.FormatInt(next, 10))
		d.Audit.Next = "/admin/audit?" + q.Encode()
	}
	s.render(w, r, "admin_audit.html", d)
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, c *staffCall) {
	f := auditFilterOf(r)
	s.apiAuditOf(w, r, c, &f)
}

// apiAuditSearch is the search with the filters in a JSON body: the one
// way to name the account by its number.
func (s *Server) apiAuditSearch(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var f auditFilter
	if err := decodeJSON(r, &f); err != nil {
		s.fail(w, r, err)
		return
	}
	s.apiAuditOf(w, r, c, &f)
}

func (s *Server) apiAuditOf(w http.ResponseWriter, r *http.Request, c *staffCall, f *auditFilter) {
	entries, next, err := s.auditSearch(r.Context(), r, c, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"entries": entries, "next_before": next}
	if f.Account != "" {
		out["account"], out["account_hint"] = f.Account, f.targetHint
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) auditVerifyForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	check, err := s.auditVerify(r.Context(), r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "admin_audit.html", pageData{Title: "审计日志", Staff: c.staffMember, Audit: &auditView{Check: check}})
}

func (s *Server) apiAuditVerify(w http.ResponseWriter, r *http.Request, c *staffCall) {
	check, err := s.auditVerify(r.Context(), r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, check)
}

// auditRoutes: the audit search, its export and the chain check, for 审计
// only.
func (s *Server) auditRoutes() []staffRoute {
	audit := []string{roleShenji}
	return []staffRoute{
		{"GET /admin/audit", audit, s.auditPage},
		{"POST /admin/audit", audit, s.auditForm},
		{"GET /admin/audit/export", audit, s.auditExport},
		{"POST /admin/audit/verify", audit, s.auditVerifyForm},
		{"GET /api/v1/admin/audit", audit, s.apiAudit},
		{"POST /api/v1/admin/audit", audit, s.apiAuditSearch},
		{"POST /api/v1/admin/audit/verify", audit, s.apiAuditVerify},
	}
}
