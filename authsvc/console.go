package authsvc

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
)

// The staff console (issue 20): every console route names the roles that
// may use it, and staffOnly enforces them in one place. A route is served
// to a signed-in staff member holding one of its roles, who then acts in
// that role (the first of the route's roles the member holds): the role
// goes into the audit row of what is done. A refusal is audited too
// (admin_denied).
//
// Accounts are reached only through an exact lookup (no listing, no
// partial search): the lookup hands out a case reference, the account's
// id sealed with the keyring and bound to the staff session that looked it
// up, valid for caseLifetime. Every page and action on an account takes
// the reference, so a staff member cannot walk the accounts by their ids,
// and a reference taken from one session is worthless in another.

// Staff role names as the code uses them.
const (
	roleKefu   = "kefu"   // 客服: look up, unlock, propose phone changes and conflict resolutions
	roleShenhe = "shenhe" // 审核: approve what 客服 proposed (four eyes)
	roleYunwei = "yunwei" // 运维: imports, departments, clients, keys, staff
	roleShenji = "shenji" // 审计: read the audit, nothing else
)

// staffRoute is a console route: its pattern, the roles that may use it
// and its handler.
type staffRoute struct {
	pattern string
	roles   []string
	handler staffHandler
}

// staffHandler serves a console request of a signed-in staff member.
type staffHandler func(w http.ResponseWriter, r *http.Request, c *staffCall)

// staffCall is a console request's staff member, the role it acts in and
// its session (whose hash binds case references).
type staffCall struct {
	*staffMember
	Role        string
	sessionHash []byte
}

// consoleUnits are the console's units, each as the function that lists
// its role-checked routes. The sign-in itself (staff.go's staffRoutes) is
// open to anyone.
func (s *Server) consoleUnits() []func() []staffRoute {
	return []func() []staffRoute{
		s.lookupRoutes,     // console_lookup.go: the exact lookup and the account's masked page
		s.opsRoutes,        // console_ops.go: 运维's runs, feedback workbooks, departments, clients and keys
		s.actionRoutes,     // console_actions.go: 客服's actions on an account (unlock, disable, …)
		s.auditRoutes,      // console_audit.go: 审计's audit search, export and chain check
		s.staffAdminRoutes, // console_staff.go: 运维's staff management
		s.viewRoutes,       // console_view.go: unmasking one field of an account
		s.proposalRoutes,   // console_proposal.go: four eyes, phone changes and conflict resolutions
	}
}

// consoleRoutes are the console's routes: the sign-in's, then the
// role-checked ones wrapped by staffOnly.
func (s *Server) consoleRoutes() []route {
	out := s.staffRoutes()
	for _, unit := range s.consoleUnits() {
		for _, rt := range unit() {
			out = append(out, route{rt.pattern, s.staffOnly(rt.roles, rt.handler)})
		}
	}
	return out
}

var (
	// errStaffForbidden: the staff member holds none of the route's roles.
	errStaffForbidden = errors.New("staff role refused")
	// errReasonRequired: an action that needs a reason got none (or one
	// too long).
	errReasonRequired = errors.New("a reason is required")
	// errCaseRef: the case reference is not this session's, has expired
	// or names no account.
	errCaseRef = errors.New("case reference invalid or expired")
)

// staffOnly serves h to a staff member holding one of roles; others get
// errStaffForbidden (403), audited as admin_denied, and no session gets
// errStaffNoSession (the sign-in page).
func (s *Server) staffOnly(roles []string, h staffHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, hash, err := s.staffSession(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if m.MustChange {
			// Nothing before the password someone else set is changed.
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.fail(w, r, errStaffMustChange)
			} else {
				http.Redirect(w, r, staffPasswordPath, http.StatusSeeOther)
			}
			return
		}
		role := ""
		for _, want := range roles {
			if slices.Contains(m.Roles, want) {
				role = want
				break
			}
		}
		if role == "" {
			s.audit(r.Context(), auditEvent{event: "admin_denied", outcome: "fail", subject: m.Username, ip: clientIP(r),
				detail: "staff=" + m.Username + "; roles=" + strings.Join(m.Roles, ",") + "; target=" + auditText(r.Method+" "+r.URL.Path)})
			s.fail(w, r, errStaffForbidden)
			return
		}
		h(w, r, &staffCall{staffMember: m, Role: role, sessionHash: hash})
	}
}

// staffAction is what a staff member did, for the audit: the event is
// "admin_" + action; target names what was acted on as the audit may
// show it (a masked ID number, a client id, a staff username); reason is
// the staff member's; detail adds what else the row should say.
type staffAction struct {
	action  string
	outcome string // "ok" when empty
	account int64
	bidx    []byte
	target  string
	reason  string
	detail  string
}

// staffAuditIn writes a staff action's audit row with q (in the action's
// transaction): the staff member as subject, and in the detail
// "staff=U; role=R; target=T; reason=…; …", one shape for every action so
// the audit can be searched by them.
func (s *Server) staffAuditIn(ctx context.Context, q querier, r *http.Request, c *staffCall, a staffAction) error {
	var d strings.Builder
	fmt.Fprintf(&d, "staff=%s; role=%s", c.Username, c.Role)
	if a.target != "" {
		d.WriteString("; target=" + auditText(a.target))
	}
	if a.reason != "" {
		d.WriteString("; reason=" + auditText(a.reason))
	}
	if a.detail != "" {
		d.WriteString("; " + a.detail)
	}
	outcome := a.outcome
	if outcome == "" {
		outcome = "ok"
	}
	return s.auditIn(ctx, q, auditEvent{event: "admin_" + a.action, outcome: outcome, account: a.account, bidx: a.bidx,
		subject: c.Username, ip: clientIP(r), detail: d.String()})
}

// auditText is free text as an audit detail field: one line, no field
// separator (";" becomes "；"), at most 200 characters.
func auditText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r", " ", "\n", " ", "\t", " ", ";", "；").Replace(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// reasonRequest is the JSON body of an action that takes only a reason.
type reasonRequest struct {
	Reason string `json:"reason"`
}

// staffReason checks the reason an action needs: 2 to 200 characters
// after trimming.
func staffReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 2 || n > 200 {
		return "", errReasonRequired
	}
	return s, nil
}

// withinQuota locks the staff member's row in tx (two requests of one
// member count one after the other; the row before the audit's head, as
// the staff sign-in) and reports whether they did fewer than limit of
// event (admin_…, whatever its outcome: tries past the bound count too)
// in the hour before now.
func (s *Server) withinQuota(ctx context.Context, tx pgx.Tx, c *staffCall, event string, limit int) (bool, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM staff WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
		return false, err
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM auth_audit WHERE subject = $1 AND event = $2 AND at > $3`,
		c.Username, event, s.cfg.Now().Add(-time.Hour)).Scan(&n)
	return n < limit, err
}

// caseLifetime is how long a case reference opens its account.
const caseLifetime = 30 * time.Minute

// caseAAD binds a case reference to its use and to the staff session.
func caseAAD(sessionHash []byte) []byte {
	return append([]byte("staff_case:"), sessionHash...)
}

// caseRef is the reference under which the staff session c may open the
// account (by its blind index, the key of its group) until caseLifetime
// from now.
func (s *Server) caseRef(c *staffCall, a *account.Account) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(s.cfg.Now().Add(caseLifetime).Unix()))
	b = append(b, a.IDBidx...)
	return base64.RawURLEncoding.EncodeToString(s.cfg.Keyring.Seal(b, caseAAD(c.sessionHash)))
}

// caseKey opens a case reference of c's session: the account's blind
// index, or errCaseRef when the reference is another session's, expired
// or tampered with.
func (s *Server) caseKey(c *staffCall, ref string) ([]byte, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(ref)
	if err != nil {
		return nil, errCaseRef
	}
	b, err := s.cfg.Keyring.Open(sealed, caseAAD(c.sessionHash))
	if err != nil || len(b) <= 8 {
		return nil, errCaseRef
	}
	if expires := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0); !s.cfg.Now().Before(expires) {
		return nil, errCaseRef
	}
	return b[8:], nil
}

// caseAccount reads the account of a case reference of c's session:
// errCaseRef as caseKey, or when the account is gone.
func (s *Server) caseAccount(ctx context.Context, q account.Querier, c *staffCall, ref string) (*account.Account, error) {
	return s.caseRead(ctx, q, c, ref, account.ByIDIndex)
}

// caseRead is caseAccount with read (ByIDIndex, or LockByIDIndex in a
// transaction).
func (s *Server) caseRead(ctx context.Context, q account.Querier, c *staffCall, ref string,
	read func(context.Context, account.Querier, []byte) (*account.Account, error)) (*account.Account, error) {
	bidx, err := s.caseKey(c, ref)
	if err != nil {
		return nil, err
	}
	a, err := read(ctx, q, bidx)
	if err == nil && a == nil {
		return nil, errCaseRef
	}
	return a, err
}
