package authsvc

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// The console's account lookup: by the full ID number, credit code,
// username or phone, an exact match through the blind indexes and nothing
// else (no partial search, no listing). Each lookup is audited with what
// was looked for (masked) and how many accounts it found; each account
// found comes with a case reference (console.go) that its pages and
// actions take.

// Lookup kinds.
const (
	lookupIDNumber   = "id_number"
	lookupCreditCode = "credit_code"
	lookupUsername   = "username"
	lookupPhone      = "phone"
)

var lookupKinds = map[string]string{
	lookupIDNumber:   "证件号码",
	lookupCreditCode: "统一社会信用代码",
	lookupUsername:   "用户名",
	lookupPhone:      "手机号",
}

// maxPhoneMatches bounds a lookup by phone: a department's phone may be
// on several accounts (only a verified one is unique).
const maxPhoneMatches = 10

// maxLookupsPerHour bounds a staff member's lookups in any hour (each
// account found counts): a help desk answers calls, it does not walk the
// ID numbers of a region.
const maxLookupsPerHour = 100

// errLookupLimit: the staff member looked up maxLookupsPerHour accounts in
// the last hour.
var errLookupLimit = errors.New("lookup: too many in an hour")

// errLookupPartial: the value is not a whole identifier of its kind.
var errLookupPartial = errors.New("lookup: not a whole identifier")

// lookupRequest is a lookup: its kind and the value typed.
type lookupRequest struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// accountSummary is an account as a lookup lists it: masked.
type accountSummary struct {
	Ref    string `json:"ref"`
	Kind   string `json:"kind"` // natural, legal
	Name   string `json:"name"` // a person's masked; an enterprise's whole
	IDHint string `json:"id_hint"`
	Status string `json:"status"`
}

// staffLookup finds the accounts whose identifier of the kind is exactly
// value, audited. errLookupPartial when value is not a whole identifier
// of its kind.
func (s *Server) staffLookup(ctx context.Context, r *http.Request, c *staffCall, in lookupRequest) ([]accountSummary, error) {
	found, err := s.findAccounts(ctx, r, c, in)
	if errors.Is(err, errLookupPartial) {
		// Audited too, without the value (part of someone's number).
		if err := s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: "lookup", outcome: "refused",
			detail: "by=" + auditText(in.Kind) + "; partial"}); err != nil {
			return nil, err
		}
	}
	return found, err
}

// findAccounts is staffLookup's search and its audit row.
func (s *Server) findAccounts(ctx context.Context, r *http.Request, c *staffCall, in lookupRequest) ([]accountSummary, error) {
	value := strings.TrimSpace(in.Value)
	var bidxs [][]byte
	var target string
	var err error
	switch in.Kind {
	case lookupIDNumber:
		info, code := cleanse.ParseID(value, "", false)
		if code != "" {
			return nil, errLookupPartial
		}
		target = pii.MaskID(info.Number)
		bidxs = [][]byte{account.IDIndex(s.cfg.Keyring, info.Number)}
	case lookupCreditCode:
		code, ok := account.NormalizeCreditCode(value)
		if !ok {
			return nil, errLookupPartial
		}
		target = pii.MaskID(code)
		bidxs = [][]byte{account.CreditCodeIndex(s.cfg.Keyring, code)}
	case lookupUsername:
		if !account.ValidUsername(value) {
			return nil, errLookupPartial
		}
		target = pii.MaskName(value)
		var b []byte
		err = s.pool.QueryRow(ctx, `SELECT account_bidx FROM account_username WHERE username_lower = lower($1)`, value).Scan(&b)
		if err == nil {
			bidxs = [][]byte{b}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	case lookupPhone:
		phone := account.NormalizePhone(value)
		if !account.ValidPhone(phone) {
			return nil, errLookupPartial
		}
		target = pii.MaskPhone(phone)
		rows, err := s.pool.Query(ctx, `SELECT id_bidx FROM account WHERE phone_bidx = $1 ORDER BY phone_verified DESC, id LIMIT $2`,
			account.PhoneIndex(s.cfg.Keyring, phone), maxPhoneMatches)
		if err != nil {
			return nil, err
		}
		if bidxs, err = pgx.CollectRows(rows, pgx.RowTo[[]byte]); err != nil {
			return nil, err
		}
	default:
		return nil, errLookupPartial
	}
	out := []accountSummary{}
	var accounts []*account.Account
	for _, b := range bidxs {
		a, err := account.ByIDIndex(ctx, s.pool, b)
		if err != nil {
			return nil, err
		}
		// The ID numbers' and credit codes' blind indexes are of two
		// domains: one never finds the other's account.
		if a == nil {
			continue
		}
		accounts = append(accounts, a)
		out = append(out, s.summary(c, a))
	}
	// One audit row per account found (by its key: 审计 finds who looked
	// an account up), or one saying none was; none at all past the bound.
	limited := false
	ctx = context.WithoutCancel(ctx)
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		within, err := s.withinQuota(ctx, tx, c, "admin_lookup", maxLookupsPerHour)
		if err != nil {
			return err
		}
		detail := "by=" + in.Kind + "; found=" + strconv.Itoa(len(out))
		if limited = !within; limited {
			return s.staffAuditIn(ctx, tx, r, c, staffAction{action: "lookup", outcome: "refused", target: target, detail: detail + "; limit"})
		}
		if len(out) == 0 {
			return s.staffAuditIn(ctx, tx, r, c, staffAction{action: "lookup", outcome: "none", target: target, detail: detail})
		}
		for _, a := range accounts {
			if err := s.staffAuditIn(ctx, tx, r, c, staffAction{action: "lookup", account: a.ID, bidx: a.IDBidx, target: target, detail: detail}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if limited {
		return nil, errLookupLimit
	}
	return out, nil
}

func (s *Server) summary(c *staffCall, a *account.Account) accountSummary {
	name := pii.MaskPersonName(a.Name)
	if a.IsLegal() {
		name = a.Name
	}
	return accountSummary{Ref: s.caseRef(c, a), Kind: string(a.Kind), Name: name, IDHint: a.IDHint, Status: string(a.Status)}
}

// accountView is the console's page of one account: masked by default.
type accountView struct {
	accountSummary
	StatusName    string   `json:"status_name"`
	StepsLeft     []string `json:"steps_left"`
	RealnameLevel string   `json:"realname_level,omitempty"`
	PhoneHint     string   `json:"phone_hint"`
	PhoneVerified bool     `json:"phone_verified"`
	// Locks are the account's locks in force, in Chinese (console_view.go).
	Locks []string `json:"locks"`
	// The rest of the page (console_view.go).
	Legal     *consoleLegal   `json:"legal,omitempty"`
	Upstreams []upstreamEntry `json:"upstreams"`
	Agents    []agentEntry    `json:"agents"`
	Activity  []activityEntry `json:"activity"`
	Lineage   []lineageRow    `json:"lineage"`
	Sources   []fieldSource   `json:"sources"`
	Conflicts []conflictView  `json:"conflicts"`
	// UnmaskFields are the fields the page offers to unmask; Unmasked is
	// the value unmasked, shown once.
	UnmaskFields map[string]string `json:"unmask_fields"`
	Unmasked     *unmaskedValue    `json:"-"`
}

var statusNames = map[schemas.AccountStatus]string{
	schemas.StatusPendingCompletion: "待完善信息",
	schemas.StatusActive:            "正常",
	schemas.StatusLocked:            "已锁定",
	schemas.StatusDisabled:          "已停用",
}

// accountViewOf is the masked view of the account a is.
func (s *Server) accountViewOf(c *staffCall, a *account.Account) *accountView {
	v := &accountView{accountSummary: s.summary(c, a), StatusName: statusNames[a.Status], StepsLeft: []string{},
		PhoneHint: a.PhoneHint, PhoneVerified: a.PhoneVerified}
	for _, st := range a.Steps {
		v.StepsLeft = append(v.StepsLeft, stepLabel(st))
	}
	if !a.IsLegal() {
		v.RealnameLevel = realnameLevel(a)
	}
	return v
}

// consoleView is a console page's data.
type consoleView struct {
	Kinds   map[string]string
	Kind    string
	Matches []accountSummary
	Account *accountView
	// Proposals: the account page's 四眼审核 block and 审核's queue
	// (console_proposal.go).
	Proposals *proposalBlock
}

func (s *Server) lookupPage(w http.ResponseWriter, r *http.Request, c *staffCall) {
	s.render(w, r, "admin_lookup.html", pageData{Title: "查询账号", Staff: c.staffMember, Console: &consoleView{Kinds: lookupKinds, Kind: lookupIDNumber}})
}

func (s *Server) lookupForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	in := lookupRequest{Kind: r.PostFormValue("kind"), Value: r.PostFormValue("value")}
	found, err := s.staffLookup(r.Context(), r, c, in)
	d := pageData{Title: "查询账号", Staff: c.staffMember, Console: &consoleView{Kinds: lookupKinds, Kind: in.Kind, Matches: found}}
	switch {
	case errors.Is(err, errLookupPartial):
		w.WriteHeader(http.StatusBadRequest)
		d.Error = problemOf(err).message
	case err != nil:
		s.fail(w, r, err)
		return
	case len(found) == 1:
		http.Redirect(w, r, "/admin/accounts/"+found[0].Ref, http.StatusSeeOther)
		return
	case len(found) == 0:
		d.Notice = "未找到账号"
	}
	s.render(w, r, "admin_lookup.html", d)
}

func (s *Server) apiLookup(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in lookupRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	found, err := s.staffLookup(r.Context(), r, c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": found})
}

// accountOf is the account of the request's case reference ({ref}), as
// a view.
func (s *Server) accountOf(r *http.Request, c *staffCall) (*accountView, *account.Account, error) {
	a, err := s.caseAccount(r.Context(), s.pool, c, r.PathValue("ref"))
	if err != nil {
		return nil, nil, err
	}
	v := s.accountViewOf(c, a)
	if err := s.accountDetails(r.Context(), a, v); err != nil {
		return nil, nil, err
	}
	return v, a, nil
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, c *staffCall) {
	v, a, err := s.accountOf(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cv := &consoleView{Account: v}
	if cv.Proposals, err = s.proposalBlockOf(r, a); err != nil { // console_proposal.go
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "admin_account.html", pageData{Title: "账号详情", Staff: c.staffMember, Console: cv,
		Notice: actionNotice(r)}) // console_actions.go
}

func (s *Server) apiAccount(w http.ResponseWriter, r *http.Request, c *staffCall) {
	v, _, err := s.accountOf(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// lookRoles may look accounts up and see (and unmask) them: 客服 and 审核
// (who approves what 客服 proposed for an account).
var lookRoles = []string{roleKefu, roleShenhe}

// lookupRoutes: the lookup and the account's page, for lookRoles.
func (s *Server) lookupRoutes() []staffRoute {
	look := lookRoles
	return []staffRoute{
		{"GET /admin/lookup", look, s.lookupPage},
		{"POST /admin/lookup", look, s.lookupForm},
		{"GET /admin/accounts/{ref}", look, s.accountPage},
		{"POST /api/v1/admin/lookup", look, s.apiLookup},
		{"GET /api/v1/admin/accounts/{ref}", look, s.apiAccount},
	}
}
