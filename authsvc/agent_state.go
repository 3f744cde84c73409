package authsvc

// The authorization of an agent (经办人, 2.2.7, 2.2.8, 2.3): a legal
// account authorizes a natural person's account to act for it. Its state
// changes only by the transitions below, each made by its own party with
// a conditional UPDATE on the state it was decided on, audited in the same
// transaction.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
)

// AgentState is the state of an agent's authorization
// (agent_authorization.state).
type AgentState string

// The states of an authorization: pending until the agent answers (24
// hours at most), enabled or disabled by the legal person, and the ended
// ones.
const (
	AgentPending  AgentState = "pending"  // 验证中
	AgentEnabled  AgentState = "enabled"  // 启用
	AgentDisabled AgentState = "disabled" // 禁用
	AgentRefused  AgentState = "refused"  // 已拒绝
	AgentExpired  AgentState = "expired"  // 已过期
	AgentRevoked  AgentState = "revoked"  // 已撤销
)

// Label is the state as the pages name it (账户状态).
func (s AgentState) Label() string {
	switch s {
	case AgentPending:
		return "验证中"
	case AgentEnabled:
		return "启用"
	case AgentDisabled:
		return "禁用"
	case AgentRefused:
		return "已拒绝"
	case AgentExpired:
		return "已过期"
	case AgentRevoked:
		return "已撤销"
	}
	return string(s)
}

// actableSQL is the condition that the authorization aliased g may be
// acted under: enabled, and its legal account active (a disabled or
// locked enterprise has no one acting for it). Every place that offers,
// takes or honours an identity asks this one condition.
func actableSQL(g string) string {
	return g + `.state = 'enabled' AND ` + account.ActiveSQL(g+".legal_account_id")
}

// AgentLinkTTL is how long an authorization waits for the agent's answer.
const AgentLinkTTL = 24 * time.Hour

// agentAction is a transition of an authorization.
type agentAction string

const (
	agentAccept  agentAction = "accept"  // the agent: 接受
	agentRefuse  agentAction = "refuse"  // the agent: 拒绝
	agentEnable  agentAction = "enable"  // the legal person: 启用
	agentDisable agentAction = "disable" // the legal person: 禁用
	agentRevoke  agentAction = "revoke"  // the legal person: 撤销
)

// agentParty is who may make a transition.
type agentParty string

const (
	partyAgent agentParty = "agent" // the authorized natural person
	partyLegal agentParty = "legal" // the authorizing legal person
)

// agentTransition is one row of the state machine.
type agentTransition struct {
	party agentParty
	from  []AgentState
	to    AgentState
}

// agentTransitions is the whole state machine: the party of each action,
// the states it leaves, and the state it reaches. Nothing else changes a
// state but expiry (expireAgents), and nothing leaves an ended one.
var agentTransitions = map[agentAction]agentTransition{
	agentAccept:  {partyAgent, []AgentState{AgentPending}, AgentEnabled},
	agentRefuse:  {partyAgent, []AgentState{AgentPending}, AgentRefused},
	agentEnable:  {partyLegal, []AgentState{AgentDisabled}, AgentEnabled},
	agentDisable: {partyLegal, []AgentState{AgentEnabled}, AgentDisabled},
	agentRevoke:  {partyLegal, []AgentState{AgentPending, AgentEnabled, AgentDisabled}, AgentRevoked},
}

// errAgentTransition refuses a transition: not the actor's (another
// party, another account), not from the authorization's state (done
// already, ended, or raced by another), or a pending one past its 24
// hours.
var errAgentTransition = errors.New("the authorization cannot make this change")

// changeAgent makes action on authorization id as the account actor, at
// now, in one transaction: the audit row first (see signIn), then one
// conditional UPDATE that holds only when actor is the action's party of
// this authorization, the state is one it leaves, and a pending one has
// not expired. Leaving enabled (disable, revoke) ends at once the
// sessions acting for it and the tokens issued to them. It returns the new
// state, or errAgentTransition (audited as refused).
func (s *Server) changeAgent(ctx context.Context, id int64, action agentAction, actor int64, now time.Time) (AgentState, error) {
	t, ok := agentTransitions[action]
	if !ok {
		return "", fmt.Errorf("agent: unknown action %q", action)
	}
	from := make([]string, len(t.from))
	for i, f := range t.from {
		from[i] = string(f)
	}
	e := auditEvent{event: "agent_" + string(action), outcome: "ok", account: actor, detail: fmt.Sprintf("authorization %d", id)}
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.auditIn(ctx, tx, e); err != nil {
			return err
		}
		var was AgentState
		var link []byte
		err := tx.QueryRow(ctx, `UPDATE agent_authorization a SET state = $3, changed_at = $4, link_hash = NULL
			FROM agent_authorization old
			WHERE a.id = $1 AND old.id = a.id AND a.state = ANY($2)
			  AND (CASE $5 WHEN 'legal' THEN a.legal_account_id ELSE a.agent_account_id END) = $6
			  AND (a.state <> 'pending' OR a.expires_at > $4)
			RETURNING old.state, old.link_hash`, id, from, string(t.to), now, string(t.party), actor).Scan(&was, &link)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			return errAgentTransition
		}
		if err != nil {
			return err
		}
		if err := dropAgentLinks(ctx, tx, [][]byte{link}); err != nil {
			return err
		}
		if was == AgentEnabled && t.to != AgentEnabled {
			return endActing(ctx, tx, id, now)
		}
		return nil
	})
	if errors.Is(err, errAgentTransition) {
		e.outcome = "refused"
		s.audit(ctx, e)
		return "", err
	}
	if err != nil {
		return "", err
	}
	return t.to, nil
}

// endActing ends the sessions acting for authorization id, their business
// systems' sign-ins, and every token issued for that identity.
func endActing(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	rows, err := tx.Query(ctx, `UPDATE auth_session SET revoked_at = $2, expires_at = LEAST(expires_at, $2)
		WHERE acting_for = $1 AND revoked_at IS NULL RETURNING id_hash`, id, now)
	if err != nil {
		return err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	if _, err := endProviderSessionsIn(ctx, tx, ended, now); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE oidc_token SET `+revokeSet(2)+` WHERE acting_for = $1 AND revoked_at IS NULL`, id, now)
	return err
}

// expireAgents marks expired the pending authorizations whose 24 hours
// are over, so lists show 已过期 (a transition refuses them anyway).
func expireAgents(ctx context.Context, q querier, now time.Time) error {
	// One statement: the links' lookup rows go with them, also on a pool.
	_, err := q.Exec(ctx, `WITH spent AS (UPDATE agent_authorization a SET state = 'expired', changed_at = a.expires_at, link_hash = NULL
			FROM agent_authorization old
			WHERE old.id = a.id AND a.state = 'pending' AND a.expires_at <= $1
			RETURNING old.link_hash)
		DELETE FROM agent_link WHERE link_hash IN (SELECT link_hash FROM spent)`, now)
	return err
}

// dropAgentLinks deletes the lookup rows (agent_link) of links spent:
// their authorizations' link_hash was set NULL in the same transaction.
func dropAgentLinks(ctx context.Context, q querier, links [][]byte) error {
	links = slices.DeleteFunc(links, func(b []byte) bool { return b == nil })
	if len(links) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, `DELETE FROM agent_link WHERE link_hash = ANY($1)`, links)
	return err
}

// agentActionOf is the action of a form's or a request's name; ok false
// for an unknown one.
func agentActionOf(name string) (agentAction, bool) {
	_, ok := agentTransitions[agentAction(name)]
	return agentAction(name), ok
}
