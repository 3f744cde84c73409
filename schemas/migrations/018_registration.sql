-- Registration of citizens who were never in any department's data
-- (issue 15, 2.1.1 and 2.1.6).
--
-- username: 4–20 letters, digits or underscore, starting with a letter;
-- unique whatever the case; never changed once set (a trigger refuses it,
-- whoever asks). realname_level: LV1 a phone only, LV2 name and ID number
-- checked (a fused account: the departments' data), LV3 the face
-- verified. The user agreement's version the citizen accepted, and when.
ALTER TABLE account
    ADD COLUMN username              text CHECK (username ~ '^[A-Za-z][A-Za-z0-9_]{3,19}$'),
    ADD COLUMN realname_level        text NOT NULL DEFAULT 'LV2' CHECK (realname_level IN ('LV1', 'LV2', 'LV3')),
    ADD COLUMN agreement_version     text,
    ADD COLUMN agreement_accepted_at timestamptz,
    ADD CHECK ((agreement_version IS NULL) = (agreement_accepted_at IS NULL));
CREATE UNIQUE INDEX account_username_lower ON account (lower(username));

-- Fused accounts that completed their first login passed the face check.
UPDATE account SET realname_level = 'LV3' WHERE status <> 'pending_completion' AND required_steps = '{}';

CREATE FUNCTION account_username_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.username IS NOT NULL AND NEW.username IS DISTINCT FROM OLD.username THEN
        RAISE EXCEPTION 'account % username cannot change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER account_username_fixed BEFORE UPDATE OF username ON account
    FOR EACH ROW EXECUTE FUNCTION account_username_fixed();

-- A registration in progress, bound to the (anonymous) session that does
-- it, like completion_flow: steps are removed from the front by a
-- conditional UPDATE. Nothing becomes an account before the face check of
-- the ID number given at ② succeeds in this very flow; then either the
-- account is created (LV3) or, when the ID number has one already, the
-- registrant is signed into it.
CREATE TABLE registration_flow (
    session_hash          bytea       PRIMARY KEY REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    steps                 text[]      NOT NULL,
    -- ① account info: the username, the phone proved by a code to it,
    -- the agreement accepted.
    username              text,
    phone_sealed          bytea,
    phone_bidx            bytea,
    phone_hint            text,
    agreement_version     text,
    agreement_accepted_at timestamptz,
    -- ② real-name info, checked by cleanse's rules.
    name                  text,
    id_type               text,
    id_sealed             bytea,
    id_bidx               bytea,
    id_hint               text,
    created_at            timestamptz NOT NULL
);
-- A username taken at ① is held by its flow until the flow ends: two
-- registrations cannot both reach the face check with it.
CREATE UNIQUE INDEX registration_flow_username ON registration_flow (lower(username));

-- A registration's face challenge has no account yet: it is bound to the
-- blind index of the ID number it must prove.
ALTER TABLE face_challenge ADD COLUMN id_bidx bytea,
    DROP CONSTRAINT face_challenge_purpose_check,
    ADD CONSTRAINT face_challenge_purpose_check CHECK (purpose IN ('login', 'complete', 'stepup', 'register'));

GRANT SELECT, INSERT, UPDATE, DELETE ON registration_flow TO idfusion_authsvc;
-- The login service creates registered accounts (account.Register): these
-- columns only.
GRANT INSERT (id_bidx, id_sealed, id_hint, id_type, name, phone_sealed, phone_bidx, phone_hint, phone_verified,
    status, origin, required_steps, username, realname_level, agreement_version, agreement_accepted_at) ON account TO idfusion_authsvc;
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO idfusion_authsvc', pg_get_serial_sequence('account', 'id'));
END $$;
