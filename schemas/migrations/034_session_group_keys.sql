-- Scale-out (docs/scale-out.md §3): the sessions' group and sms_code keep
-- the Citus rules.
--
-- Foreign keys from the sessions' group (sharded by the session's hash)
-- and from sms_code (by the phone's blind index) to account, and the
-- session's to agent_authorization, cross colocation groups: they go. The
-- writers check what they relied on in the transaction that writes (the
-- account's row they read and update, the authorization's FOR SHARE).
-- Accounts are never deleted (no role may), so the cascades of
-- recovery_flow and phone_change_flow never ran; the flows still go with
-- their session.
ALTER TABLE auth_session DROP CONSTRAINT auth_session_account_id_fkey,
    DROP CONSTRAINT auth_session_acting_for_fkey;
ALTER TABLE completion_flow DROP CONSTRAINT completion_flow_account_id_fkey;
ALTER TABLE face_challenge DROP CONSTRAINT face_challenge_account_id_fkey;
ALTER TABLE phone_change_flow DROP CONSTRAINT phone_change_flow_account_id_fkey;
ALTER TABLE recovery_flow DROP CONSTRAINT recovery_flow_account_id_fkey;
ALTER TABLE sms_code DROP CONSTRAINT sms_code_account_id_fkey;

-- Primary keys include the distribution column. A challenge's id and a
-- state's hash are random, so they stay unique alone; the face provider's
-- callback finds a challenge by its id only (it has no session), by the
-- index face_challenge_id. An upstream login's callback has the browser's
-- session: the key leads with it (upstream_login_session is its prefix).
ALTER TABLE face_challenge DROP CONSTRAINT face_challenge_pkey,
    ADD PRIMARY KEY (session_hash, id);
CREATE INDEX face_challenge_id ON face_challenge (id);
ALTER TABLE sms_code DROP CONSTRAINT sms_code_pkey,
    ADD PRIMARY KEY (phone_bidx, id);
ALTER TABLE upstream_login DROP CONSTRAINT upstream_login_pkey,
    ADD PRIMARY KEY (session_hash, state_hash);
DROP INDEX upstream_login_session;

-- Usernames are unique across the country, compared without case, and a
-- login finds an account by one: neither account (sharded by the ID
-- number's blind index) nor registration_flow (by the session's hash) can
-- keep that unique. Each is held by a lookup table distributed by the
-- lowercased username (one colocation group), written in the transaction
-- that writes the account or the flow's step ①. The primary keys take the
-- old indexes' names: a conflict is recognised by them.
--
-- account_username: an account's username (set once, never changed: the
-- trigger account_username_fixed), with the account's id and blind index
-- so that a login by username goes on to the account's shard.
DROP INDEX account_username_lower;
CREATE TABLE account_username (
    username_lower text   NOT NULL,
    account_id     bigint NOT NULL,
    account_bidx   bytea  NOT NULL,
    CONSTRAINT account_username_lower PRIMARY KEY (username_lower)
);
INSERT INTO account_username (username_lower, account_id, account_bidx)
    SELECT lower(username), id, id_bidx FROM account WHERE username IS NOT NULL;

-- registration_username: a username held by a registration in progress
-- (its step ① done) until the flow ends: two registrations cannot both
-- reach the face check with it. The flow's end removes it; the purge
-- removes those whose flow went with its session.
DROP INDEX registration_flow_username;
CREATE TABLE registration_username (
    username_lower text  NOT NULL,
    session_hash   bytea NOT NULL,
    CONSTRAINT registration_flow_username PRIMARY KEY (username_lower)
);
INSERT INTO registration_username (username_lower, session_hash)
    SELECT lower(username), session_hash FROM registration_flow WHERE username IS NOT NULL;

GRANT SELECT, INSERT ON account_username TO idfusion_authsvc;
GRANT SELECT, INSERT, DELETE ON registration_username TO idfusion_authsvc;
GRANT SELECT (session_hash), DELETE ON registration_username TO idfusion_import;
GRANT SELECT (session_hash) ON registration_flow TO idfusion_import;
