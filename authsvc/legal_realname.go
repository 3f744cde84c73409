package authsvc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// Real-name verification of legal accounts after registration: the
// scheduled re-check of the unverified ones (2.2.5: 系统会定时自动实名
// 认证), and 实名等级升级 (2.2.5, 2.2.6), where a legal account's holder
// corrects its name, type or representative and has them verified again.
// A verification that changes the account takes effect at the next login:
// the account's sessions are marked stale, and a stale session's next
// request is told 认证成功，请重新登录.

// RecheckResult counts one run of the scheduled re-check.
type RecheckResult struct {
	Checked, Verified int
}

// RecheckRealname is one run of the scheduled re-check: it claims up to
// RealnameBatch unverified legal accounts whose check is due
// (account.ClaimRealnameChecks: a lease of realnameLease, so two instances
// never check one account and no row stays locked while the interface is
// asked), asks the verifier about each, and marks a match verified
// (source 'scheduled', audited) and the account's sessions stale: the new
// status takes effect at the next login. No verdict, a mismatch or an
// error postpone the next check with exponential backoff (RealnameBackoff
// doubled per attempt, at most RealnameMaxBackoff).
func (s *Server) RecheckRealname(ctx context.Context) (RecheckResult, error) {
	var res RecheckResult
	k := s.cfg.Keyring
	due, err := account.ClaimRealnameChecks(ctx, s.pool, s.cfg.Now(), realnameLease, s.cfg.RealnameBatch)
	if err != nil {
		return res, err
	}
	for _, c := range due {
		res.Checked++
		code, err := account.OpenID(k, c.CodeSealed)
		if err != nil {
			return res, err
		}
		e := Enterprise{CreditCode: code, Name: c.Name, RepName: c.RepName, RepIDType: c.RepIDType}
		if c.RepIDSealed != nil {
			if e.RepID, err = account.OpenRepID(k, c.RepIDSealed); err != nil {
				return res, err
			}
		}
		verdict, verr := s.verifyEnterprise(ctx, e)
		if verdict == Match {
			verified, err := s.realnameVerified(ctx, c, account.CreditCodeHint(code))
			if err != nil {
				return res, err
			}
			if verified {
				res.Verified++
				continue
			}
		}
		if verr != nil {
			s.cfg.Logger.Warn("realname_check_failed", errAttr(verr))
		}
		if err := account.PostponeCheck(ctx, s.pool, c.ID, s.cfg.Now().Add(s.realnameBackoff(c.Attempts+1))); err != nil {
			return res, err
		}
	}
	return res, nil
}

// realnameLease is how long a claimed check keeps its account from other
// instances of the job: longer than a batch's calls to the interface.
const realnameLease = 30 * time.Minute

// realnameVerified records a scheduled check's match: the audit row first
// (see signIn), the account verified if it still has the values checked,
// and its sessions stale, in one transaction. false when the account
// changed meanwhile (nothing written: it is checked again).
func (s *Server) realnameVerified(ctx context.Context, c account.RealnameCheck, codeHint string) (verified bool, err error) {
	now := s.cfg.Now()
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.auditIn(ctx, tx, auditEvent{event: "realname_scheduled", outcome: "ok", account: c.ID, subject: codeHint}); err != nil {
			return err
		}
		if verified, err = account.SetCheckedVerified(ctx, tx, c, now); err != nil || !verified {
			if err == nil {
				err = errValuesChanged
			}
			return err
		}
		return markSessionsStale(ctx, tx, c.ID, now)
	})
	if errors.Is(err, errValuesChanged) {
		return false, nil
	}
	return verified, err
}

// errValuesChanged rolls back a scheduled verification of values the
// account no longer has.
var errValuesChanged = errors.New("the account's values changed since the check")

// markSessionsStale marks the account's current sessions stale: their
// next request is told to log in again (errSessionStale).
func markSessionsStale(ctx context.Context, tx pgx.Tx, accountID int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE auth_session SET stale_at = $2 WHERE account_id = $1 AND revoked_at IS NULL AND stale_at IS NULL`, accountID, now)
	return err
}

// realnameBackoff is the wait after the attempts-th check without a
// verdict.
func (s *Server) realnameBackoff(attempts int) time.Duration {
	d := s.cfg.RealnameBackoff
	for i := 0; i < attempts && d < s.cfg.RealnameMaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.RealnameMaxBackoff)
}

// errNotLegal: the page is a legal account's.
var errNotLegal = errors.New("not a legal account")

// errUpgradeFailed: the enterprise interface did not confirm an upgrade.
var errUpgradeFailed = errors.New("the enterprise interface did not confirm")

// upgradeFailedMessage is the seed's answer (2.2.5) to a verification
// that does not pass.
const upgradeFailedMessage = "认证未通过：请核对填写的企业及法定代表人信息后重新认证。因国家接口数据延迟，信息无误时也可能暂未通过，" +
	"您可稍后再试，或发送“营业执照照片及法人证件照片”至服务邮箱 service@digitalhainan.com.cn，我们核实后会为您处理。"

// legalAccountOf is the session's legal account; errNotLegal when it is
// a citizen's.
func (s *Server) legalAccountOf(ctx context.Context, sess *session) (*account.Account, error) {
	a, err := account.ByID(ctx, s.pool, sess.accountID, false)
	if err != nil {
		return nil, err
	}
	if !a.IsLegal() || a.Legal == nil {
		return nil, errNotLegal
	}
	return a, nil
}

// upgradeRealname verifies a legal account's corrected values (not its
// credit code or login name) and, on a match, writes them verified and
// marks the account's sessions stale, in one transaction.
func (s *Server) upgradeRealname(ctx context.Context, r *http.Request, sess *session, in legalInfoInput) error {
	a, err := s.legalAccountOf(ctx, sess)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	c := checkLegalInfo(in, fe)
	if len(fe) > 0 {
		return fe
	}
	k := s.cfg.Keyring
	code, err := account.OpenID(k, a.IDSealed)
	if err != nil {
		return err
	}
	verdict, verr := s.verifyEnterprise(ctx, Enterprise{CreditCode: code, Name: c.name, RepName: c.repName, RepIDType: c.repIDType, RepID: c.repID})
	if verdict != Match {
		detail := "verifier: " + string(verdict)
		if verr != nil {
			detail = "verifier: " + verr.Error()
		}
		s.audit(ctx, auditEvent{event: "realname_upgrade", outcome: "fail", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r), detail: detail})
		return errUpgradeFailed
	}
	now := s.cfg.Now()
	return database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		// The audit row first, then the account's: see signIn.
		if err := s.auditIn(ctx, tx, auditEvent{event: "realname_upgrade", outcome: "ok", account: a.ID, bidx: a.IDBidx, subject: a.IDHint, ip: clientIP(r),
			detail: "verified; sessions stale"}); err != nil {
			return err
		}
		if err := account.ApplyLegalUpgrade(ctx, tx, a.ID, account.LegalUpgrade{Type: c.legalType, Name: c.name, RepName: c.repName,
			RepIDType: c.repIDType, RepIDSealed: account.SealRepID(k, c.repID), RepIDBidx: account.IDIndex(k, c.repID), RepIDHint: pii.MaskID(c.repID),
			RepNationality: c.repNat, RepValidFrom: c.validFrom, RepValidTo: c.validTo}, now); err != nil {
			return err
		}
		return markSessionsStale(ctx, tx, a.ID, now)
	})
}

// realnameJSON is a legal account's real-name page as JSON: what it may
// change, masked where the center masks.
func realnameJSON(a *account.Account) map[string]any {
	l := a.Legal
	return map[string]any{
		"realname_status": string(l.Realname), "realname_label": l.Realname.Label(),
		"name": a.Name, "credit_code_hint": a.IDHint, "legal_type": string(l.Type), "legal_type_label": l.Type.Label(),
		"rep_name": pii.MaskPersonName(l.RepName), "rep_id_hint": l.RepIDHint,
	}
}

func (s *Server) legalRealnameRoutes() []route {
	return []route{
		{"GET /settings/legal/realname", s.full(s.realnamePage)},
		{"POST /settings/legal/realname", s.limited(s.full(s.realnameForm))},
		{"GET /api/v1/settings/legal/realname", s.full(s.apiRealname)},
		{"POST /api/v1/settings/legal/realname", s.limited(s.full(s.apiRealnameUpgrade))},
	}
}

func (s *Server) apiRealname(w http.ResponseWriter, r *http.Request, sess *session) {
	a, err := s.legalAccountOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, realnameJSON(a))
}

func (s *Server) apiRealnameUpgrade(w http.ResponseWriter, r *http.Request, sess *session) {
	var in legalInfoInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.upgradeRealname(r.Context(), r, sess, in); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "verified", "message": staleMessage, "next": "/login"})
}

// realnamePage is 实名等级升级: the real-name status and a form of what
// may change; the credit code and the login name are shown, not editable.
func (s *Server) realnamePage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderRealname(w, r, sess, pageData{})
}

func (s *Server) renderRealname(w http.ResponseWriter, r *http.Request, sess *session, d pageData) {
	a, err := s.legalAccountOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := a.Legal
	v := &legalView{Step: "upgrade", LegalTypes: legalTypeOptions(), IDTypes: idTypes, Name: a.Name, CodeHint: a.IDHint,
		Realname: l.Realname.Label(), Verified: l.Realname == schemas.RealnameVerified}
	if d.Legal != nil {
		v.In = d.Legal.In
	} else {
		v.In = legalInfoInput{LegalType: string(l.Type), Name: a.Name, RepName: l.RepName, RepIDType: l.RepIDType, RepNationality: l.RepNationality}
	}
	d.Title, d.Legal = "实名等级升级", v
	s.render(w, r, "legal_register.html", d)
}

func (s *Server) realnameForm(w http.ResponseWriter, r *http.Request, sess *session) {
	in := legalInfoOf(r)
	if err := s.upgradeRealname(r.Context(), r, sess, in); err != nil {
		p := problemOf(err)
		if p.status == http.StatusInternalServerError || p.code == "unauthenticated" || p.code == "not_legal" {
			s.fail(w, r, err)
			return
		}
		in.RepIDNumber = ""
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		s.renderRealname(w, r, sess, pageData{Error: p.message, Fields: p.fields, Legal: &legalView{In: in}})
		return
	}
	clearCookie(w)
	s.render(w, r, "error.html", pageData{Title: "认证成功", Error: staleMessage})
}
