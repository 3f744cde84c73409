package authsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// authorize inserts an authorization of agent by legal in state, made at
// the bundle's now (a pending one expires AgentLinkTTL later).
func (b *testBundle) authorize(t testing.TB, legal, agent int64, state AgentState) int64 {
	t.Helper()
	now := b.clock.Now()
	var link []byte
	if state == AgentPending {
		link = []byte(fmt.Sprintf("link-%d-%d-%d", legal, agent, now.UnixNano()))
	}
	var id int64
	err := b.pool.QueryRow(context.Background(), `INSERT INTO agent_authorization (legal_account_id, legal_account_bidx, agent_account_id, state, link_hash, created_at, expires_at, changed_at)
		SELECT $1, id_bidx, $2, $3, $4, $5, $6, $5 FROM account WHERE id = $1 RETURNING id`, legal, agent, string(state), link, now, now.Add(AgentLinkTTL)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if link != nil {
		if _, err := b.pool.Exec(context.Background(), `INSERT INTO agent_link SELECT link_hash, legal_account_bidx, id FROM agent_authorization WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (b *testBundle) agentState(t testing.TB, id int64) AgentState {
	t.Helper()
	var st AgentState
	if err := b.pool.QueryRow(context.Background(), `SELECT state FROM agent_authorization WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAgentTransitions: the state machine, every action from every state
// by every actor: only the action's own party, of this authorization,
// from a state the action leaves, moves it; a pending one past its 24
// hours moves no more; each refusal is audited and changes nothing.
func TestAgentTransitions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912350001", goodPassword)
	otherLegal := b.activeLegal(t, "海南椰林贸易有限公司", "13912350002", goodPassword)
	agent := b.active(t, "韩洪阳", "13912350003", goodPassword)
	otherAgent := b.active(t, "张三", "13912350004", goodPassword)
	actors := map[string]int64{"legal": legal.id, "agent": agent.id, "another legal": otherLegal.id, "another person": otherAgent.id}
	states := []AgentState{AgentPending, AgentEnabled, AgentDisabled, AgentRefused, AgentExpired, AgentRevoked}
	for _, from := range states {
		for action, tr := range agentTransitions {
			for who, actor := range actors {
				// A fresh pair each time: one live authorization per pair.
				l := b.activeLegal(t, "海南椰风科技有限公司", "13912350009", goodPassword)
				if who == "legal" {
					actor = l.id
				}
				id := b.authorize(t, l.id, agent.id, from)
				st, err := b.svc.changeAgent(ctx, id, action, actor, b.clock.Now())
				right := (tr.party == partyLegal && who == "legal") || (tr.party == partyAgent && who == "agent")
				allowed := right && contains(tr.from, from)
				switch {
				case allowed && (err != nil || st != tr.to || b.agentState(t, id) != tr.to):
					t.Errorf("%s by %s from %s: %s %v (stored %s), want %s", action, who, from, st, err, b.agentState(t, id), tr.to)
				case !allowed && (!errors.Is(err, errAgentTransition) || b.agentState(t, id) != from):
					t.Errorf("%s by %s from %s: %s %v (stored %s), want refused", action, who, from, st, err, b.agentState(t, id))
				}
				if allowed {
					// The same again is refused: done already.
					if _, err := b.svc.changeAgent(ctx, id, action, actor, b.clock.Now()); !errors.Is(err, errAgentTransition) && !contains(tr.from, tr.to) {
						t.Errorf("%s twice by %s from %s: %v, want refused", action, who, from, err)
					}
				}
			}
		}
	}
	// After 24 hours a pending authorization answers nothing, and lists
	// show it expired.
	id := b.authorize(t, legal.id, agent.id, AgentPending)
	for _, tc := range []struct {
		action agentAction
		actor  int64
	}{{agentAccept, agent.id}, {agentRefuse, agent.id}, {agentRevoke, legal.id}} {
		if _, err := b.svc.changeAgent(ctx, id, tc.action, tc.actor, b.clock.Now().Add(AgentLinkTTL)); !errors.Is(err, errAgentTransition) {
			t.Errorf("%s after 24 hours: %v, want refused", tc.action, err)
		}
	}
	if err := expireAgents(ctx, b.pool, b.clock.Now().Add(AgentLinkTTL)); err != nil {
		t.Fatal(err)
	}
	if st := b.agentState(t, id); st != AgentExpired {
		t.Errorf("after 24 hours: %s, want expired", st)
	}
	// A link's lookup row lives exactly as long as the link: every
	// transition and the expiry that spent one took its row.
	if n := b.count(t, `SELECT count(*)::int FROM agent_link k WHERE NOT EXISTS (SELECT 1 FROM agent_authorization g
		WHERE g.id = k.authorization_id AND g.legal_account_bidx = k.legal_account_bidx AND g.link_hash = k.link_hash)`); n != 0 {
		t.Errorf("%d lookup rows of spent links", n)
	}
	if n := b.count(t, `SELECT count(*)::int FROM agent_authorization g WHERE link_hash IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM agent_link k WHERE k.link_hash = g.link_hash)`); n != 0 {
		t.Errorf("%d links without a lookup row", n)
	}
	if got := b.column(t, `SELECT outcome FROM auth_audit WHERE event = 'agent_accept' AND detail = $1`, fmt.Sprintf("authorization %d", id)); len(got) != 1 || got[0] != "refused" {
		t.Errorf("the refused accept audited as %v", got)
	}
}

func contains(states []AgentState, s AgentState) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

// TestAgentDisableEndsActing: disabling an authorization ends at once the
// sessions acting for it (not the agent's own) and the tokens issued for
// that identity; a session acting under an authorization no longer
// enabled is refused, whatever wrote it.
func TestAgentDisableEndsActing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	legal := b.activeLegal(t, "海南椰风科技有限公司", "13912350011", goodPassword)
	agent := b.active(t, "韩洪阳", "13912350012", goodPassword)
	id := b.authorize(t, legal.id, agent.id, AgentEnabled)
	acting, own := b.browser(t), b.browser(t)
	b.signInAs(t, acting, agent.id)
	b.clock.Advance(time.Second)
	b.signInAs(t, own, agent.id)
	if _, err := b.pool.Exec(ctx, `UPDATE auth_session SET acting_for = $1 WHERE id_hash = (SELECT id_hash FROM auth_session WHERE account_id = $2 ORDER BY created_at LIMIT 1)`, id, agent.id); err != nil {
		t.Fatal(err)
	}
	var n int
	b.pool.QueryRow(ctx, `SELECT count(*) FROM auth_session WHERE acting_for = $1`, id).Scan(&n)
	if n != 1 {
		t.Fatalf("%d acting sessions", n)
	}
	live := func() (int, int) {
		var a, o int
		b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE acting_for IS NOT NULL), count(*) FILTER (WHERE acting_for IS NULL)
			FROM auth_session WHERE account_id = $1 AND revoked_at IS NULL`, agent.id).Scan(&a, &o)
		return a, o
	}
	if _, err := b.svc.changeAgent(ctx, id, agentDisable, legal.id, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if a, o := live(); a != 0 || o != 1 {
		t.Errorf("after the disable: %d acting sessions live, %d own; want 0 and 1", a, o)
	}
	// Enabled again; a session acting under it is refused once the state
	// is not enabled, even without changeAgent.
	if _, err := b.svc.changeAgent(ctx, id, agentEnable, legal.id, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	again := b.browser(t)
	b.clock.Advance(time.Second)
	b.signInAs(t, again, agent.id)
	if _, err := b.pool.Exec(ctx, `UPDATE auth_session SET acting_for = $1 WHERE account_id = $2 AND revoked_at IS NULL AND acting_for IS NULL
		AND created_at = (SELECT max(created_at) FROM auth_session WHERE account_id = $2)`, id, agent.id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, `UPDATE agent_authorization SET state = 'disabled' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r := own.get("/api/v1/me"); r.Status != http.StatusOK {
		t.Errorf("the agent's own session: %d", r.Status)
	}
	for _, br := range []*browser{acting, again} {
		if r := br.get("/api/v1/me"); r.Status != http.StatusUnauthorized {
			t.Errorf("a session acting under a disabled authorization: %d", r.Status)
		}
	}
}
