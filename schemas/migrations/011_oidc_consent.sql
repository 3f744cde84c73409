-- OpenID Connect: the citizen's consent to what a business system
-- receives, the prompt and max_age of an authorization request, how a
-- session was authenticated (amr), and the face step-up.

-- A citizen's approval of the sensitive scopes ('idcard', 'phone') a
-- business system asked for: one row per account and client, the scopes
-- approved so far. Deleted when the citizen revokes it in the personal
-- center (the client's tokens are revoked with it); the full ID number
-- and the phone are released only while it holds their scope.
CREATE TABLE oidc_consent (
    account_id bigint      NOT NULL REFERENCES account,
    client_id  text        NOT NULL REFERENCES oidc_client ON DELETE CASCADE,
    scopes     text[]      NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- How a session was authenticated, as RFC 8176 methods: 'pwd', 'sms',
-- 'face'. A session of a completion or a face step-up carries the methods
-- of the session it replaced and 'face'.
ALTER TABLE auth_session ADD COLUMN amr text[] NOT NULL DEFAULT '{}';

-- The face step-up of a business system requiring face (acr_values).
ALTER TABLE face_challenge DROP CONSTRAINT face_challenge_purpose_check,
    ADD CONSTRAINT face_challenge_purpose_check CHECK (purpose IN ('login', 'complete', 'stepup'));

-- What an authorization request asks of the login (prompt, max_age in
-- seconds, acr_values), how the session that completed it was
-- authenticated (amr), and whether the citizen refused the consent
-- (denied: the request ends with access_denied and is never done).
ALTER TABLE oidc_auth_request
    ADD COLUMN prompt     text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN max_age    integer CHECK (max_age >= 0),
    ADD COLUMN acr_values text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN amr        text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN denied     boolean NOT NULL DEFAULT false;

-- The amr of the grant, for the ID tokens of its refreshes.
ALTER TABLE oidc_token ADD COLUMN amr text[] NOT NULL DEFAULT '{}';

-- A business system that always requires a face check of the citizen
-- (as if every request asked for acr urn:idfusion:acr:face).
ALTER TABLE oidc_client ADD COLUMN require_face boolean NOT NULL DEFAULT false;
