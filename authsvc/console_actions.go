package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// The help desk's actions on an account (issue 20, 客服 only): unlock,
// end-sessions, disable, enable, reset-step, realname-recheck and
// resend-notice. Each is
// POST /admin/accounts/{ref}/<action> (the account page's form, back to
// the page with a notice) and POST /api/v1/admin/accounts/{ref}/<action>
// (JSON), takes a required reason, and runs in one transaction that locks
// the account's row first, changes it and writes the action's audit row
// (staffAuditIn: target the masked ID number). An action that finds
// nothing to do is refused (409) and audited as refused.

// accountAction is one action: its name (the path's last element) and
// what it does to the account a, locked in tx (do: it returns the audit
// detail and the result), or, for an action that also works outside the
// transaction (asks an interface, sends a message), all of it (run).
type accountAction struct {
	name string
	do   func(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error)
	run  func(ctx context.Context, r *http.Request, c *staffCall, reason string) (*actionResult, error)
}

// actionResult is what an action answers: the account's status after it,
// the sessions it ended, a real-name check's verdict, and the page's
// notice (done: actionNotices' key).
type actionResult struct {
	Status        string `json:"status"`
	SessionsEnded *int   `json:"sessions_ended,omitempty"`
	Realname      string `json:"realname,omitempty"` // verified, unverified
	Notice        string `json:"notice"`
	done          string
	// outcome is the action's audit outcome, when not "ok" (an action
	// finished outside the transaction records "started" in it).
	outcome string
}

// actionRefused refuses an action with nothing to do (409).
type actionRefused struct{ code, message string }

func (e *actionRefused) Error() string { return "action refused: " + e.code }

var (
	errNothingLocked   = &actionRefused{"nothing_locked", "该账号当前没有被锁定，无需解锁"}
	errAlreadyDisabled = &actionRefused{"already_disabled", "该账号已停用"}
	errNotDisabled     = &actionRefused{"not_disabled", "该账号未停用，无需启用"}
	errNotPending      = &actionRefused{"not_pending", "该账号没有待完成的步骤"}
	errNothingToReset  = &actionRefused{"nothing_to_reset", "该账号当前步骤没有可重置的进度"}
	errRecheckNotLegal = &actionRefused{"not_legal", "仅法人账号可重新进行实名认证"}
	errAlreadyVerified = &actionRefused{"realname_verified", "该法人账号已通过实名认证"}
	errNoticeUnusable  = &actionRefused{"account_unusable", "该账号已锁定或停用，请先解除锁定或启用后再发送通知"}
	errNoticeNoPhone   = &actionRefused{"no_phone", "该账号未绑定手机号，无法发送通知"}
	errNoticeTooSoon   = &actionRefused{"notice_limit", "该手机号10分钟内已收到过账号通知，或24小时内已收到3次，请稍后再试"}
)

// actionNotices are the account page's notices after an action, by the
// key the redirect carries (?done=); nothing else of the query is shown.
var actionNotices = map[string]string{
	"unlock":              "已解除账号锁定",
	"end-sessions":        "已退出该账号的全部登录",
	"disable":             "账号已停用，全部登录已退出",
	"enable":              "账号已启用",
	"reset-step":          "已重置当前步骤，用户需重新完成该步骤",
	"realname-verified":   "实名认证结果：已认证",
	"realname-unverified": "实名认证结果：仍未认证",
	"resend-notice":       "已向账号绑定的手机号重新发送账号通知",
}

// actionNotice is the notice of the action the account page was
// redirected from ("" for none).
func actionNotice(r *http.Request) string { return actionNotices[r.URL.Query().Get("done")] }

// actionRoutes: every action, on the page and in the API, 客服's only.
func (s *Server) actionRoutes() []staffRoute {
	kefu := []string{roleKefu}
	var out []staffRoute
	for _, a := range s.accountActions() {
		out = append(out,
			staffRoute{"POST /admin/accounts/{ref}/" + a.name, kefu, s.actionForm(a)},
			staffRoute{"POST /api/v1/admin/accounts/{ref}/" + a.name, kefu, s.apiAction(a)})
	}
	return out
}

func (s *Server) accountActions() []accountAction {
	return []accountAction{
		{"unlock", s.unlockAccount, nil},
		{"end-sessions", s.endAccountSessions, nil},
		{"disable", s.disableAccount, nil},
		{"enable", s.enableAccount, nil},
		{"reset-step", s.resetStep, nil},
		{"realname-recheck", nil, s.runRealnameRecheck},
		{"resend-notice", nil, s.runResendNotice},
	}
}

// runAction runs the action on the request's account with the reason.
func (s *Server) runAction(ctx context.Context, r *http.Request, c *staffCall, act accountAction, reason string) (*actionResult, error) {
	reason, err := staffReason(reason)
	if err != nil {
		return nil, err
	}
	if act.run != nil {
		return act.run(ctx, r, c, reason)
	}
	return s.onAccount(ctx, r, c, act.name, reason, act.do)
}

// onAccount runs do on the request's account in one transaction: the
// account's row locked first, then do's changes and the audit row. A
// refusal (*actionRefused) changes nothing and is audited as refused.
//
// Lock order: the account's row, then the audit chain's head (the audit
// row's detail says what do did). The citizens' transactions take the
// head first (see signIn); a deadlock between the two is broken by
// PostgreSQL and the transaction it aborted is run again by
// database.Transact. Staff actions are rare enough for that.
func (s *Server) onAccount(ctx context.Context, r *http.Request, c *staffCall, name, reason string,
	do func(context.Context, pgx.Tx, *account.Account) (string, *actionResult, error)) (*actionResult, error) {
	ctx = context.WithoutCancel(ctx)
	var res *actionResult
	var acc *account.Account
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if acc, err = s.lockedCase(ctx, tx, r, c); err != nil {
			return err
		}
		detail, out, err := do(ctx, tx, acc)
		if err != nil {
			return err
		}
		res = out
		return s.staffAuditIn(ctx, tx, r, c, staffAction{action: actionEvent(name), outcome: out.outcome, account: acc.ID, bidx: acc.IDBidx,
			target: acc.IDHint, reason: reason, detail: detail})
	})
	if err := s.auditRefused(ctx, r, c, name, reason, acc, err); err != nil {
		return nil, err
	}
	return res, nil
}

// lockedCase is the request's account ({ref}), its row locked in tx.
func (s *Server) lockedCase(ctx context.Context, tx pgx.Tx, r *http.Request, c *staffCall) (*account.Account, error) {
	// One read, locking: the reference names the account by its key.
	return s.caseRead(ctx, tx, c, r.PathValue("ref"), account.LockByIDIndex)
}

// auditRefused passes on err, an action's outcome on the account acc,
// after auditing it as refused when it is a refusal (*actionRefused).
func (s *Server) auditRefused(ctx context.Context, r *http.Request, c *staffCall, name, reason string, acc *account.Account, err error) error {
	var refused *actionRefused
	if errors.As(err, &refused) && acc != nil {
		if aerr := s.staffAuditIn(ctx, s.pool, r, c, staffAction{action: actionEvent(name), outcome: "refused", account: acc.ID,
			bidx: acc.IDBidx, target: acc.IDHint, reason: reason, detail: "refused=" + refused.code}); aerr != nil {
			return aerr
		}
	}
	return err
}

// actionEvent is an action's audit event name (after "admin_"):
// reset-step → reset_step.
func actionEvent(name string) string {
	b := []byte(name)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// restoredStatus is the status an account locked or disabled by the
// staff returns to: pending completion while steps are left, else active.
func restoredStatus(a *account.Account) schemas.AccountStatus {
	if len(a.Steps) > 0 {
		return schemas.StatusPendingCompletion
	}
	return schemas.StatusActive
}

// unlockAccount clears every lock and count of the account: the
// password's (failures, the escalation level and the lock) and the SMS
// codes' and faces' (failures and lock); an account the operators locked
// (status locked) returns to its status. Refused when nothing is locked
// now (a count below the limit is no lock).
func (s *Server) unlockAccount(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
	now := s.cfg.Now()
	status := a.Status
	if status == schemas.StatusLocked {
		status = restoredStatus(a)
	}
	tag, err := tx.Exec(ctx, `UPDATE account SET password_failures = 0, password_locks = 0, password_locked_until = NULL,
		failed_attempts = 0, locked_until = NULL, status = $3, updated_at = $2
		WHERE id_bidx = $1 AND (status = 'locked' OR password_locked_until > $2 OR locked_until > $2)`, a.IDBidx, now, string(status))
	if err != nil {
		return "", nil, err
	}
	if tag.RowsAffected() == 0 {
		return "", nil, errNothingLocked
	}
	return fmt.Sprintf("was=%s; status=%s", a.Status, status), &actionResult{Status: string(status), done: "unlock"}, nil
}

// endSessionsOf ends every session of the account and, through the
// logout outbox, its business systems' sessions; it returns how many
// sessions it ended.
func (s *Server) endSessionsOf(ctx context.Context, tx pgx.Tx, a *account.Account) (int, error) {
	now := s.cfg.Now()
	ended, err := endSessionsAt(ctx, tx, a.ID, nil, now)
	if err != nil {
		return 0, err
	}
	if _, err := endProviderSessionsIn(ctx, tx, ended, now); err != nil {
		return 0, err
	}
	return len(ended), nil
}

func (s *Server) endAccountSessions(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
	n, err := s.endSessionsOf(ctx, tx, a)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("ended=%d", n), &actionResult{Status: string(a.Status), SessionsEnded: &n, done: "end-sessions"}, nil
}

// disableAccount: status disabled (no login of any kind: the login checks
// refuse it), every session ended.
func (s *Server) disableAccount(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
	if a.Status == schemas.StatusDisabled {
		return "", nil, errAlreadyDisabled
	}
	if _, err := tx.Exec(ctx, `UPDATE account SET status = 'disabled', updated_at = $2 WHERE id_bidx = $1`, a.IDBidx, s.cfg.Now()); err != nil {
		return "", nil, err
	}
	n, err := s.endSessionsOf(ctx, tx, a)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("was=%s; ended=%d", a.Status, n),
		&actionResult{Status: string(schemas.StatusDisabled), SessionsEnded: &n, done: "disable"}, nil
}

// enableAccount returns a disabled account to active, or to pending
// completion while steps are left.
func (s *Server) enableAccount(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
	if a.Status != schemas.StatusDisabled {
		return "", nil, errNotDisabled
	}
	status := restoredStatus(a)
	if _, err := tx.Exec(ctx, `UPDATE account SET status = $2, updated_at = $3 WHERE id_bidx = $1`, a.IDBidx, string(status), s.cfg.Now()); err != nil {
		return "", nil, err
	}
	return "status=" + string(status), &actionResult{Status: string(status), done: "enable"}, nil
}

// resetStep restarts the step a completion pending on the account is at,
// in every session's flow, without touching the steps themselves (the
// account's required steps and each flow's steps left stay: no step is
// skipped, none done again but the pending one). What a step keeps before
// it passes, and what the reset clears:
//   - ① info: a code sent to a new phone, not yet used — spent, so the
//     citizen asks for a new one;
//   - ② password: nothing (the flow keeps the password only once ② passes);
//   - ③ face: a face challenge of the completion, pending or approved but
//     not yet used — rejected, so an approval waiting to be spent activates
//     nothing and ③ needs a new face check.
//
// The values of the steps already done (in the flow until ③) stay.
// Refused when the account is not pending completion or nothing is in
// progress.
func (s *Server) resetStep(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
	if a.Status != schemas.StatusPendingCompletion {
		return "", nil, errNotPending
	}
	now := s.cfg.Now()
	faces, err := tx.Exec(ctx, `UPDATE face_challenge SET status = 'rejected', answered_at = $2
		WHERE account_id = $1 AND purpose = $3 AND status IN ('pending', 'approved')`, a.ID, now, faceComplete)
	if err != nil {
		return "", nil, err
	}
	codes, err := tx.Exec(ctx, `UPDATE sms_code SET used_at = $2 WHERE account_id = $1 AND purpose = $3 AND used_at IS NULL AND expires_at > $2`,
		a.ID, now, purposeVerifyPhone)
	if err != nil {
		return "", nil, err
	}
	if faces.RowsAffected()+codes.RowsAffected() == 0 {
		return "", nil, errNothingToReset
	}
	return fmt.Sprintf("faces=%d; codes=%d", faces.RowsAffected(), codes.RowsAffected()),
		&actionResult{Status: string(a.Status), done: "reset-step"}, nil
}

// runRealnameRecheck re-runs a legal account's real-name check now, as
// the scheduled job (RecheckRealname) would: the check is claimed first
// (the account's row locked, then its next check moved a lease ahead, so
// the job leaves it alone meanwhile), the enterprise interface asked with
// no row locked, then one transaction records the verdict — verified, or
// the next check postponed by the backoff — with the action's audit row,
// the account's row locked first. A legal account only; refused when it
// is verified already.
func (s *Server) runRealnameRecheck(ctx context.Context, r *http.Request, c *staffCall, reason string) (*actionResult, error) {
	ctx = context.WithoutCancel(ctx)
	var check account.RealnameCheck
	var acc *account.Account
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if acc, err = s.lockedCase(ctx, tx, r, c); err != nil {
			return err
		}
		if !acc.IsLegal() {
			return errRecheckNotLegal
		}
		if acc.Legal.Realname != schemas.RealnameUnverified {
			return errAlreadyVerified
		}
		if err := tx.QueryRow(ctx, `UPDATE account SET realname_next_check_at = $2 WHERE id_bidx = $1
			RETURNING id, id_sealed, name, coalesce(rep_name, ''), coalesce(rep_id_type, ''), rep_id_sealed, rep_id_bidx, realname_attempts`,
			acc.IDBidx, s.cfg.Now().Add(realnameLease)).
			Scan(&check.ID, &check.CodeSealed, &check.Name, &check.RepName, &check.RepIDType, &check.RepIDSealed, &check.RepIDBidx, &check.Attempts); err != nil {
			return err
		}
		// The enterprise interface is asked next, outside any transaction:
		// audited before, so the ask is on record whatever happens after.
		return s.staffAuditIn(ctx, tx, r, c, staffAction{action: actionEvent("realname-recheck"), outcome: "started", account: acc.ID,
			bidx: acc.IDBidx, target: acc.IDHint, reason: reason})
	})
	if err := s.auditRefused(ctx, r, c, "realname-recheck", reason, acc, err); err != nil {
		return nil, err
	}
	k := s.cfg.Keyring
	code, err := account.OpenID(k, check.CodeSealed)
	if err != nil {
		return nil, err
	}
	e := Enterprise{CreditCode: code, Name: check.Name, RepName: check.RepName, RepIDType: check.RepIDType}
	if check.RepIDSealed != nil {
		if e.RepID, err = account.OpenRepID(k, check.RepIDSealed); err != nil {
			return nil, err
		}
	}
	verdict, verr := s.verifyEnterprise(ctx, e)
	if verr != nil {
		s.cfg.Logger.Warn("realname_check_failed", errAttr(verr))
	}
	return s.onAccount(ctx, r, c, "realname-recheck", reason, func(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
		now := s.cfg.Now()
		verified := false
		if verdict == Match {
			var err error
			if verified, err = account.SetCheckedVerified(ctx, tx, check, now); err != nil {
				return "", nil, err
			}
		}
		if verified {
			if err := markSessionsStale(ctx, tx, a.ID, now); err != nil {
				return "", nil, err
			}
			return "result=verified", &actionResult{Status: string(a.Status), Realname: "verified", done: "realname-verified"}, nil
		}
		if err := account.PostponeCheck(ctx, tx, a.ID, now.Add(s.realnameBackoff(check.Attempts+1))); err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("result=unverified; verdict=%v", verdict),
			&actionResult{Status: string(a.Status), Realname: "unverified", done: "realname-unverified"}, nil
	})
}

// actionForm is an action from the account page: back to the page with
// the action's notice, or the page again with the refusal.
func (s *Server) actionForm(act accountAction) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, c *staffCall) {
		res, err := s.runAction(r.Context(), r, c, act, r.PostFormValue("reason"))
		if err != nil {
			var refused *actionRefused
			if !errors.Is(err, errReasonRequired) && !errors.As(err, &refused) {
				s.fail(w, r, err)
				return
			}
			v, _, verr := s.accountOf(r, c)
			if verr != nil {
				s.fail(w, r, verr)
				return
			}
			p := problemOf(err)
			w.WriteHeader(p.status)
			s.render(w, r, "admin_account.html", pageData{Title: "账号详情", Staff: c.staffMember, Console: &consoleView{Account: v}, Error: p.message})
			return
		}
		http.Redirect(w, r, "/admin/accounts/"+url.PathEscape(r.PathValue("ref"))+"?done="+res.done, http.StatusSeeOther)
	}
}

// apiAction is an action in the API: {"reason": "…"}.
func (s *Server) apiAction(act accountAction) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, c *staffCall) {
		var in reasonRequest
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		res, err := s.runAction(r.Context(), r, c, act, in.Reason)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res.Notice = actionNotices[res.done]
		writeJSON(w, http.StatusOK, res)
	}
}
