-- Scale-out (docs/scale-out.md §3): the OpenID provider's tables keep the
-- Citus rules of their colocation groups.
--
-- The account group (oidc_consent, oidc_token, oidc_logout_outbox) carries
-- the account's blind index (account_bidx, the account's id_bidx), NOT
-- NULL; its keys include it and its foreign key to the account pairs it
-- with account's UNIQUE (id_bidx). account_id stays, written from the same
-- account row, and keeps its index. The session group (oidc_auth_request,
-- oidc_session_client) refers to the account without a foreign key: the
-- statements that write account_id check the account (account.ActiveSQL)
-- in the same transaction, and the rows carry account_bidx so that the
-- account-group rows they lead to are written with it.

-- oidc_consent: one row per account and client.
ALTER TABLE oidc_consent ADD COLUMN account_bidx bytea;
UPDATE oidc_consent c SET account_bidx = a.id_bidx FROM account a WHERE a.id = c.account_id;
ALTER TABLE oidc_consent ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT oidc_consent_account_id_fkey,
    DROP CONSTRAINT oidc_consent_pkey,
    ADD CONSTRAINT oidc_consent_pkey PRIMARY KEY (account_bidx, client_id),
    ADD CONSTRAINT oidc_consent_account_bidx_fkey FOREIGN KEY (account_bidx) REFERENCES account (id_bidx);
CREATE INDEX oidc_consent_account ON oidc_consent (account_id, client_id);

-- oidc_auth_request: the account that completed it, with its blind index
-- (NULL until done, like account_id); no foreign keys to the account
-- group (completeRequest checks the account active and the agent's
-- authorization enabled in its UPDATE).
ALTER TABLE oidc_auth_request ADD COLUMN account_bidx bytea;
UPDATE oidc_auth_request r SET account_bidx = a.id_bidx FROM account a WHERE a.id = r.account_id;
ALTER TABLE oidc_auth_request
    DROP CONSTRAINT oidc_auth_request_account_id_fkey,
    DROP CONSTRAINT oidc_auth_request_acting_for_fkey,
    ADD CONSTRAINT oidc_auth_request_account_bidx CHECK ((account_id IS NULL) = (account_bidx IS NULL));

-- oidc_token: its account's blind index; the key (account_bidx, id) (the
-- id is 16 random bytes); acting_for is another account's authorization
-- (on another shard): no foreign key, the code exchange and the rotation
-- check it enabled in their transaction (actingLiveSQL).
ALTER TABLE oidc_token ADD COLUMN account_bidx bytea;
UPDATE oidc_token t SET account_bidx = a.id_bidx FROM account a WHERE a.id = t.account_id;
ALTER TABLE oidc_token ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT oidc_token_account_id_fkey,
    DROP CONSTRAINT oidc_token_acting_for_fkey,
    DROP CONSTRAINT oidc_token_pkey,
    ADD CONSTRAINT oidc_token_pkey PRIMARY KEY (account_bidx, id),
    ADD CONSTRAINT oidc_token_account_bidx_fkey FOREIGN KEY (account_bidx) REFERENCES account (id_bidx);
CREATE INDEX oidc_token_id ON oidc_token (id);

-- oidc_session_client: no foreign key to the account (another group; the
-- code exchange that writes it checks the account active); it carries the
-- account's blind index for the logout tokens it queues.
ALTER TABLE oidc_session_client ADD COLUMN account_bidx bytea;
UPDATE oidc_session_client s SET account_bidx = a.id_bidx FROM account a WHERE a.id = s.account_id;
ALTER TABLE oidc_session_client ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT oidc_session_client_account_id_fkey;

-- oidc_logout_outbox: its account's blind index; the key (account_bidx, id).
ALTER TABLE oidc_logout_outbox ADD COLUMN account_bidx bytea;
UPDATE oidc_logout_outbox o SET account_bidx = a.id_bidx FROM account a WHERE a.id = o.account_id;
ALTER TABLE oidc_logout_outbox ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT oidc_logout_outbox_account_id_fkey,
    DROP CONSTRAINT oidc_logout_outbox_pkey,
    ADD CONSTRAINT oidc_logout_outbox_pkey PRIMARY KEY (account_bidx, id),
    ADD CONSTRAINT oidc_logout_outbox_account_bidx_fkey FOREIGN KEY (account_bidx) REFERENCES account (id_bidx);
CREATE INDEX oidc_logout_outbox_id ON oidc_logout_outbox (id);

-- A refresh token is found by its hash alone, and its hash is unique
-- across the country: a unique key on oidc_token (sharded by the account)
-- cannot hold it. oidc_refresh_hash, distributed by the hash in its own
-- colocation group, holds it (and the token's account and id, so that a
-- lookup can be routed to the token's shard); the token and its hash are
-- written in one transaction (insertToken) and purged in one statement
-- (purgeTokensSQL). oidc_token keeps a plain index on the hash.
CREATE TABLE oidc_refresh_hash (
    hash         bytea PRIMARY KEY,
    account_bidx bytea NOT NULL,
    token_id     text  NOT NULL
);
INSERT INTO oidc_refresh_hash (hash, account_bidx, token_id) SELECT hash, account_bidx, id FROM oidc_token WHERE hash IS NOT NULL;
DROP INDEX oidc_token_hash;
CREATE INDEX oidc_token_hash ON oidc_token (hash) WHERE hash IS NOT NULL;

GRANT SELECT, INSERT ON oidc_refresh_hash TO idfusion_authsvc;
-- fusion schedule's purge_auth job deletes a purged refresh token's hash
-- with it.
GRANT DELETE ON oidc_refresh_hash TO idfusion_import;
GRANT SELECT (hash) ON oidc_refresh_hash TO idfusion_import;
GRANT SELECT (hash) ON oidc_token TO idfusion_import;

-- A code is found by its hash alone and is unique across the country, as
-- a refresh token's: its lookup table oidc_auth_code, distributed by the
-- hash in its own colocation group, holds it (with its request's id); it
-- is written in the statement that issues the code (SaveAuthCode) and
-- purged in the statement that purges the request (purgeAuthRequestsSQL).
CREATE TABLE oidc_auth_code (
    code_hash  bytea PRIMARY KEY,
    request_id text  NOT NULL
);
INSERT INTO oidc_auth_code (code_hash, request_id) SELECT code_hash, id FROM oidc_auth_request WHERE code_hash IS NOT NULL;
DROP INDEX oidc_auth_request_code;
CREATE INDEX oidc_auth_request_code ON oidc_auth_request (code_hash) WHERE code_hash IS NOT NULL;

GRANT SELECT, INSERT ON oidc_auth_code TO idfusion_authsvc;
GRANT DELETE ON oidc_auth_code TO idfusion_import;
GRANT SELECT (request_id) ON oidc_auth_code TO idfusion_import;
