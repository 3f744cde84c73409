-- Forgot password and change of the bound phone (issue 15, 2.1.5 and
-- 2.1.4).
--
-- A recovery is bound to the browser that started it (an anonymous
-- session) and walks its steps in order, each taken by a conditional
-- UPDATE of steps like completion_flow: 'code' (the code sent to the
-- phone on file) then 'password'. account_id is NULL when the ID number
-- has no account: such a flow looks the same and can never pass 'code'.
-- phone_bidx is where the code went (the phone on file, or a stand-in
-- derived from the ID number when there is none, so that the answers and
-- the send limits are the same); phone_hint is what the page shows.
-- Both flows go with their session (Purge deletes ended sessions).
CREATE TABLE recovery_flow (
    session_hash bytea       PRIMARY KEY REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    account_id   bigint      REFERENCES account ON DELETE CASCADE,
    steps        text[]      NOT NULL,
    phone_bidx   bytea       NOT NULL,
    phone_hint   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX recovery_flow_account ON recovery_flow (account_id);
CREATE INDEX recovery_flow_expires ON recovery_flow (expires_at);

-- A change of phone: a face verification of the signed-in citizen
-- (face_challenge purpose 'phone_change') opens it for five minutes
-- (face_at); the new phone, proved by its code, ends it.
CREATE TABLE phone_change_flow (
    session_hash bytea       PRIMARY KEY REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    account_id   bigint      NOT NULL REFERENCES account ON DELETE CASCADE,
    face_at      timestamptz NOT NULL
);
CREATE INDEX phone_change_flow_account ON phone_change_flow (account_id);

ALTER TABLE face_challenge DROP CONSTRAINT face_challenge_purpose_check,
    ADD CONSTRAINT face_challenge_purpose_check CHECK (purpose IN ('login', 'complete', 'stepup', 'register', 'phone_change'));

GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_flow, phone_change_flow TO idfusion_authsvc;
