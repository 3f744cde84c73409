-- The OpenID Connect provider of the login service: the business systems
-- (clients), their authorization requests and codes, the tokens issued,
-- and the signing keys.

-- A business system. secret_hash is the SHA-256 of a 32-byte random
-- secret (NULL: a public client, which must use PKCE S256). Redirect URIs
-- match exactly; allowed_scopes are every scope it may ask for ('openid'
-- included).
CREATE TABLE oidc_client (
    id             text        PRIMARY KEY,
    secret_hash    bytea,
    redirect_uris  text[]      NOT NULL,
    allowed_scopes text[]      NOT NULL,
    name           text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- An authorization request, from /authorize to the code's exchange.
-- account_id is set and done turns true only once the citizen holds a full
-- session on an active account. browser_hash binds the request to the
-- browser that started it (a cookie), so a link to someone else's request
-- cannot be completed by another citizen. code_hash is the SHA-256 of the
-- code; code_used_at its single use.
CREATE TABLE oidc_auth_request (
    id                    text        PRIMARY KEY,
    client_id             text        NOT NULL REFERENCES oidc_client ON DELETE CASCADE,
    redirect_uri          text        NOT NULL,
    scopes                text[]      NOT NULL,
    state                 text        NOT NULL DEFAULT '',
    nonce                 text        NOT NULL DEFAULT '',
    code_challenge        text        NOT NULL DEFAULT '',
    code_challenge_method text        NOT NULL DEFAULT '',
    response_type         text        NOT NULL,
    response_mode         text        NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL,
    browser_hash          bytea,
    account_id            bigint      REFERENCES account,
    auth_time             timestamptz,
    done                  boolean     NOT NULL DEFAULT false,
    code_hash             bytea,
    code_issued_at        timestamptz,
    code_used_at          timestamptz,
    CHECK (NOT done OR account_id IS NOT NULL)
);
CREATE UNIQUE INDEX oidc_auth_request_code ON oidc_auth_request (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_auth_request_created ON oidc_auth_request (created_at);

-- Tokens issued. Access tokens are opaque to clients (the provider
-- encrypts their id); refresh tokens are random and only their SHA-256 is
-- kept (hash). subject is the sub the client saw.
CREATE TABLE oidc_token (
    id              text        PRIMARY KEY,
    hash            bytea,
    kind            text        NOT NULL CHECK (kind IN ('access', 'refresh')),
    account_id      bigint      NOT NULL REFERENCES account,
    subject         text        NOT NULL,
    client_id       text        NOT NULL REFERENCES oidc_client ON DELETE CASCADE,
    scopes          text[]      NOT NULL,
    auth_time       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    auth_request_id text,
    CHECK ((kind = 'refresh') = (hash IS NOT NULL))
);
CREATE UNIQUE INDEX oidc_token_hash ON oidc_token (hash) WHERE hash IS NOT NULL;
CREATE INDEX oidc_token_auth_request ON oidc_token (auth_request_id);
CREATE INDEX oidc_token_subject ON oidc_token (subject, client_id);
CREATE INDEX oidc_token_expires ON oidc_token (expires_at);

-- Signing keys. The newest key whose active_until is ahead signs; every
-- key stays in the JWKS until retire_after (active_until plus the longest
-- lifetime of what it signed). The private key is PKCS #8, sealed with the
-- keyring (additional data 'oidc_signing_key'); the public one is PKIX.
CREATE TABLE oidc_signing_key (
    id             text        PRIMARY KEY,
    algorithm      text        NOT NULL CHECK (algorithm = 'RS256'),
    private_sealed bytea       NOT NULL,
    public_der     bytea       NOT NULL,
    created_at     timestamptz NOT NULL,
    active_until   timestamptz NOT NULL,
    retire_after   timestamptz NOT NULL
);
CREATE INDEX oidc_signing_key_retire ON oidc_signing_key (retire_after);
