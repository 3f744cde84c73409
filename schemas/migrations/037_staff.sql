-- The staff console (issue 20): staff accounts with their roles, and their
-- sessions, apart from the citizens' (a staff cookie is never a citizen's
-- session, nor the other way round). A staff member signs in with a
-- password and a TOTP code (RFC 6238); staff members are created by
-- `authsvc staff add`, run by an operator as the owner.
CREATE TABLE staff (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text        NOT NULL CHECK (username ~ '^[A-Za-z][A-Za-z0-9._-]{1,31}$'),
    name           text        NOT NULL CHECK (btrim(name) <> ''),
    -- The password's Argon2id hash (PHC string), as the citizens'.
    password_hash  text        NOT NULL,
    -- The TOTP secret, sealed with the service keyring (AAD "staff_totp").
    totp_sealed    bytea       NOT NULL,
    -- The last time step whose code was accepted: a code of this step or
    -- an earlier one is refused (a replay).
    totp_last_step bigint      NOT NULL DEFAULT 0,
    -- 客服 kefu, 审核 shenhe, 运维 yunwei, 审计 shenji; at least one.
    roles          text[]      NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['kefu', 'shenhe', 'yunwei', 'shenji']::text[]),
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Failed sign-ins since the last lock or success; locked_until ends
    -- the lock they brought.
    failed_attempts int        NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL,
    created_by     text        NOT NULL
);
-- Unique case-insensitively: Zhang.San and zhang.san are one staff member.
CREATE UNIQUE INDEX staff_username_lower ON staff (lower(username));

-- A staff member's session: the token's SHA-256, as auth_session's.
CREATE TABLE staff_session (
    id_hash      bytea       PRIMARY KEY,
    staff_id     bigint      NOT NULL REFERENCES staff (id),
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX staff_session_staff ON staff_session (staff_id);

-- The login service reads staff members and keeps their counts, locks and
-- last steps; it creates no staff member and changes no role (the CLI, as
-- the owner, does).
GRANT SELECT, UPDATE (totp_last_step, failed_attempts, locked_until) ON staff TO idfusion_authsvc;
GRANT SELECT, INSERT, UPDATE ON staff_session TO idfusion_authsvc;
