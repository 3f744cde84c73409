-- The seed's other ways in (issue 18): upstream OpenID providers (国家政务服务平台,
-- 椰城市民云, 电子社保卡), the electronic business licence's scan (电子营业执照)
-- and the CA certificate (U-KEY).

-- upstream_login: one login at an upstream provider, bound to the browser's
-- session. Created when the browser is sent to the provider (the state's
-- SHA-256, the nonce and the PKCE verifier it needs back); used once by the
-- callback (used_at, a conditional UPDATE: a replayed state finds it used).
-- When the verified person has no account, the callback keeps what the
-- provider verified here (sealed like the account's own values) until the
-- person accepts the agreement and is registered, or the row expires.
CREATE TABLE upstream_login (
    state_hash    bytea       PRIMARY KEY,
    session_hash  bytea       NOT NULL REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    provider      text        NOT NULL,
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    return_to     text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    -- What the provider verified, for a registration (NULL otherwise).
    subject_hash  bytea,
    name          text,
    id_type       text,
    id_sealed     bytea,
    id_bidx       bytea,
    id_hint       text,
    phone_sealed  bytea,
    phone_bidx    bytea,
    phone_hint    text
);
CREATE INDEX upstream_login_session ON upstream_login (session_hash);
CREATE INDEX upstream_login_expires ON upstream_login (expires_at);

-- upstream_link: an account's link to its subject at an upstream provider.
-- Only the SHA-256 of (provider, subject) is kept: enough to tell the same
-- subject again, nothing the provider issued (no token) is stored.
CREATE TABLE upstream_link (
    account_id    bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    provider      text        NOT NULL,
    subject_hash  bytea       NOT NULL,
    linked_at     timestamptz NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, provider),
    UNIQUE (provider, subject_hash)
);

-- The licence's scan and the certificate login are challenges like the
-- face's: bound to the browser's session, answered once by a verified
-- party (the licence app's signed callback; the TLS listener that checked
-- the certificate), which sets the account; used once by the session.
ALTER TABLE face_challenge DROP CONSTRAINT face_challenge_purpose_check,
    ADD CONSTRAINT face_challenge_purpose_check
        CHECK (purpose IN ('login', 'complete', 'stepup', 'register', 'phone_change', 'licence', 'ca'));

GRANT SELECT, INSERT, UPDATE, DELETE ON upstream_login, upstream_link TO idfusion_authsvc;
-- An upstream_login goes with its session (the purge deletes ended
-- sessions; the cascade runs as the table's owner).
