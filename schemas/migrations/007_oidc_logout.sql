-- RP-initiated logout: where a business system may have the citizen sent
-- back after the end of the session (exact match, like redirect_uris).
ALTER TABLE oidc_client ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}';
