-- Legal persons (法人, issue 16): enterprises, social organizations and
-- public institutions have accounts in the same table as citizens, found
-- the same way: id_bidx is the blind index of the unified social credit
-- code (its own blind-index domain, credit_code, so no credit code can
-- ever find a citizen), id_sealed the sealed code, id_type 'uscc', name
-- the legal person's name, phone and address its contact's. One
-- mechanism for both kinds: the completion steps, the counters and locks,
-- the sessions and the imports' sources all work on either.
--
-- The legal representative (法定代表人) is found by the blind index of
-- the representative's ID number in the citizens' domain: rep_id_bidx =
-- the citizen account's id_bidx links the two where the representative
-- has an account. rep_id_valid_to 'infinity' is 长期有效; NULL unknown.
-- rep_source and contact_source are the lineage rows of the surviving
-- representative (all its fields come from one row) and contact person,
-- like the other *_source columns (NULL: the registrant set it).
--
-- realname_status is the national enterprise interface's verdict
-- (未实名 / 实名), with when and by what it was last checked; a legal
-- account starts unverified, whether fused or registered.
ALTER TABLE account
    ADD COLUMN kind                text NOT NULL DEFAULT 'natural' CHECK (kind IN ('natural', 'legal')),
    ADD COLUMN legal_type          text CHECK (legal_type IN ('enterprise', 'social_org', 'institution')),
    ADD COLUMN rep_name            text,
    ADD COLUMN rep_id_type         text,
    ADD COLUMN rep_id_sealed       bytea,
    ADD COLUMN rep_id_bidx         bytea,
    ADD COLUMN rep_id_hint         text,
    ADD COLUMN rep_nationality     text,
    ADD COLUMN rep_id_valid_from   date,
    ADD COLUMN rep_id_valid_to     date,
    ADD COLUMN contact_name        text,
    ADD COLUMN rep_source          bigint,
    ADD COLUMN contact_source      bigint,
    ADD COLUMN realname_status     text CHECK (realname_status IN ('unverified', 'verified')),
    ADD COLUMN realname_checked_at timestamptz,
    ADD COLUMN realname_source     text,
    ADD CONSTRAINT account_legal_fields CHECK (
        (kind = 'legal') = (legal_type IS NOT NULL AND realname_status IS NOT NULL)
        AND (kind = 'legal' OR (rep_id_bidx IS NULL AND contact_name IS NULL))
        AND (rep_id_bidx IS NULL) = (rep_id_sealed IS NULL));
-- The legal persons a citizen represents.
CREATE INDEX account_rep_id_bidx ON account (rep_id_bidx) WHERE rep_id_bidx IS NOT NULL;

-- The import writes the departments' legal values and starts a legal
-- account unverified; only the login service's verification sets the
-- real-name status.
GRANT SELECT (kind, legal_type, rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint, rep_nationality,
        rep_id_valid_from, rep_id_valid_to, contact_name, rep_source, contact_source, realname_status),
    INSERT (kind, legal_type, rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint, rep_nationality,
        rep_id_valid_from, rep_id_valid_to, contact_name, rep_source, contact_source, realname_status),
    UPDATE (rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint, rep_nationality,
        rep_id_valid_from, rep_id_valid_to, contact_name, rep_source, contact_source)
    ON account TO idfusion_import;
-- The login service registers legal persons (account.RegisterLegal).
GRANT INSERT (kind, legal_type, rep_name, rep_id_type, rep_id_sealed, rep_id_bidx, rep_id_hint, rep_nationality,
        rep_id_valid_from, rep_id_valid_to, contact_name, address, realname_status, realname_checked_at, realname_source)
    ON account TO idfusion_authsvc;
