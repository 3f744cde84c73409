-- Agents (经办人, issue 17): a natural person's account acting for a legal
-- account that authorized it (2.2.7, 2.2.8, 2.3). An agent is not an
-- account of its own: it is an authorization.
--
-- state: pending (验证中: sent, not answered within 24 hours yet), enabled
-- (启用), disabled (禁用), and the ended ones refused, expired, revoked. A
-- transition is made only by its party (the agent accepts or refuses; the
-- legal person enables, disables or revokes), by a conditional UPDATE on
-- the state it was decided on (authsvc/agent_state.go). link_hash is the
-- SHA-256 of the token of the link the agent got, while it is pending.
CREATE TABLE agent_authorization (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    legal_account_id bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    agent_account_id bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    state            text        NOT NULL CHECK (state IN ('pending', 'enabled', 'disabled', 'refused', 'expired', 'revoked')),
    link_hash        bytea       UNIQUE,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    changed_at       timestamptz NOT NULL,
    CHECK (legal_account_id <> agent_account_id),
    CHECK ((state = 'pending') = (link_hash IS NOT NULL))
);
-- One live authorization per enterprise and person.
CREATE UNIQUE INDEX agent_authorization_live ON agent_authorization (legal_account_id, agent_account_id)
    WHERE state IN ('pending', 'enabled', 'disabled');
CREATE INDEX agent_authorization_agent ON agent_authorization (agent_account_id) WHERE state IN ('pending', 'enabled', 'disabled');

-- The identity a session acts for: NULL 个人身份, else the enabled
-- authorization it acts under. The tokens and codes issued in it carry
-- the same, so a switch or a disable ends exactly that identity's.
ALTER TABLE auth_session ADD COLUMN acting_for bigint REFERENCES agent_authorization (id);
ALTER TABLE oidc_auth_request ADD COLUMN acting_for bigint REFERENCES agent_authorization (id);
ALTER TABLE oidc_token ADD COLUMN acting_for bigint REFERENCES agent_authorization (id);
CREATE INDEX auth_session_acting_for ON auth_session (acting_for) WHERE acting_for IS NOT NULL;
CREATE INDEX oidc_token_acting_for ON oidc_token (acting_for) WHERE acting_for IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON agent_authorization TO idfusion_authsvc;
