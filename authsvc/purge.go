package authsvc

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/database"
)

// Purged counts what Purge removed.
type Purged struct {
	Sessions, Codes, FaceChallenges, OutboxMessages int64
	// Captchas are the image captchas; CaptchaFreeSends the addresses'
	// claims of their send without one.
	Captchas, CaptchaFreeSends int64
	// OIDCAuthRequests, OIDCTokens and OIDCSigningKeys are the provider's.
	OIDCAuthRequests, OIDCTokens, OIDCSigningKeys int64
	// LogoutTokens are the back-channel logout tokens delivered or given
	// up (the sessions' business systems go with the sessions).
	LogoutTokens int64
	// AgentSearchTries are 创建经办人's misses older than the day the
	// limit counts them (agents.go).
	AgentSearchTries int64
	// StaffSessions are the staff's sessions that ended (staff.go).
	StaffSessions int64
}

// purgeKeep is how long Purge keeps what has ended: a day, which also
// covers the SMS limits' 24 h count.
const purgeKeep = 24 * time.Hour

// The statements of Purge; $1 is the cutoff, now less purgeKeep. Each
// deletes by its table's expiry index: a revoked session and a used code
// have their expires_at brought back to the revocation or the use
// (revoke, signIn, checkCode), so expires_at is when they ended, and
// "revoked or past its absolute end" is one range of that index. The
// development outbox has no index; it is a few messages and never in
// production.
const (
	purgeSessionsSQL      = `DELETE FROM auth_session WHERE expires_at < $1`
	purgeStaffSessionsSQL = `DELETE FROM staff_session WHERE expires_at < $1`
	purgeCodesSQL         = `DELETE FROM sms_code WHERE expires_at < $1`
	purgeFaceSQL          = `DELETE FROM face_challenge WHERE expires_at < $1`
	purgeOutboxSQL        = `DELETE FROM sms_outbox WHERE created_at < $1`
	// A used captcha has its expires_at brought back to the use
	// (useCaptcha); a free send's claim counts for captchaAddressWindow,
	// less than the day.
	purgeCaptchasSQL  = `DELETE FROM captcha WHERE expires_at < $1`
	purgeFreeSendsSQL = `DELETE FROM captcha_free_send WHERE claimed_at < $1`
	// A token ended (revoked or expired: revokeSet brings expires_at back)
	// more than a day ago goes once nothing of its grant is live or ended
	// within the day: reuse detection needs the spent refresh tokens of a
	// grant while it lives, to revoke it when one comes back.
	// A refresh token's hash goes with it (oidc_refresh_hash, its lookup
	// table: the same condition, in the same statement).
	purgeTokensSQL = `WITH hashes AS (
			DELETE FROM oidc_refresh_hash h USING oidc_token t WHERE h.hash = t.hash AND t.expires_at < $1
			AND NOT EXISTS (SELECT 1 FROM oidc_token g WHERE g.auth_request_id = t.auth_request_id AND g.expires_at >= $1))
		DELETE FROM oidc_token t WHERE t.expires_at < $1
		AND NOT EXISTS (SELECT 1 FROM oidc_token g WHERE g.auth_request_id = t.auth_request_id AND g.expires_at >= $1)`
	// An authorization request lives at most a day (OIDCAuthRequestTTL is
	// capped at that), so one created two days ago ended more than a day
	// ago; code reuse detection needs it while tokens of its grant remain.
	// Its code's lookup row (oidc_auth_code) goes with it.
	purgeAuthRequestsSQL = `WITH codes AS (
			DELETE FROM oidc_auth_code c USING oidc_auth_request r WHERE c.request_id = r.id AND r.created_at < $1::timestamptz - interval '1 day'
			AND NOT EXISTS (SELECT 1 FROM oidc_token t WHERE t.auth_request_id = r.id))
		DELETE FROM oidc_auth_request r WHERE r.created_at < $1::timestamptz - interval '1 day'
		AND NOT EXISTS (SELECT 1 FROM oidc_token t WHERE t.auth_request_id = r.id)`
	// A signing key past its verification window is in no JWKS any more;
	// the active key's window is ahead of it.
	purgeSigningKeysSQL = `DELETE FROM oidc_signing_key WHERE retire_after < $1 AND active_until < $1`
	// A logout token delivered or given up more than a day ago.
	purgeLogoutTokensSQL = `DELETE FROM oidc_logout_outbox WHERE delivered_at < $1 OR failed_at < $1`
	// 创建经办人's misses count for agentSearchWindow, a day.
	purgeAgentTriesSQL = `DELETE FROM agent_search_try WHERE at < $1`
	// A username held by a registration whose flow went with its session
	// (purgeSessionsSQL, before it): the lookup table is in another
	// colocation group, no foreign key removes it (docs/scale-out.md §3.2).
	// $1 is unused: every statement of Purge takes the cutoff.
	purgeUsernameClaimsSQL = `DELETE FROM registration_username u WHERE $1::timestamptz IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM registration_flow f WHERE f.session_hash = u.session_hash)`
)

// Purge deletes what the login service no longer needs at now: sessions
// ended (revoked, or past their absolute end) for more than a day, SMS
// codes expired or used for more than a day (the limits count codes of the
// last 24 h, so keep those), face challenges expired for more than a day,
// development outbox messages older than a day, image captchas ended and
// captcha-free sends claimed more than a day ago, the OpenID provider's
// tokens and authorization requests ended more than a day ago (but those
// of a grant still live: reuse detection needs them) and signing keys
// retired from verifying more than a day ago, and back-channel logout
// tokens delivered or given up more than a day ago, and 创建经办人's
// misses older than a day. The audit log is kept (it
// is the record). It runs in one transaction: it removes all of that or
// nothing. The scheduler runs it as the "purge_auth" job.
func Purge(ctx context.Context, pool *pgxpool.Pool, now time.Time) (_ Purged, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("authsvc.Purge(%s): %w", now.Format(time.RFC3339), err)
		}
	}()
	cutoff := now.Add(-purgeKeep)
	var p Purged
	err = database.Transact(ctx, pool, func(tx pgx.Tx) error {
		p = Purged{}
		for _, st := range []struct {
			sql string
			n   *int64
		}{
			{purgeSessionsSQL, &p.Sessions},
			{purgeUsernameClaimsSQL, new(int64)},
			{purgeCodesSQL, &p.Codes},
			{purgeFaceSQL, &p.FaceChallenges},
			{purgeOutboxSQL, &p.OutboxMessages},
			{purgeCaptchasSQL, &p.Captchas},
			{purgeFreeSendsSQL, &p.CaptchaFreeSends},
			{purgeTokensSQL, &p.OIDCTokens},
			{purgeAuthRequestsSQL, &p.OIDCAuthRequests},
			{purgeSigningKeysSQL, &p.OIDCSigningKeys},
			{purgeLogoutTokensSQL, &p.LogoutTokens},
			{purgeAgentTriesSQL, &p.AgentSearchTries},
			{purgeStaffSessionsSQL, &p.StaffSessions},
		} {
			tag, err := tx.Exec(ctx, st.sql, cutoff)
			if err != nil {
				return err
			}
			*st.n = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return Purged{}, err
	}
	return p, nil
}
