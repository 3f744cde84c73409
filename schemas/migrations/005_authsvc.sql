-- The login service: sessions, one-time codes, face challenges, the
-- failure counter and the audit log.

-- A credential check failing (password, SMS code, face) counts against the
-- account, whichever method; five in a row lock it for a while. status
-- 'locked' stays the operators' lock.
ALTER TABLE account
    ADD COLUMN failed_attempts int NOT NULL DEFAULT 0,
    ADD COLUMN locked_until    timestamptz;

-- Sessions. The cookie holds 32 random bytes; only their SHA-256 is kept,
-- so a copy of this table opens no session. kind: 'anonymous' (a login in
-- progress: binds a face challenge), 'restricted' (a first factor on an
-- account pending completion: the completion steps only), 'full'.
CREATE TABLE auth_session (
    id_hash      bytea       PRIMARY KEY,
    account_id   bigint      REFERENCES account,
    kind         text        NOT NULL CHECK (kind IN ('anonymous', 'restricted', 'full')),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- The absolute end; the idle end is last_seen_at + the idle timeout.
    expires_at   timestamptz NOT NULL,
    -- Where the citizen was going (a path of this service), for after
    -- completion.
    return_to    text        NOT NULL DEFAULT '',
    revoked_at   timestamptz,
    CHECK ((kind = 'anonymous') = (account_id IS NULL))
);
CREATE INDEX auth_session_account ON auth_session (account_id);
CREATE INDEX auth_session_expires ON auth_session (expires_at);

-- One-time SMS codes: stored as an HMAC, bound to the phone (blind index)
-- and the purpose, valid minutes, single use, a few tries.
CREATE TABLE sms_code (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_bidx  bytea       NOT NULL,
    purpose     text        NOT NULL,
    account_id  bigint      REFERENCES account,
    code_hash   bytea       NOT NULL,
    ip          text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    int         NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX sms_code_phone ON sms_code (phone_bidx, created_at);
CREATE INDEX sms_code_ip ON sms_code (ip, created_at);
CREATE INDEX sms_code_expires ON sms_code (expires_at);

-- The development SMS sender's outbox: what would have been sent. Off in
-- production; the phone is masked.
CREATE TABLE sms_outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_hint text        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- Face challenges: shown as a QR code, answered by the face provider's
-- signed callback. Bound to the session that asked and to the account.
CREATE TABLE face_challenge (
    id           text        PRIMARY KEY,
    session_hash bytea       NOT NULL,
    -- NULL when a login named an ID number without an account: the
    -- challenge then always fails, like any other, so the page does not
    -- tell whether the account exists.
    account_id   bigint      REFERENCES account,
    purpose      text        NOT NULL CHECK (purpose IN ('login', 'complete')),
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'used')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    answered_at  timestamptz
);
CREATE INDEX face_challenge_expires ON face_challenge (expires_at);

-- Every credential check, step and refusal. Identifiers are masked
-- (4*****4, 139****9071); never a code, password or full number.
CREATE TABLE auth_audit (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    event      text        NOT NULL,
    outcome    text        NOT NULL,
    account_id bigint,
    subject    text        NOT NULL DEFAULT '',
    ip         text        NOT NULL DEFAULT '',
    detail     text        NOT NULL DEFAULT ''
);
CREATE INDEX auth_audit_account ON auth_audit (account_id, at);
