-- Least privilege and a tamper-evident audit log.
--
-- The login service and the fusion commands connect as roles of their own
-- with only the grants their statements need; the migrations keep running
-- as the owner of the tables. Roles belong to the cluster, not to one
-- database (tests copy one template into many databases of one cluster),
-- so they are created only if missing, and NOLOGIN: deployers create the
-- login users that are members (README, "Database roles"):
--
--   CREATE ROLE authsvc_app LOGIN PASSWORD '…' IN ROLE idfusion_authsvc;
--   CREATE ROLE fusion_app  LOGIN PASSWORD '…' IN ROLE idfusion_import;
--
-- The owner needs CREATEROLE for this migration unless a DBA created the two
-- roles beforehand.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['idfusion_authsvc', 'idfusion_import'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database of the cluster migrating at once
            END;
        END IF;
    END LOOP;
END $$;

-- Both read the migration bookkeeping: a command connected as a member
-- user finds nothing pending and starts (it cannot migrate).
GRANT SELECT ON schema_migration TO idfusion_authsvc, idfusion_import;

-- The login service (authsvc): accounts are read and updated (failure
-- counter, completion steps, password, verified phone, status), never
-- created or deleted; its own tables are written; the audit log is only
-- appended to; the OpenID clients are registered by an operator (authsvc
-- client add, as the owner) and only read. Nothing of the imports.
GRANT SELECT, UPDATE ON account TO idfusion_authsvc;
GRANT SELECT, INSERT, UPDATE ON auth_session, sms_code, face_challenge,
    oidc_auth_request, oidc_token, oidc_signing_key TO idfusion_authsvc;
GRANT SELECT, INSERT ON sms_outbox TO idfusion_authsvc;
GRANT INSERT ON auth_audit TO idfusion_authsvc;
GRANT SELECT ON oidc_client TO idfusion_authsvc;
-- A completion flow ends when the account is activated; a captcha's free
-- send is claimed by an upsert; a consent is withdrawn by deleting it.
GRANT SELECT, INSERT, UPDATE, DELETE ON completion_flow, oidc_consent TO idfusion_authsvc;
GRANT SELECT, INSERT, UPDATE ON captcha, captcha_free_send TO idfusion_authsvc;

-- The fusion commands (import, schedule, runs, conflicts, export; purge in
-- 013): the import writes departments, runs, files, accounts, lineage,
-- conflicts and rejects; runs, conflicts and export read them; export
-- records itself in export_audit.
GRANT SELECT, INSERT, UPDATE ON department, import_run, export_audit TO idfusion_import;
GRANT SELECT, INSERT ON source_file, import_file, account_lineage, merge_conflict, import_reject TO idfusion_import;
-- Accounts: what an import writes (merge's accountColumns) and updates
-- (the surviving values and their sources), and everything else but what
-- only the citizen and the login service have: the password hash, the
-- failure counter and its lock.
GRANT SELECT (id, id_bidx, id_sealed, id_hint, id_type, name, gender, birth_date,
        phone_sealed, phone_bidx, phone_hint, phone_verified, address, status, origin, required_steps,
        name_source, phone_source, address_source, created_run, updated_run, created_at, updated_at),
    INSERT (id, id_bidx, id_sealed, id_hint, id_type, name, gender, birth_date,
        phone_sealed, phone_bidx, phone_hint, address, status, origin, required_steps,
        name_source, phone_source, address_source, created_run, updated_run),
    UPDATE (name, name_source, address, address_source, phone_sealed, phone_bidx, phone_hint, phone_source,
        updated_run, updated_at)
    ON account TO idfusion_import;
-- An import reserves a block of lineage ids with nextval and setval.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE, UPDATE ON SEQUENCE %s TO idfusion_import', pg_get_serial_sequence('account_lineage', 'id'));
END $$;

-- fusion schedule's purge_auth job deletes what the login service no
-- longer needs (authsvc.Purge): DELETE, and SELECT of the columns its
-- conditions read only, so the importer can neither read nor forge a
-- session, a code or a token.
GRANT DELETE ON auth_session, sms_code, face_challenge, sms_outbox, oidc_token, oidc_auth_request, oidc_signing_key TO idfusion_import;
GRANT SELECT (expires_at) ON auth_session, sms_code, face_challenge TO idfusion_import;
GRANT SELECT (created_at) ON sms_outbox TO idfusion_import;
GRANT SELECT (expires_at, auth_request_id) ON oidc_token TO idfusion_import;
GRANT SELECT (id, created_at) ON oidc_auth_request TO idfusion_import;
GRANT SELECT (retire_after, active_until) ON oidc_signing_key TO idfusion_import;
GRANT DELETE ON captcha, captcha_free_send TO idfusion_import;
GRANT SELECT (expires_at) ON captcha TO idfusion_import;
GRANT SELECT (claimed_at) ON captcha_free_send TO idfusion_import;

-- An import takes a block of account ids at once (merge.reserveAccounts):
-- ALTER SEQUENCE holds back the login service's nextval meanwhile, and
-- only the sequence's owner may alter it. This function, run as the owner,
-- is that one step and nothing more. It returns the first id of n.
CREATE FUNCTION reserve_account_ids(n bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    seq    text := pg_get_serial_sequence('account', 'id');
    last   bigint;
    called boolean;
    first  bigint;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION 'reserve_account_ids: n must be at least 1, not %', n;
    END IF;
    EXECUTE format('ALTER SEQUENCE %s INCREMENT BY 1', seq);
    EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last, called;
    first := CASE WHEN called THEN last + 1 ELSE last END;
    PERFORM setval(seq, first + n - 1);
    RETURN first;
END $$;
REVOKE EXECUTE ON FUNCTION reserve_account_ids(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reserve_account_ids(bigint) TO idfusion_import;

-- The audit log, append-only and hash-chained.
--
-- Every row carries prev_hash, the hash of the row before it (32 zero
-- bytes for the first), and hash = SHA-256(prev_hash || content), content
-- being the row's fields in the fixed binary form of auth_audit_content.
-- A BEFORE INSERT trigger computes both in the database, so no writer can
-- forget them, and numbers the row: it locks the one row of
-- auth_audit_head (the last id and hash) until the inserting transaction
-- ends, so concurrent inserts line up into one chain in id order, and a
-- rolled-back insert leaves neither a row nor a gap. authsvc.VerifyAuditChain
-- (authsvc audit verify) recomputes the chain outside the database.
--
-- Ids now come from the head, not from a sequence: the sequence handed
-- ids out in the order the inserts started, not in the order they
-- committed, and the chain must follow the latter.
ALTER TABLE auth_audit ALTER COLUMN id DROP IDENTITY;
ALTER TABLE auth_audit ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;

CREATE TABLE auth_audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    id       bigint  NOT NULL,
    hash     bytea   NOT NULL
);

-- The content a row's hash covers: each field in a fixed binary form
-- (bigint and timestamptz as PostgreSQL sends them, i.e. 8 bytes big
-- endian, the time in microseconds since 2000-01-01 UTC; text as a 4-byte
-- length and its UTF-8 bytes; a NULL account as one zero byte, else a one
-- byte and the id), so no two rows share a content and the session's time
-- zone changes nothing. authsvc/audit.go computes the same bytes.
CREATE FUNCTION auth_audit_content(id bigint, at timestamptz, event text, outcome text, account_id bigint,
    subject text, ip text, detail text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT int8send(id) || timestamptz_send(at)
        || int4send(octet_length(event)) || convert_to(event, 'UTF8')
        || int4send(octet_length(outcome)) || convert_to(outcome, 'UTF8')
        || CASE WHEN account_id IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || int8send(account_id) END
        || int4send(octet_length(subject)) || convert_to(subject, 'UTF8')
        || int4send(octet_length(ip)) || convert_to(ip, 'UTF8')
        || int4send(octet_length(detail)) || convert_to(detail, 'UTF8')
$$;

-- The rows written before this migration are chained in id order.
DO $$
DECLARE
    r    record;
    prev bytea := decode(repeat('00', 32), 'hex');
    h    bytea;
    last bigint := 0;
BEGIN
    FOR r IN SELECT * FROM auth_audit ORDER BY id LOOP
        h := sha256(prev || auth_audit_content(r.id, r.at, r.event, r.outcome, r.account_id, r.subject, r.ip, r.detail));
        UPDATE auth_audit SET prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
        last := r.id;
    END LOOP;
    INSERT INTO auth_audit_head (id, hash) VALUES (last, prev);
END $$;
ALTER TABLE auth_audit ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;

-- Runs as the owner (SECURITY DEFINER): the services may insert audit rows
-- but not touch the head. Whatever id or hashes an INSERT names are
-- replaced.
CREATE FUNCTION auth_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    head auth_audit_head;
BEGIN
    SELECT * INTO STRICT head FROM auth_audit_head FOR UPDATE;
    NEW.id := head.id + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := sha256(head.hash || auth_audit_content(NEW.id, NEW.at, NEW.event, NEW.outcome, NEW.account_id,
        NEW.subject, NEW.ip, NEW.detail));
    UPDATE auth_audit_head SET id = NEW.id, hash = NEW.hash;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION auth_audit_chain() FROM PUBLIC;
CREATE TRIGGER auth_audit_chain BEFORE INSERT ON auth_audit FOR EACH ROW EXECUTE FUNCTION auth_audit_chain();

-- Nobody updates, deletes or truncates audit rows, the owner included: the
-- services lack the privileges anyway, and this refuses the rest. (An
-- owner or superuser who disables the trigger to rewrite a row breaks the
-- chain, which audit verify reports.) There is no retention for the audit
-- log: it is the record.
CREATE FUNCTION auth_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER auth_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON auth_audit
    FOR EACH STATEMENT EXECUTE FUNCTION auth_audit_append_only();
CREATE TRIGGER auth_audit_head_append_only BEFORE DELETE OR TRUNCATE ON auth_audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION auth_audit_append_only();

-- A SECURITY DEFINER function finds tables on a search path fixed here:
-- the schema migrated, then the temporary schema (last, so that a temporary
-- table of the caller cannot stand in for auth_audit_head).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION reserve_account_ids(bigint) SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION auth_audit_chain() SET search_path = %I, pg_temp', current_schema());
END $$;
