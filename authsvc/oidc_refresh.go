package authsvc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// Refresh token rotation with a grace window.
//
// Every refresh rotates the refresh token: the one presented is spent
// (revoked_at) and a successor issued. A spent token presented again is a
// reuse, and ends the whole grant (refreshReused, RFC 9700 §4.14.2), but
// a business system refreshing one session from several requests at once
// (a page's parallel calls, two instances behind a balancer) presents the
// same token a few times within moments. So for Config.OIDCRefreshGrace
// after its rotation a token gets what the rotation got: the same
// successor refresh token (kept sealed with the keyring on the spent
// token's row, the successor's own row keeping only its hash) with a new
// access token, as long as that successor is live, that is neither
// rotated nor revoked itself. After the window, or once the successor was
// rotated (an older ancestor), or revoked, it is a reuse. Every refusal
// is invalid_grant (RFC 6749 §5.2).

// errRefreshRefused is the answer to a refresh token that is unknown,
// expired, revoked, spent beyond the grace window, or of an account no
// longer active.
var errRefreshRefused = oidc.ErrInvalidGrant().WithDescription("refresh token invalid, expired, revoked or already used")

// successorAAD binds a sealed successor to the row it names.
func successorAAD(id string) []byte { return []byte("oidc_refresh_successor " + id) }

// newRefreshToken is a refresh token (32 random bytes) and the id of its
// row.
func newRefreshToken() (id, token string, err error) {
	if id, err = randomID(); err != nil {
		return "", "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	return id, base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// rotate spends the refresh token current, of grant g, and issues its
// successor, in tx. Spent already (a concurrent request rotated it
// first): within the grace window the successor that rotation issued,
// with its grant (graced); else errRefreshSpent.
func (st oidcStorage) rotate(ctx context.Context, tx pgx.Tx, g tokenGrant, current string, now time.Time) (_ tokenGrant, refresh string, graced bool, err error) {
	id, refresh, err := newRefreshToken()
	if err != nil {
		return g, "", false, err
	}
	tag, err := tx.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(2)+`, successor_id = $3, successor_sealed = $4
		WHERE hash = $1 AND kind = 'refresh' AND revoked_at IS NULL AND expires_at > $2
		  AND `+account.ActiveSQL("account_id")+` AND `+actingLiveSQL("acting_for", "account_id"), sha(current), now, id, st.s.cfg.Keyring.Seal([]byte(refresh), successorAAD(id)))
	if err != nil {
		return g, "", false, err
	}
	if tag.RowsAffected() == 1 {
		return g, refresh, false, st.insertToken(ctx, tx, id, sha(refresh), "refresh", g, now, now.Add(st.s.cfg.OIDCRefreshTokenTTL))
	}
	// The row is locked until the rotation that spent it commits: what
	// it issued is visible now.
	sg, refresh, err := st.graceSuccessor(ctx, tx, current, now)
	if errors.Is(err, database.ErrNotFound) {
		return g, "", false, errRefreshSpent
	}
	return sg, refresh, err == nil, err
}

// graceSuccessor is the live successor of the refresh token, rotated
// within the grace window, and its grant; database.ErrNotFound if there
// is none.
func (st oidcStorage) graceSuccessor(ctx context.Context, q querier, token string, now time.Time) (tokenGrant, string, error) {
	var g tokenGrant
	var id string
	var ar *string
	var sealed []byte
	var acting *int64
	err := q.QueryRow(ctx, `SELECT s.id, s.account_id, s.account_bidx, s.subject, s.client_id, s.scopes, s.auth_time, s.auth_request_id, s.amr, p.successor_sealed, s.acting_for
		FROM oidc_token p JOIN oidc_token s ON s.id = p.successor_id
		WHERE p.hash = $1 AND p.kind = 'refresh' AND p.revoked_at > $2
		  AND s.revoked_at IS NULL AND s.expires_at > $3 AND `+account.ActiveSQL("s.account_id")+`
		  AND `+actingLiveSQL("s.acting_for", "s.account_id"),
		sha(token), now.Add(-st.s.cfg.OIDCRefreshGrace), now).
		Scan(&id, &g.accountID, &g.accountBidx, &g.subject, &g.clientID, &g.scopes, &g.authTime, &ar, &g.amr, &sealed, &acting)
	if err != nil {
		return g, "", database.Translate(err)
	}
	if acting != nil {
		g.actingFor = *acting
	}
	if ar != nil {
		g.authRequestID = *ar
	}
	refresh, err := st.s.cfg.Keyring.Open(sealed, successorAAD(id))
	return g, string(refresh), err
}
