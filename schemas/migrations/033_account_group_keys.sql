-- Scale-out (docs/scale-out.md §3), the login service's account-group
-- tables: each carries its group's key (the account's id_bidx, the blind
-- index of its ID number or credit code), NOT NULL, written by the service
-- from the account row it holds; every unique key includes it; the foreign
-- keys to account pair it with account's UNIQUE (id_bidx) instead of
-- account(id). account_id stays, written from the same row.

-- account_address: the center's mailing addresses.
ALTER TABLE account_address ADD COLUMN account_bidx bytea;
UPDATE account_address x SET account_bidx = a.id_bidx FROM account a WHERE a.id = x.account_id;
ALTER TABLE account_address ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT account_address_account_id_fkey,
    ADD FOREIGN KEY (account_bidx) REFERENCES account (id_bidx) ON DELETE CASCADE,
    DROP CONSTRAINT account_address_pkey,
    ADD PRIMARY KEY (account_bidx, id);
DROP INDEX account_address_one_default;
CREATE UNIQUE INDEX account_address_one_default ON account_address (account_bidx, account_id) WHERE is_default;

-- inbox_message: the service's own inbox of an account.
ALTER TABLE inbox_message ADD COLUMN account_bidx bytea;
UPDATE inbox_message m SET account_bidx = a.id_bidx FROM account a WHERE a.id = m.account_id;
ALTER TABLE inbox_message ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT inbox_message_account_id_fkey,
    ADD FOREIGN KEY (account_bidx) REFERENCES account (id_bidx) ON DELETE CASCADE,
    DROP CONSTRAINT inbox_message_pkey,
    ADD PRIMARY KEY (account_bidx, id);

-- agent_search_try: a legal account's missed agent searches.
ALTER TABLE agent_search_try ADD COLUMN legal_account_bidx bytea;
UPDATE agent_search_try t SET legal_account_bidx = a.id_bidx FROM account a WHERE a.id = t.legal_account_id;
ALTER TABLE agent_search_try ALTER COLUMN legal_account_bidx SET NOT NULL,
    DROP CONSTRAINT agent_search_try_legal_account_id_fkey,
    ADD FOREIGN KEY (legal_account_bidx) REFERENCES account (id_bidx) ON DELETE CASCADE,
    DROP CONSTRAINT agent_search_try_pkey,
    ADD PRIMARY KEY (legal_account_bidx, id);

-- agent_authorization: in the legal account's group. Its primary key (id)
-- stays for now: auth_session.acting_for still refers to it (migration
-- 034 drops that key; the primary key then becomes (legal_account_bidx,
-- id)). The agent's account
-- is another account, on another shard: its foreign key is dropped; the
-- service inserts an authorization only for the agent's account it read in
-- the same transaction (authsvc insertAuthorization), and no account is
-- ever deleted (an account ends disabled), so nothing is left dangling.
ALTER TABLE agent_authorization ADD COLUMN legal_account_bidx bytea;
UPDATE agent_authorization g SET legal_account_bidx = a.id_bidx FROM account a WHERE a.id = g.legal_account_id;
ALTER TABLE agent_authorization ALTER COLUMN legal_account_bidx SET NOT NULL,
    DROP CONSTRAINT agent_authorization_legal_account_id_fkey,
    DROP CONSTRAINT agent_authorization_agent_account_id_fkey,
    ADD FOREIGN KEY (legal_account_bidx) REFERENCES account (id_bidx) ON DELETE CASCADE;
DROP INDEX agent_authorization_live;
CREATE UNIQUE INDEX agent_authorization_live ON agent_authorization (legal_account_bidx, legal_account_id, agent_account_id)
    WHERE state IN ('pending', 'enabled', 'disabled');

-- agent_link: the pending authorization of an agent's link is found by
-- its token's hash alone (the agent opens the link), which is unique in
-- the whole country: like upstream_subject below, a lookup table
-- distributed by the hash holds it, written in the transaction that
-- inserts the authorization and deleted when its link is spent (the
-- authorization's link_hash set NULL). The authorization keeps its
-- link_hash (the lookup's answer is checked against it), no longer unique.
CREATE TABLE agent_link (
    link_hash          bytea  PRIMARY KEY,
    legal_account_bidx bytea  NOT NULL,
    authorization_id   bigint NOT NULL
);
INSERT INTO agent_link (link_hash, legal_account_bidx, authorization_id)
    SELECT link_hash, legal_account_bidx, id FROM agent_authorization WHERE link_hash IS NOT NULL;
ALTER TABLE agent_authorization DROP CONSTRAINT agent_authorization_link_hash_key;
GRANT SELECT, INSERT, DELETE ON agent_link TO idfusion_authsvc;

-- upstream_link: an account's link to its subject at a provider.
ALTER TABLE upstream_link ADD COLUMN account_bidx bytea;
UPDATE upstream_link l SET account_bidx = a.id_bidx FROM account a WHERE a.id = l.account_id;
ALTER TABLE upstream_link ALTER COLUMN account_bidx SET NOT NULL,
    DROP CONSTRAINT upstream_link_account_id_fkey,
    ADD FOREIGN KEY (account_bidx) REFERENCES account (id_bidx) ON DELETE CASCADE,
    DROP CONSTRAINT upstream_link_pkey,
    ADD PRIMARY KEY (account_bidx, account_id, provider);

-- upstream_subject: a provider's subject vouches for one account in the
-- whole country, and is looked up by itself (is this subject linked?),
-- so its uniqueness cannot live in upstream_link (sharded by the
-- account): this lookup table, distributed by the subject's hash in a
-- group of its own, holds it. The service writes and deletes it in the
-- transaction that writes or deletes the link (authsvc/upstream.go,
-- upstream_settings.go); it has no foreign key (the account is in another
-- group, and accounts are never deleted).
CREATE TABLE upstream_subject (
    subject_hash bytea  PRIMARY KEY,
    provider     text   NOT NULL,
    account_bidx bytea  NOT NULL,
    account_id   bigint NOT NULL
);
INSERT INTO upstream_subject (subject_hash, provider, account_bidx, account_id)
    SELECT subject_hash, provider, account_bidx, account_id FROM upstream_link;
ALTER TABLE upstream_link DROP CONSTRAINT upstream_link_provider_subject_hash_key;
GRANT SELECT, INSERT, DELETE ON upstream_subject TO idfusion_authsvc;

-- auth_audit: a row of an account takes its blind index; a row without
-- one (a refusal before any account was found, a client registration)
-- takes 32 zero bytes: those rows land on one shard. The key is a routing
-- column, not part of the record: the hash chain (auth_audit_content)
-- covers the same fields as before, so the rows chained before this
-- migration still verify. The backfill is the one update the log ever
-- takes, by its owner, with the append-only trigger off for it.
-- The zero key is the column's default: a writer names the key only when
-- it has an account.
ALTER TABLE auth_audit ADD COLUMN account_bidx bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
ALTER TABLE auth_audit DISABLE TRIGGER auth_audit_append_only;
UPDATE auth_audit u SET account_bidx = a.id_bidx FROM account a WHERE a.id = u.account_id;
ALTER TABLE auth_audit ENABLE TRIGGER auth_audit_append_only;
ALTER TABLE auth_audit
    DROP CONSTRAINT auth_audit_pkey,
    ADD PRIMARY KEY (account_bidx, id);
-- audit verify walks the log in id order.
CREATE INDEX auth_audit_id ON auth_audit (id);
