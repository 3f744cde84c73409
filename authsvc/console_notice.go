package authsvc

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/schemas"
)

// resend-notice (客服): a citizen or an enterprise who calls because they
// do not know how to get in (the seed's "why does it say I am
// registered") is sent the account's notice again on its bound phone:
// how to sign in and, for a fused account, that the first login asks for
// ① info ② password ③ face. A notice holds no code, no secret and no
// part of the account's data; a phone is sent at most noticeDaily
// notices a day and one per noticeGap, whichever of its accounts they are
// for (counted from the audit under a lock of the phone, so that parallel
// requests cannot pass it), so that the help desk cannot be made to flood
// a phone.

const (
	noticeGap   = 10 * time.Minute
	noticeDaily = 3
)

// errNoticeFailed: the notice was recorded but the SMS gateway refused it.
var errNoticeFailed = fmt.Errorf("resend-notice: SMS not sent")

// accountNotice is the notice of the account a, by its kind and status.
func accountNotice(a *account.Account) string {
	switch {
	case a.Status == schemas.StatusPendingCompletion && a.IsLegal():
		return "【统一身份认证】贵单位在统一身份认证平台已有法人账号，由各部门原有的用户信息合并生成。首次登录请在登录页选择“法人登录”，使用手机验证码登录，并按提示依次完善信息、设置密码、完成刷脸认证。如有疑问请联系客服。"
	case a.Status == schemas.StatusPendingCompletion:
		return "【统一身份认证】您在统一身份认证平台已有账号，由各部门原有的用户信息合并生成。首次登录请在登录页使用手机验证码或刷脸登录，并按提示依次完善信息、设置密码、完成刷脸认证。如有疑问请联系客服。"
	case a.IsLegal():
		return "【统一身份认证】贵单位的统一身份认证法人账号可正常使用，请在登录页选择“法人登录”，使用账号密码或手机验证码登录；忘记密码请点击“忘记密码”重新设置。如有疑问请联系客服。"
	default:
		return "【统一身份认证】您的统一身份认证账号可正常使用，可在登录页使用账号密码、手机验证码或刷脸登录；忘记密码请点击“忘记密码”重新设置。如有疑问请联系客服。"
	}
}

// runResendNotice records the notice as started (its audit row, what the
// limit counts) in one transaction with the account's row locked, then
// sends it once committed and audits the outcome, ok or failed: a failed
// send is reported, and counts towards the limit.
func (s *Server) runResendNotice(ctx context.Context, r *http.Request, c *staffCall, reason string) (*actionResult, error) {
	ctx = context.WithoutCancel(ctx)
	var phone, text string
	var acc *account.Account
	res, err := s.onAccount(ctx, r, c, "resend-notice", reason, func(ctx context.Context, tx pgx.Tx, a *account.Account) (string, *actionResult, error) {
		acc = a
		if a.Status != schemas.StatusActive && a.Status != schemas.StatusPendingCompletion {
			return "", nil, errNoticeUnusable
		}
		if a.PhoneSealed == nil {
			return "", nil, errNoticeNoPhone
		}
		now := s.cfg.Now()
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('notice:' || encode($1::bytea, 'hex'), 7))`, a.PhoneBidx); err != nil {
			return "", nil, err
		}
		var sent int
		var last *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), max(au.at) FROM account x JOIN auth_audit au ON au.account_id = x.id
			WHERE x.phone_bidx = $1 AND au.event = 'admin_resend_notice' AND au.outcome = 'started' AND au.at > $2`,
			a.PhoneBidx, now.Add(-24*time.Hour)).Scan(&sent, &last); err != nil {
			return "", nil, err
		}
		if sent >= noticeDaily || last != nil && now.Sub(*last) < noticeGap {
			return "", nil, errNoticeTooSoon
		}
		var err error
		if phone, err = account.OpenPhone(s.cfg.Keyring, a.PhoneSealed); err != nil {
			return "", nil, err
		}
		text = accountNotice(a)
		return "phone=" + a.PhoneHint, &actionResult{Status: string(a.Status), done: "resend-notice", outcome: "started"}, nil
	})
	if err != nil {
		return nil, err
	}
	sendErr := s.cfg.SMS.Send(ctx, phone, text)
	outcome := "ok"
	if sendErr != nil {
		s.cfg.Logger.Error("staff_notice_failed", errAttr(sendErr))
		outcome = "failed"
	}
	if err := s.staffAuditIn(ctx, s.pool, r, c, staffAction{action: actionEvent("resend-notice"), outcome: outcome, account: acc.ID,
		bidx: acc.IDBidx, target: acc.IDHint, reason: reason, detail: "phone=" + acc.PhoneHint}); err != nil {
		return nil, err
	}
	if sendErr != nil {
		return nil, errNoticeFailed
	}
	return res, nil
}
