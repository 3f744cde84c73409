-- The completion of a fused account is one flow, bound to the session that
-- does it. What steps ① and ② collect (a new phone, the address, the
-- password) waits here and reaches the account only when step ③ — the face
-- check of the account's own ID number — succeeds in the same flow, in the
-- transaction that activates the account. A flow started in another
-- session starts again from ①: holding a phone that a department still
-- lists (a recycled number) and setting a password no longer survive a
-- face check done by the real citizen elsewhere.
CREATE TABLE completion_flow (
    session_hash      bytea       PRIMARY KEY REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    account_id        bigint      NOT NULL REFERENCES account,
    -- The steps still to do in this flow, in order (the account's
    -- required_steps when the session began).
    steps             text[]      NOT NULL,
    -- The blind index of the phone on record when the session began by a
    -- code to it: the flow proved that phone (it becomes verified at ③).
    phone_proved_bidx bytea,
    -- A new phone proved at ① by a code to it.
    phone_sealed      bytea,
    phone_bidx        bytea,
    phone_hint        text,
    address           text,
    password_hash     text,
    created_at        timestamptz NOT NULL,
    CHECK ((phone_sealed IS NULL) = (phone_bidx IS NULL) AND (phone_sealed IS NULL) = (phone_hint IS NULL))
);
CREATE INDEX completion_flow_account ON completion_flow (account_id);

-- Completions started before flows existed changed the account step by
-- step, possibly from a session that never proved the face: they start
-- again from ① with no password, and their sessions end.
UPDATE account SET required_steps = '{info,password,face}', password_hash = NULL, updated_at = now()
    WHERE status = 'pending_completion' AND required_steps <> '{info,password,face}'::text[];
UPDATE auth_session SET revoked_at = now(), expires_at = LEAST(expires_at, now())
    WHERE kind = 'restricted' AND revoked_at IS NULL;
