-- The refresh grace window of the OpenID provider (authsvc
-- Config.OIDCRefreshGrace): a refresh token rotated a moment ago and
-- presented again, by a request that raced the rotation, gets the same
-- successor instead of revoking its grant as a reuse. A rotated refresh
-- token keeps which token replaced it (successor_id; its revoked_at is
-- when) and that token sealed with the keyring (additional data
-- 'oidc_refresh_successor ' || successor_id): the successor's own row
-- keeps only its hash.
ALTER TABLE oidc_token
    ADD COLUMN successor_id     text,
    ADD COLUMN successor_sealed bytea,
    ADD CONSTRAINT oidc_token_successor CHECK ((successor_id IS NULL) = (successor_sealed IS NULL)
        AND (successor_id IS NULL OR kind = 'refresh'));
