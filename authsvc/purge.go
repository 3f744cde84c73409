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
	purgeSessionsSQL = `DELETE FROM auth_session WHERE expires_at < $1`
	purgeCodesSQL    = `DELETE FROM sms_code WHERE expires_at < $1`
	purgeFaceSQL     = `DELETE FROM face_challenge WHERE expires_at < $1`
	purgeOutboxSQL   = `DELETE FROM sms_outbox WHERE created_at < $1`
)

// Purge deletes what the login service no longer needs at now: sessions
// ended (revoked, or past their absolute end) for more than a day, SMS
// codes expired or used for more than a day (the limits count codes of the
// last 24 h, so keep those), face challenges expired for more than a day,
// development outbox messages older than a day. The audit log is kept (it
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
			{purgeCodesSQL, &p.Codes},
			{purgeFaceSQL, &p.FaceChallenges},
			{purgeOutboxSQL, &p.OutboxMessages},
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
