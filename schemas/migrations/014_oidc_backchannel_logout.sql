-- Single logout across the business systems (OpenID Connect Back-Channel
-- Logout 1.0 and Front-Channel Logout 1.0).
--
-- A client may register where the provider tells it of the end of a
-- citizen's session: a back-channel URI (a signed logout token POSTed from
-- the server) and/or a front-channel URI (loaded in an iframe of the
-- logged-out page). '' is none. *_session_required: the client wants the
-- sid (and iss, front-channel) with it.
ALTER TABLE oidc_client
    ADD COLUMN backchannel_logout_uri text NOT NULL DEFAULT '',
    ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false,
    ADD COLUMN frontchannel_logout_uri text NOT NULL DEFAULT '',
    ADD COLUMN frontchannel_logout_session_required boolean NOT NULL DEFAULT false;

-- The provider session (auth_session) that completed an authorization
-- request: the tokens of its code belong to that session.
ALTER TABLE oidc_auth_request ADD COLUMN session_hash bytea;

-- The business systems that got tokens in a provider session (filled when
-- a code is exchanged), with the session's sid as its ID tokens carry it.
-- ended_at: the system was told of the end (or the citizen ended it from
-- the personal center). A row goes with its session (authsvc.Purge).
CREATE TABLE oidc_session_client (
    session_hash bytea       NOT NULL REFERENCES auth_session ON DELETE CASCADE,
    client_id    text        NOT NULL REFERENCES oidc_client ON DELETE CASCADE,
    account_id   bigint      NOT NULL REFERENCES account,
    subject      text        NOT NULL,
    sid          text        NOT NULL,
    created_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    PRIMARY KEY (session_hash, client_id)
);
CREATE INDEX oidc_session_client_account ON oidc_session_client (account_id) WHERE ended_at IS NULL;

-- Logout tokens waiting for delivery to a back-channel URI, with retries:
-- attempts so far, when the next is due, the last failure. A row ends
-- delivered (delivered_at) or given up (failed_at, audited).
CREATE TABLE oidc_logout_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       text        NOT NULL REFERENCES oidc_client ON DELETE CASCADE,
    account_id      bigint      NOT NULL REFERENCES account,
    subject         text        NOT NULL,
    sid             text        NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    failed_at       timestamptz
);
CREATE INDEX oidc_logout_outbox_due ON oidc_logout_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON oidc_session_client, oidc_logout_outbox TO idfusion_authsvc;
-- fusion schedule's purge_auth job deletes the rows delivered or given up
-- (a session's systems go with the session).
GRANT DELETE ON oidc_logout_outbox TO idfusion_import;
GRANT SELECT (delivered_at, failed_at) ON oidc_logout_outbox TO idfusion_import;
