package authsvc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/authsvc/internal/totp"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
)

// The staff console's accounts and sign-in (issue 20). Staff members
// (table staff, migration 037) are created by `authsvc staff add` and sign
// in at /admin/login with a password and a TOTP code (RFC 6238). Their
// sessions (staff_session) and cookie are their own: a staff cookie is
// never a citizen's session, and a citizen's session never opens /admin.
//
// Lock order: a staff sign-in's transaction locks the staff member's row
// (FOR UPDATE) before it writes the audit row (which takes the audit
// chain's head); so does DisableStaff. No transaction takes the head
// before a staff row, so none of them can deadlock another.

// StaffRoles are the roles a staff member may hold, with their Chinese
// names (the CHECK of staff.roles).
var StaffRoles = map[string]string{
	"kefu":   "客服",
	"shenhe": "审核",
	"yunwei": "运维",
	"shenji": "审计",
}

// staffRoleOrder is the order roles are shown in.
var staffRoleOrder = []string{"kefu", "shenhe", "yunwei", "shenji"}

// staffCookieName is the staff session's cookie: __Host- like the
// citizens', another name, and another table behind it.
const staffCookieName = "__Host-idf_staff"

// staffTOTPAAD binds a sealed TOTP secret to its use.
var staffTOTPAAD = []byte("staff_totp")

// staffIssuer labels the secret in authenticator apps.
const staffIssuer = "统一身份认证控制台"

var staffUsernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{1,31}$`)

// digitRunRE finds five digits in a row: the audit masks long numbers
// (pii.Redact) in its subjects, so a username with one would be audited
// as another string than itself (and the unmask bound, which counts a
// member's audit rows, would not find them).
var digitRunRE = regexp.MustCompile(`[0-9]{5}`)

// validStaffUsername: 2-32 letters, digits, . _ -, a letter first, at
// most four digits in a row, and nothing the audit would mask (digit
// groups joined by . _ - that read as a phone or an ID number): the audit
// records a member by their username as is.
func validStaffUsername(s string) bool {
	return staffUsernameRE.MatchString(s) && !digitRunRE.MatchString(s) && pii.Redact(s) == s
}

var (
	// errStaffLoginFailed is the one answer of a refused staff sign-in:
	// unknown username, wrong password, wrong or replayed code, locked or
	// disabled.
	errStaffLoginFailed = errors.New("staff sign-in failed")
	// errStaffNoSession: no valid staff session.
	errStaffNoSession = errors.New("no valid staff session")
)

// Errors of AddStaff and DisableStaff.
var (
	ErrStaffExists  = errors.New("a staff member has this username")
	ErrNoSuchStaff  = errors.New("no staff member has this username")
	errStaffUsage   = errors.New("staff: --username (2-32 letters, digits, . _ -, a letter first), --name and at least one --role (kefu, shenhe, yunwei, shenji) are required")
	errStaffBadRole = errors.New("staff: unknown role (kefu 客服, shenhe 审核, yunwei 运维, shenji 审计)")
)

// NewStaff is a staff member to create.
type NewStaff struct {
	Username, Name string
	Roles          []string
	// CreatedBy is who created it (audited).
	CreatedBy string
}

// StaffCredentials are a new staff member's initial password and TOTP
// secret: shown once, never stored in the clear.
type StaffCredentials struct {
	ID       int64
	Password string
	// Secret is the TOTP secret in base32, URI its otpauth:// URI.
	Secret, URI string
}

// AddStaff creates a staff member with a random initial password and TOTP
// secret, audited, and returns them. pool is the owner's (the service's
// role creates no staff member).
func AddStaff(ctx context.Context, pool *pgxpool.Pool, k *pii.Keyring, argon Argon2Params, n NewStaff, now time.Time) (StaffCredentials, error) {
	var c StaffCredentials
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		var err error
		c, err = addStaffIn(ctx, tx, k, argon, &n, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, ip, detail) VALUES ($1, 'staff_add', 'ok', $2, '', $3)`,
			now, n.Username, fmt.Sprintf("staff=%s; roles=%s; by %s", n.Username, strings.Join(n.Roles, ","), n.CreatedBy))
		return err
	})
	if err != nil {
		return StaffCredentials{}, err
	}
	return c, nil
}

// staffRolesOf checks roles and returns them without repeats:
// errStaffBadRole for an unknown one, errStaffUsage for none.
func staffRolesOf(in []string) ([]string, error) {
	roles := []string{}
	for _, r := range in {
		r = strings.TrimSpace(r)
		if _, ok := StaffRoles[r]; !ok {
			return nil, fmt.Errorf("%w: %q", errStaffBadRole, r)
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, errStaffUsage
	}
	return roles, nil
}

// newStaffSecrets makes a staff member's random password and TOTP secret:
// the credentials to show once, the password's hash and the sealed
// secret to store.
func newStaffSecrets(ctx context.Context, k *pii.Keyring, argon Argon2Params, username string) (c StaffCredentials, hash string, sealed []byte, err error) {
	password, err := randomPassword()
	if err != nil {
		return c, "", nil, err
	}
	secret, err := totp.NewSecret()
	if err != nil {
		return c, "", nil, err
	}
	hash, err = NewPasswordHasher(argon, 1).Hash(ctx, password)
	if err != nil {
		return c, "", nil, err
	}
	c = StaffCredentials{Password: password, Secret: totp.Base32(secret), URI: totp.URI(staffIssuer, username, secret)}
	return c, hash, k.Seal(secret, staffTOTPAAD), nil
}

// addStaffIn creates the staff member n with q (the caller's transaction,
// which writes the audit row): the one place a staff member is made, for
// the CLI (AddStaff, as the owner) and the console (console_staff.go).
// n's fields come back trimmed, its roles without repeats.
func addStaffIn(ctx context.Context, q querier, k *pii.Keyring, argon Argon2Params, n *NewStaff, now time.Time) (StaffCredentials, error) {
	n.Username, n.Name, n.CreatedBy = strings.TrimSpace(n.Username), strings.TrimSpace(n.Name), strings.TrimSpace(n.CreatedBy)
	if !validStaffUsername(n.Username) || n.Name == "" || len(n.Roles) == 0 {
		return StaffCredentials{}, errStaffUsage
	}
	roles, err := staffRolesOf(n.Roles)
	if err != nil {
		return StaffCredentials{}, err
	}
	n.Roles = roles
	c, hash, sealed, err := newStaffSecrets(ctx, k, argon, n.Username)
	if err != nil {
		return StaffCredentials{}, err
	}
	err = q.QueryRow(ctx, `INSERT INTO staff (username, name, password_hash, totp_sealed, roles, created_at, created_by, must_change)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $5 <@ ARRAY['kefu']) RETURNING id`,
		n.Username, n.Name, hash, sealed, roles, now, n.CreatedBy).Scan(&c.ID)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return StaffCredentials{}, ErrStaffExists
	}
	if err != nil {
		return StaffCredentials{}, err
	}
	return c, nil
}

// setStaffRolesIn gives the staff member id (locked by the caller) the
// roles, for the CLI and the console. A member left with 客服 only whose
// password the owner set (they held another role) is asked to change it.
func setStaffRolesIn(ctx context.Context, q querier, id int64, roles []string) error {
	_, err := q.Exec(ctx, `UPDATE staff SET roles = $2, must_change = must_change OR ($2 <@ ARRAY['kefu'] AND NOT roles <@ ARRAY['kefu'])
		WHERE id = $1`, id, roles)
	return err
}

// staffFailureIn counts a failed check of the staff member id's password
// (failures so far, the row locked by the caller): the MaxFailures-th in
// a row locks them out for LockFor, and locked says so.
func (s *Server) staffFailureIn(ctx context.Context, tx pgx.Tx, id int64, failures int, now time.Time) (locked bool, err error) {
	failures++
	var until *time.Time
	if failures >= s.cfg.MaxFailures {
		t := now.Add(s.cfg.LockFor)
		until, failures, locked = &t, 0, true
	}
	_, err = tx.Exec(ctx, `UPDATE staff SET failed_attempts = $2, locked_until = $3 WHERE id = $1`, id, failures, until)
	return locked, err
}

// DisableStaff disables a staff member and ends its sessions, audited.
// pool is the owner's.
func DisableStaff(ctx context.Context, pool *pgxpool.Pool, username, by string, now time.Time) error {
	return database.Transact(ctx, pool, func(tx pgx.Tx) error {
		if _, err := disableStaffIn(ctx, tx, username, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, ip, detail) VALUES ($1, 'staff_disable', 'ok', $2, '', $3)`,
			now, username, fmt.Sprintf("staff=%s; by %s", username, by))
		return err
	})
}

// lockStaff locks the staff member's row (before any audit row) and
// returns its id and username as stored: ErrNoSuchStaff when none.
func lockStaff(ctx context.Context, q querier, username string) (id int64, name string, err error) {
	err = q.QueryRow(ctx, `SELECT id, username FROM staff WHERE lower(username) = lower($1) FOR UPDATE`, strings.TrimSpace(username)).Scan(&id, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", ErrNoSuchStaff
	}
	return id, name, err
}

// endStaffSessions ends every live session of the staff member id.
func endStaffSessions(ctx context.Context, q querier, id int64, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE staff_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2) WHERE staff_id = $1 AND revoked_at IS NULL`, id, now)
	return err
}

// disableStaffIn disables the staff member and ends their sessions with q
// (the caller's transaction, which writes the audit row): the one place a
// staff member is disabled, for the CLI and the console. It returns the
// username as stored.
func disableStaffIn(ctx context.Context, q querier, username string, now time.Time) (string, error) {
	id, name, err := lockStaff(ctx, q, username)
	if err != nil {
		return "", err
	}
	if _, err := q.Exec(ctx, `UPDATE staff SET status = 'disabled' WHERE id = $1`, id); err != nil {
		return "", err
	}
	return name, endStaffSessions(ctx, q, id, now)
}

// resetStaffIn gives the staff member id (locked by the caller) a new
// password and TOTP secret, lifts any lock and ends their sessions, with q
// (the caller's transaction, which writes the audit row): the one place
// credentials are reset, for the CLI (ResetStaff) and the console.
func resetStaffIn(ctx context.Context, q querier, k *pii.Keyring, argon Argon2Params, id int64, username string, now time.Time) (StaffCredentials, error) {
	c, hash, sealed, err := newStaffSecrets(ctx, k, argon, username)
	if err != nil {
		return c, err
	}
	if _, err := q.Exec(ctx, `UPDATE staff SET password_hash = $2, totp_sealed = $3, totp_last_step = 0, failed_attempts = 0, locked_until = NULL,
			must_change = roles <@ ARRAY['kefu']
		WHERE id = $1`, id, hash, sealed); err != nil {
		return c, err
	}
	c.ID = id
	return c, endStaffSessions(ctx, q, id, now)
}

// ResetStaff is `authsvc staff reset` (as the owner, any member): new
// credentials, shown once by the caller, audited.
func ResetStaff(ctx context.Context, pool *pgxpool.Pool, k *pii.Keyring, argon Argon2Params, username, by string, now time.Time) (StaffCredentials, error) {
	var c StaffCredentials
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		id, name, err := lockStaff(ctx, tx, username)
		if err != nil {
			return err
		}
		if c, err = resetStaffIn(ctx, tx, k, argon, id, name, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, ip, detail) VALUES ($1, 'staff_reset', 'ok', $2, '', $3)`,
			now, name, fmt.Sprintf("staff=%s; by %s", name, by))
		return err
	})
	return c, err
}

// SetStaffRoles is `authsvc staff roles` (as the owner: any role, to any
// member), audited; the member's next request has them. A member given a
// role beyond 客服 they did not hold gets new credentials too (returned,
// to be shown once): whoever made or reset them as a 客服 in the console
// knows the old ones, and must not become a 审核 through them. Else the
// credentials are nil.
func SetStaffRoles(ctx context.Context, pool *pgxpool.Pool, k *pii.Keyring, argon Argon2Params, username string, roles []string, by string, now time.Time) (*StaffCredentials, error) {
	roles, err := staffRolesOf(roles)
	if err != nil {
		return nil, err
	}
	var reset *StaffCredentials
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		reset = nil
		id, name, err := lockStaff(ctx, tx, username)
		if err != nil {
			return err
		}
		var held []string
		if err := tx.QueryRow(ctx, `SELECT roles FROM staff WHERE id = $1`, id).Scan(&held); err != nil {
			return err
		}
		if err := setStaffRolesIn(ctx, tx, id, roles); err != nil {
			return err
		}
		detail := fmt.Sprintf("staff=%s; roles=%s; by %s", name, strings.Join(roles, ","), by)
		if slices.ContainsFunc(roles, func(r string) bool { return r != roleKefu && !slices.Contains(held, r) }) {
			c, err := resetStaffIn(ctx, tx, k, argon, id, name, now)
			if err != nil {
				return err
			}
			reset, detail = &c, detail+"; credentials reset"
		}
		_, err = tx.Exec(ctx, `INSERT INTO auth_audit (at, event, outcome, subject, ip, detail) VALUES ($1, 'staff_roles', 'ok', $2, '', $3)`,
			now, name, detail)
		return err
	})
	return reset, err
}

// randomPassword is an initial password: 16 characters of an alphabet
// without look-alikes (about 90 bits), with a digit, an upper and a lower
// case letter and a symbol, so the citizens' rules would take it too.
func randomPassword() (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	// 256 % 56 != 0: a slight bias, of no consequence at this length.
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:12]) + "-" + string(b[12:]) + "#7aA", nil
}

// staffMember is a staff member as its session shows it.
type staffMember struct {
	ID       int64    `json:"-"`
	Username string   `json:"username"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	// RoleNames are the roles in Chinese.
	RoleNames []string `json:"role_names"`
	// MustChange: the password was set by someone else; nothing but
	// changing it is allowed (staff_password.go).
	MustChange bool `json:"must_change"`
}

// Has reports whether the staff member holds the role (the console's
// home offers what the roles may use).
func (m *staffMember) Has(role string) bool { return slices.Contains(m.Roles, role) }

func roleNames(roles []string) []string {
	var out []string
	for _, r := range staffRoleOrder {
		if slices.Contains(roles, r) {
			out = append(out, StaffRoles[r])
		}
	}
	return out
}

// staffSignIn checks the username, password and TOTP code and, when all
// three hold for an active, unlocked staff member, starts a staff session
// (ending the browser's previous one). Every outcome is audited with the
// username; every refusal gets errStaffLoginFailed.
func (s *Server) staffSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, username, password, code string) error {
	username = strings.TrimSpace(username)
	// A username no staff member can have (a password typed in the wrong
	// field, or text forging the detail's fields) is not recorded.
	subject := "(invalid username)"
	if validStaffUsername(username) {
		subject = username
	}
	fail := auditEvent{event: "staff_login", outcome: "fail", subject: subject, ip: clientIP(r)}
	refuse := func(q querier, why string) error {
		fail.detail = "staff=" + subject + "; " + why
		if err := s.auditIn(ctx, q, fail); err != nil {
			return err
		}
		return errStaffLoginFailed
	}
	var id int64
	var hash string
	err := pgx.ErrNoRows // a username no staff member can have is not looked up
	if validStaffUsername(username) {
		err = s.pool.QueryRow(ctx, `SELECT id, password_hash FROM staff WHERE lower(username) = lower($1)`, username).Scan(&id, &hash)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// An unknown username costs a hash too, and gets the same answer.
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return err
		}
		return refuse(s.pool, "unknown username")
	}
	if err != nil {
		return err
	}
	passwordOK, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return err
	}
	// The password has been compared: the outcome is recorded, even when
	// the client has gone.
	ctx = context.WithoutCancel(ctx)
	now := s.cfg.Now()
	var token string
	// A refusal in the transaction is committed with its count and audit
	// row (Transact rolls back when fn returns an error): the transaction
	// returns nil and says so here.
	var refused bool
	refuseIn := func(tx pgx.Tx, why string) error {
		refused = true
		if err := refuse(tx, why); !errors.Is(err, errStaffLoginFailed) {
			return err
		}
		return nil
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		refused = false
		// The row's lock: the count, the lock and the last step are read
		// and written by one attempt at a time.
		var status string
		var failures int
		var lockedUntil *time.Time
		var sealed []byte
		var lastStep int64
		if err := tx.QueryRow(ctx, `SELECT status, failed_attempts, locked_until, totp_sealed, totp_last_step FROM staff WHERE id = $1 FOR UPDATE`, id).
			Scan(&status, &failures, &lockedUntil, &sealed, &lastStep); err != nil {
			return err
		}
		switch {
		case status != "active":
			return refuseIn(tx, "disabled")
		case lockedUntil != nil && now.Before(*lockedUntil):
			return refuseIn(tx, "locked")
		}
		why := ""
		var step int64
		if !passwordOK {
			why = "wrong password"
		} else {
			secret, err := s.cfg.Keyring.Open(sealed, staffTOTPAAD)
			if err != nil {
				return fmt.Errorf("staff %d: the TOTP secret: %w", id, err)
			}
			var ok bool
			if step, ok = totp.Check(secret, code, now, lastStep); !ok {
				why = "wrong code"
				if _, any := totp.Check(secret, code, now, math.MinInt64); any {
					why = "replayed code"
				}
			}
		}
		if why != "" {
			locked, err := s.staffFailureIn(ctx, tx, id, failures, now)
			if err != nil {
				return err
			}
			if locked {
				why += "; locked"
			}
			return refuseIn(tx, why)
		}
		if _, err := tx.Exec(ctx, `UPDATE staff SET failed_attempts = 0, locked_until = NULL, totp_last_step = $2 WHERE id = $1`, id, step); err != nil {
			return err
		}
		// The browser's previous staff session ends: a new one, never an
		// upgraded one.
		if c, err := r.Cookie(staffCookieName); err == nil && c.Value != "" {
			if _, err := tx.Exec(ctx, `UPDATE staff_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2) WHERE id_hash = $1 AND revoked_at IS NULL`,
				hashToken(c.Value), now); err != nil {
				return err
			}
		}
		var newHash []byte
		var err error
		if token, newHash, err = newToken(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staff_session (id_hash, staff_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
			newHash, id, now, now.Add(s.cfg.SessionLifetime)); err != nil {
			return err
		}
		return s.auditIn(ctx, tx, auditEvent{event: "staff_login", outcome: "ok", subject: subject, ip: clientIP(r), detail: "staff=" + subject})
	})
	if err != nil {
		return err
	}
	if refused {
		return errStaffLoginFailed
	}
	http.SetCookie(w, &http.Cookie{Name: staffCookieName, Value: token, Path: "/", MaxAge: int(s.cfg.SessionLifetime.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

func clearStaffCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: staffCookieName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// staffSession is the request's live staff session and its staff member:
// errStaffNoSession when there is none, it was revoked, timed out (idle or
// absolute), or its staff member is disabled. Use refreshes its idle
// clock (at most once a minute).
func (s *Server) staffSession(ctx context.Context, r *http.Request) (*staffMember, []byte, error) {
	c, err := r.Cookie(staffCookieName)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil, nil, errStaffNoSession
	}
	hash := hashToken(c.Value)
	var m staffMember
	var status string
	var lastSeen, expires time.Time
	err = s.pool.QueryRow(ctx, `SELECT st.id, st.username, st.name, st.roles, st.must_change, st.status, ss.last_seen_at, ss.expires_at
		FROM staff_session ss JOIN staff st ON st.id = ss.staff_id
		WHERE ss.id_hash = $1 AND ss.revoked_at IS NULL`, hash).Scan(&m.ID, &m.Username, &m.Name, &m.Roles, &m.MustChange, &status, &lastSeen, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errStaffNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.cfg.Now()
	if status != "active" || !now.Before(expires) || now.Sub(lastSeen) >= s.cfg.IdleTimeout {
		if err := s.revokeStaff(ctx, hash); err != nil {
			return nil, nil, err
		}
		return nil, nil, errStaffNoSession
	}
	if now.Sub(lastSeen) >= time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE staff_session SET last_seen_at = $2 WHERE id_hash = $1`, hash, now); err != nil {
			return nil, nil, err
		}
	}
	m.RoleNames = roleNames(m.Roles)
	return &m, hash, nil
}

func (s *Server) revokeStaff(ctx context.Context, hash []byte) error {
	now := s.cfg.Now()
	_, err := s.pool.Exec(ctx, `UPDATE staff_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2) WHERE id_hash = $1 AND revoked_at IS NULL`, hash, now)
	return err
}

// Pages and API twins of the staff sign-in.

type staffLoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Code     string `json:"code"`
}

const staffLoginTitle = "工作人员登录"

func (s *Server) staffLoginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "admin_login.html", pageData{Title: staffLoginTitle})
}

func (s *Server) staffLoginForm(w http.ResponseWriter, r *http.Request) {
	err := s.staffSignIn(r.Context(), w, r, r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("code"))
	if err != nil {
		p := problemOf(err)
		if p.status >= http.StatusInternalServerError {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		s.render(w, r, "admin_login.html", pageData{Title: staffLoginTitle, Error: p.message, StaffUsername: r.PostFormValue("username")})
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (s *Server) apiStaffLogin(w http.ResponseWriter, r *http.Request) {
	var in staffLoginRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.staffSignIn(r.Context(), w, r, in.Username, in.Password, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, loginResult{Next: "/admin"})
}

func (s *Server) staffConsole(w http.ResponseWriter, r *http.Request) {
	m, _, err := s.staffSession(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if m.MustChange {
		http.Redirect(w, r, staffPasswordPath, http.StatusSeeOther)
		return
	}
	s.render(w, r, "admin.html", pageData{Title: "控制台", Staff: m})
}

func (s *Server) apiStaffMe(w http.ResponseWriter, r *http.Request) {
	m, _, err := s.staffSession(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) staffLogout(w http.ResponseWriter, r *http.Request) error {
	m, hash, err := s.staffSession(r.Context(), r)
	if err == nil {
		if err := s.revokeStaff(r.Context(), hash); err != nil {
			return err
		}
		s.audit(r.Context(), auditEvent{event: "staff_logout", outcome: "ok", subject: m.Username, ip: clientIP(r), detail: "staff=" + m.Username})
	} else if !errors.Is(err, errStaffNoSession) {
		return err
	}
	clearStaffCookie(w)
	return nil
}

func (s *Server) staffLogoutForm(w http.ResponseWriter, r *http.Request) {
	if err := s.staffLogout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (s *Server) apiStaffLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.staffLogout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// staffRoutes: the staff sign-in, the console's home, logout.
func (s *Server) staffRoutes() []route {
	return []route{
		{"GET /admin/login", s.staffLoginPage},
		{"POST /admin/login", s.limited(s.hashing(s.staffLoginForm))},
		{"GET /admin", s.staffConsole},
		{"POST /admin/logout", s.staffLogoutForm},
		{"POST /api/v1/admin/login", s.limited(s.hashing(s.apiStaffLogin))},
		{"GET /api/v1/admin/me", s.apiStaffMe},
		{"POST /api/v1/admin/logout", s.apiStaffLogout},
		{"GET " + staffPasswordPath, s.staffPasswordPage},
		{"POST " + staffPasswordPath, s.limited(s.hashing(s.staffPasswordForm))},
		{"POST /api/v1/admin/password", s.limited(s.hashing(s.apiStaffPassword))},
	}
}
