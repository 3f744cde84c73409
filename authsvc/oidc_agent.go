package authsvc

import (
	"context"
	"errors"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// Single sign-on in an agent's identity (经办人, 2.3). A natural person
// whose session acts for an enterprise (auth_session.acting_for) signs in
// to business systems in that identity: the authorization request records
// it when it completes (oidc_auth_request.acting_for, completeRequest),
// and every token of the grant and of its refreshes carries it
// (oidc_token.acting_for). A client registered for ScopeAgent learns it
// from the "act" claim of the ID token and userinfo; the token's sub and
// account_type stay the natural person's. A client without the scope sees
// the person only, but its tokens are the identity's all the same: they
// end with it. The identity holds only while
// its authorization is enabled and the account's: the code, every token
// use and every refresh check it (actingLiveSQL), so a disable or a
// revocation stops them at once, whatever revoked or did not revoke the
// rows (endActing does too). A switch of identity ends the old session's
// business systems (endProviderSession), and with them the tokens of the
// previous identity.

// actingLiveSQL is the condition that the identity col (an
// agent_authorization id, NULL for the citizen's own) holds for the
// account accountExpr: NULL, or an authorization that is enabled, whose
// agent is that account, and whose legal account is active (a disabled
// or locked enterprise has no one acting for it). Sessions and tokens
// alike hold by it.
func actingLiveSQL(col, accountExpr string) string {
	return `(` + col + ` IS NULL OR EXISTS (SELECT 1 FROM agent_authorization ag
		WHERE ag.id = ` + col + ` AND ag.agent_account_id = ` + accountExpr + ` AND ` + actableSQL("ag") + `))`
}

// actingArg is the SQL value of an identity: NULL for the citizen's own.
func actingArg(actingFor int64) *int64 {
	if actingFor == 0 {
		return nil
	}
	return &actingFor
}

// errActingEnded: the identity of a token is no longer enabled.
var errActingEnded = errors.New("the agent's authorization of the token is no longer enabled")

// actClaim sets the "act" claim of a grant in an agent's identity, under
// ScopeAgent: the natural person's subject, and the credit code and name
// of the enterprise acted for. Nothing in the person's own identity, or
// without the scope.
func (s *Server) actClaim(ctx context.Context, info *oidc.UserInfo, actingFor, accountID int64, scopes []string) error {
	if actingFor == 0 || !slices.Contains(scopes, ScopeAgent) {
		return nil
	}
	var legalID int64
	err := s.pool.QueryRow(ctx, `SELECT g.legal_account_id FROM agent_authorization g
		WHERE g.id = $1 AND g.agent_account_id = $2 AND `+actableSQL("g"), actingFor, accountID).Scan(&legalID)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return errActingEnded
	}
	if err != nil {
		return err
	}
	legal, err := account.ByID(ctx, s.pool, legalID, false)
	if err != nil {
		return err
	}
	code, err := s.idNumber(legal) // a legal account's id_sealed is its credit code
	if err != nil {
		return err
	}
	info.AppendClaims("act", map[string]any{"sub": s.subject(accountID), "credit_code": code, "enterprise_name": legal.Name})
	return nil
}
