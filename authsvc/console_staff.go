package authsvc

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
)

// The console's staff management for 运维 (issue 20): the first
// administrator is made by the CLI (authsvc staff add, as the owner), the
// rest from here. 运维 lists the staff, adds a member (the initial
// password and TOTP secret shown once, on a no-store page), sets a
// member's roles, disables (ending their sessions) and enables them,
// resets their credentials (new ones shown once, their sessions ended)
// and lifts a sign-in lock. Adding and disabling share staff.go's
// addStaffIn and disableStaffIn with the CLI. Nobody changes their own
// roles, disables, resets or unlocks themselves (errStaffSelf). Every
// change is audited (admin_staff_*) with the member's username as target
// and the reason, in the change's transaction, after the member's row
// is locked.

// errStaffSelf: a staff member acting on their own staff account.
var errStaffSelf = errors.New("staff: own roles, status and credentials are another's to change")

// errStaffPrivileged: the console makes, resets and enables 客服 only, and gives
// nobody a role beyond 客服 they do not hold (it may take roles away); a
// member with 审核, 运维 or 审计 is the owner's to make, give those roles
// and reset (`authsvc staff add`; migration 044 holds it in the database
// too). Else one 运维 could make a 客服 and a 审核 whose credentials they
// were shown, and be both eyes of a four-eyes change.
var errStaffPrivileged = errors.New("staff: a member with 审核, 运维 or 审计 is managed by the owner")

// consoleManaged reports whether the console may make a member with
// roles, or reset their credentials: 客服 only.
func consoleManaged(roles []string) bool { return len(roles) == 1 && roles[0] == roleKefu }

// lockManaged locks the member username for a change of roles or
// credentials: errStaffPrivileged unless the member is 客服 only.
func lockManaged(ctx context.Context, tx pgx.Tx, username string) (int64, string, error) {
	id, name, err := lockStaff(ctx, tx, username)
	if err != nil {
		return 0, "", err
	}
	var roles []string
	if err := tx.QueryRow(ctx, `SELECT roles FROM staff WHERE id = $1`, id).Scan(&roles); err != nil {
		return 0, "", err
	}
	if !consoleManaged(roles) {
		return 0, "", errStaffPrivileged
	}
	return id, name, nil
}

// staffChangeRequest is a staff change as posted: username and name only
// for an addition, roles for an addition and a change of roles.
type staffChangeRequest struct {
	Username string   `json:"username"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	Reason   string   `json:"reason"`
}

// staffListEntry is a staff member as the list shows them.
type staffListEntry struct {
	Username   string   `json:"username"`
	Name       string   `json:"name"`
	Roles      []string `json:"roles"`
	RoleNames  []string `json:"role_names"`
	Status     string   `json:"status"`
	Locked     bool     `json:"locked"`
	LastSignIn string   `json:"last_sign_in,omitempty"` // Asia/Shanghai
}

// shownCredentials are credentials shown once.
type shownCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Secret   string `json:"totp_secret"`
	URI      string `json:"totp_uri"`
}

// staffAdminView is the staff pages' data.
type staffAdminView struct {
	Members []staffListEntry
	Roles   []staffRoleOption
	Shown   *shownCredentials
}

type staffRoleOption struct{ Value, Name string }

func staffRoleOptions() []staffRoleOption {
	var out []staffRoleOption
	for _, r := range staffRoleOrder {
		out = append(out, staffRoleOption{r, StaffRoles[r]})
	}
	return out
}

func (s *Server) staffList(ctx context.Context) ([]staffListEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT st.username, st.name, st.roles, st.status, st.locked_until,
		(SELECT max(created_at) FROM staff_session ss WHERE ss.staff_id = st.id)
		FROM staff st ORDER BY lower(st.username)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := s.cfg.Now()
	out := []staffListEntry{}
	for rows.Next() {
		var e staffListEntry
		var locked, last *time.Time
		if err := rows.Scan(&e.Username, &e.Name, &e.Roles, &e.Status, &locked, &last); err != nil {
			return nil, err
		}
		e.RoleNames = roleNames(e.Roles)
		e.Locked = locked != nil && now.Before(*locked)
		if last != nil {
			e.LastSignIn = last.In(shanghai).Format("2006-01-02 15:04:05")
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// staffChangeFn makes a change to the staff member username with tx and
// returns what the audit row's detail adds and the credentials to show
// once (nil when none). It locks the member's row first.
type staffChangeFn func(ctx context.Context, tx pgx.Tx, c *staffCall, username string, in *staffChangeRequest) (target, detail string, shown *shownCredentials, err error)

// staffChange serves a change: the request (JSON or form), the self
// check when self is refused, the reason, then do and its audit row
// (admin_staff_<action>) in one transaction. The refusal of a change to
// oneself is audited too.
func (s *Server) staffChange(action string, refuseSelf bool, do staffChangeFn) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, c *staffCall) {
		ctx := r.Context()
		var in staffChangeRequest
		if wantsJSON(r) {
			if err := decodeJSON(r, &in); err != nil {
				s.fail(w, r, err)
				return
			}
		} else {
			in = staffChangeRequest{Username: r.PostFormValue("username"), Name: r.PostFormValue("name"),
				Roles: r.PostForm["roles"], Reason: r.PostFormValue("reason")}
		}
		username := r.PathValue("username")
		if refuseSelf && strings.EqualFold(strings.TrimSpace(username), c.Username) {
			if err := s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: action, outcome: "refused",
				target: username, detail: "self"}); err != nil {
				s.fail(w, r, err)
				return
			}
			s.fail(w, r, errStaffSelf)
			return
		}
		reason, err := staffReason(in.Reason)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var shown *shownCredentials
		err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
			target, detail, sh, err := do(ctx, tx, c, username, &in)
			if err != nil {
				return err
			}
			shown = sh
			return s.staffAuditIn(ctx, tx, r, c, staffAction{action: action, target: target, reason: reason, detail: detail})
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch {
		case shown != nil:
			w.Header().Set("Cache-Control", "no-store")
			if wantsJSON(r) {
				writeJSON(w, http.StatusOK, shown)
				return
			}
			s.render(w, r, "admin_staff_credentials.html", pageData{Title: "工作人员凭据", Staff: c.staffMember,
				StaffAdmin: &staffAdminView{Shown: shown}})
		case wantsJSON(r):
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		default:
			http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
		}
	}
}

func (s *Server) staffAdd(ctx context.Context, tx pgx.Tx, c *staffCall, _ string, in *staffChangeRequest) (string, string, *shownCredentials, error) {
	n := NewStaff{Username: in.Username, Name: in.Name, Roles: in.Roles, CreatedBy: c.Username}
	if roles, err := staffRolesOf(in.Roles); err == nil && !consoleManaged(roles) {
		return "", "", nil, errStaffPrivileged
	}
	cr, err := addStaffIn(ctx, tx, s.cfg.Keyring, s.cfg.Argon2, &n, s.cfg.Now())
	if err != nil {
		return "", "", nil, err
	}
	return n.Username, "roles=" + strings.Join(n.Roles, ","), &shownCredentials{Username: n.Username, Password: cr.Password, Secret: cr.Secret, URI: cr.URI}, nil
}

func (s *Server) staffSetRoles(ctx context.Context, tx pgx.Tx, _ *staffCall, username string, in *staffChangeRequest) (string, string, *shownCredentials, error) {
	roles, err := staffRolesOf(in.Roles)
	if err != nil {
		return "", "", nil, err
	}
	id, name, err := lockStaff(ctx, tx, username)
	if err != nil {
		return "", "", nil, err
	}
	var held []string
	if err := tx.QueryRow(ctx, `SELECT roles FROM staff WHERE id = $1`, id).Scan(&held); err != nil {
		return "", "", nil, err
	}
	for _, r := range roles {
		if r != roleKefu && !slices.Contains(held, r) {
			return "", "", nil, errStaffPrivileged
		}
	}
	return name, "roles=" + strings.Join(roles, ","), nil, setStaffRolesIn(ctx, tx, id, roles)
}

func (s *Server) staffDisable(ctx context.Context, tx pgx.Tx, _ *staffCall, username string, _ *staffChangeRequest) (string, string, *shownCredentials, error) {
	name, err := disableStaffIn(ctx, tx, username, s.cfg.Now())
	return name, "", nil, err
}

func (s *Server) staffEnable(ctx context.Context, tx pgx.Tx, _ *staffCall, username string, _ *staffChangeRequest) (string, string, *shownCredentials, error) {
	id, name, err := lockManaged(ctx, tx, username)
	if err != nil {
		return "", "", nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE staff SET status = 'active' WHERE id = $1`, id)
	return name, "", nil, err
}

// staffReset gives the member a new password and TOTP secret, lifts any
// lock and ends their sessions.
func (s *Server) staffReset(ctx context.Context, tx pgx.Tx, _ *staffCall, username string, _ *staffChangeRequest) (string, string, *shownCredentials, error) {
	id, name, err := lockManaged(ctx, tx, username)
	if err != nil {
		return "", "", nil, err
	}
	cr, err := resetStaffIn(ctx, tx, s.cfg.Keyring, s.cfg.Argon2, id, name, s.cfg.Now())
	if err != nil {
		return "", "", nil, err
	}
	return name, "", &shownCredentials{Username: name, Password: cr.Password, Secret: cr.Secret, URI: cr.URI}, nil
}

func (s *Server) staffUnlock(ctx context.Context, tx pgx.Tx, _ *staffCall, username string, _ *staffChangeRequest) (string, string, *shownCredentials, error) {
	id, name, err := lockStaff(ctx, tx, username)
	if err != nil {
		return "", "", nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = $1`, id)
	return name, "", nil, err
}

func (s *Server) staffListPage(w http.ResponseWriter, r *http.Request, c *staffCall) {
	list, err := s.staffList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "admin_staff.html", pageData{Title: "工作人员管理", Staff: c.staffMember,
		StaffAdmin: &staffAdminView{Members: list, Roles: staffRoleOptions()}})
}

func (s *Server) apiStaffList(w http.ResponseWriter, r *http.Request, _ *staffCall) {
	list, err := s.staffList(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": list})
}

// staffAdminRoutes: the staff list and changes, for 运维 only.
func (s *Server) staffAdminRoutes() []staffRoute {
	ops := []string{roleYunwei}
	var out []staffRoute
	for _, prefix := range []string{"", "/api/v1"} {
		list := s.staffListPage
		if prefix != "" {
			list = s.apiStaffList
		}
		out = append(out,
			staffRoute{"GET " + prefix + "/admin/staff", ops, list},
			staffRoute{"POST " + prefix + "/admin/staff", ops, s.staffChange("staff_add", false, s.staffAdd)},
			staffRoute{"POST " + prefix + "/admin/staff/{username}/roles", ops, s.staffChange("staff_roles", true, s.staffSetRoles)},
			staffRoute{"POST " + prefix + "/admin/staff/{username}/disable", ops, s.staffChange("staff_disable", true, s.staffDisable)},
			staffRoute{"POST " + prefix + "/admin/staff/{username}/enable", ops, s.staffChange("staff_enable", true, s.staffEnable)},
			staffRoute{"POST " + prefix + "/admin/staff/{username}/reset-credentials", ops, s.staffChange("staff_reset", true, s.staffReset)},
			staffRoute{"POST " + prefix + "/admin/staff/{username}/unlock", ops, s.staffChange("staff_unlock", true, s.staffUnlock)},
		)
	}
	return out
}
