package authsvc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/database"
)

// A staff member changes their own password at /admin/password: the
// current one, the new one twice. A 客服 whose credentials someone else
// was shown (staff.must_change, migration 047) must do so before any
// other page or action (staffOnly sends them here). The current password
// is a credential check like the sign-in: rate-limited by address, each
// wrong one counted on the member, the MaxFailures-th locking them out
// for LockFor and ending their sessions, every attempt audited
// (staff_password). The new one follows the citizens' rules (with the
// member's name) and is not the current one; the change ends the
// member's other sessions. Whatever a try guessed, it is refused when,
// under the member's lock, the member is locked out or the session has
// ended: parallel tries get no more guesses than sequential ones. The
// service's role may set the password of a 客服 only (trigger 044): a
// member with another role has it from the owner (`authsvc staff reset`)
// and is refused here. The TOTP secret is not renewed: whoever made the
// member saw it, but not the new password.

const staffPasswordPath = "/admin/password"

var (
	errStaffMustChange    = errors.New("staff: the password must be changed first")
	errStaffPasswordWrong = errors.New("staff: wrong current password")
	errStaffPasswordSame  = errors.New("staff: the new password is the current one")
)

// staffPasswordRequest is the change's JSON body (the form's fields).
type staffPasswordRequest struct {
	Current  string `json:"current"`
	Password string `json:"password"`
	Confirm  string `json:"confirm"`
}

// changeStaffPassword checks and makes the change for the request's
// staff session.
func (s *Server) changeStaffPassword(ctx context.Context, r *http.Request, in staffPasswordRequest) error {
	m, hash, err := s.staffSession(ctx, r)
	if err != nil {
		return err
	}
	if !m.Has(roleKefu) || len(m.Roles) != 1 {
		return errStaffPrivileged
	}
	if in.Password != in.Confirm {
		return fieldErrors{"confirm": "两次输入的密码不一致"}
	}
	if err := CheckPassword(in.Password, PasswordFacts{Name: m.Name}); err != nil {
		return err
	}
	if strings.EqualFold(in.Password, m.Username) {
		return fieldErrors{"password": "新密码不能与用户名相同"}
	}
	if in.Password == in.Current {
		return errStaffPasswordSame
	}
	var current string
	if err := s.pool.QueryRow(ctx, `SELECT password_hash FROM staff WHERE id = $1`, m.ID).Scan(&current); err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, in.Current, current)
	if err != nil {
		return err
	}
	newHash := ""
	if ok {
		if newHash, err = s.hasher.Hash(ctx, in.Password); err != nil {
			return err
		}
	}
	// The check is made: its outcome is recorded, even when the client
	// has gone.
	ctx = context.WithoutCancel(ctx)
	now := s.cfg.Now()
	event := auditEvent{event: "staff_password", subject: m.Username, ip: clientIP(r), detail: "staff=" + m.Username}
	var outcome error
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		outcome = nil
		// Under the member's lock, checked again: the member is not
		// locked out, the password is the one checked, this session lives
		// (disabling a member ends their sessions). Else the try is
		// refused whatever it guessed: tries already past the session's
		// check when the lockout came must not go on guessing. The session
		// is read by a statement of its own once the lock is held (a
		// statement that waited sees the locked row anew, not the rest).
		var failures int
		err := tx.QueryRow(ctx, `SELECT failed_attempts FROM staff
			WHERE id = $1 AND password_hash = $2 AND (locked_until IS NULL OR locked_until <= $3)
			FOR UPDATE`, m.ID, current, now).Scan(&failures)
		if err == nil {
			err = tx.QueryRow(ctx, `SELECT 1 FROM staff_session WHERE id_hash = $1 AND staff_id = $2 AND revoked_at IS NULL`, hash, m.ID).Scan(new(int))
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return errStaffNoSession
		}
		if err != nil {
			return err
		}
		if !ok {
			event.outcome, event.detail = "fail", event.detail+"; wrong password"
			locked, err := s.staffFailureIn(ctx, tx, m.ID, failures, now)
			if err != nil {
				return err
			}
			if locked {
				if err := endStaffSessions(ctx, tx, m.ID, now); err != nil {
					return err
				}
				event.detail += "; locked"
			}
			outcome = errStaffPasswordWrong
		} else {
			event.outcome = "ok"
			if _, err := tx.Exec(ctx, `UPDATE staff SET password_hash = $2, must_change = false, failed_attempts = 0 WHERE id = $1`, m.ID, newHash); err != nil {
				return err
			}
			// The member's other sessions end; this one goes on.
			if _, err := tx.Exec(ctx, `UPDATE staff_session SET revoked_at = $3, expires_at = LEAST(expires_at, $3)
				WHERE staff_id = $1 AND id_hash <> $2 AND revoked_at IS NULL`, m.ID, hash, now); err != nil {
				return err
			}
		}
		return s.auditIn(ctx, tx, event)
	})
	if err != nil {
		return err
	}
	return outcome
}

func (s *Server) staffPasswordPage(w http.ResponseWriter, r *http.Request) {
	m, _, err := s.staffSession(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "admin_password.html", pageData{Title: "修改密码", Staff: m})
}

func (s *Server) staffPasswordForm(w http.ResponseWriter, r *http.Request) {
	err := s.changeStaffPassword(r.Context(), r, staffPasswordRequest{Current: r.PostFormValue("current"),
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")})
	if err == nil {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	}
	p := problemOf(err)
	if p.status >= http.StatusInternalServerError || errors.Is(err, errStaffNoSession) {
		s.fail(w, r, err)
		return
	}
	m, _, serr := s.staffSession(r.Context(), r)
	if serr != nil { // locked out by this try
		s.fail(w, r, serr)
		return
	}
	w.WriteHeader(p.status)
	s.render(w, r, "admin_password.html", pageData{Title: "修改密码", Staff: m, Error: p.message})
}

func (s *Server) apiStaffPassword(w http.ResponseWriter, r *http.Request) {
	var in staffPasswordRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.changeStaffPassword(r.Context(), r, in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "changed"})
}
