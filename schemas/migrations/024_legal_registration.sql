-- Registration and real-name verification of legal persons (法人注册,
-- 实名认证; issue 16, 2.2.1, 2.2.5, 2.2.6).
--
-- A legal registration in progress, bound to the (anonymous) session that
-- does it, like registration_flow: ① 填写信息认证 (the legal person's and
-- the representative's data), ② 创建用户 (password, contact, the contact
-- phone proved by a code). Steps are removed from the front by a
-- conditional UPDATE. The credit code is only kept sealed and as its
-- blind index; whether it has an account is not looked at before ②.
CREATE TABLE legal_registration_flow (
    session_hash          bytea       PRIMARY KEY REFERENCES auth_session (id_hash) ON DELETE CASCADE,
    steps                 text[]      NOT NULL,
    legal_type            text CHECK (legal_type IN ('enterprise', 'social_org', 'institution')),
    name                  text,
    code_sealed           bytea,
    code_bidx             bytea,
    code_hint             text,
    rep_name              text,
    rep_nationality       text,
    rep_id_type           text,
    rep_id_sealed         bytea,
    rep_id_bidx           bytea,
    rep_id_hint           text,
    rep_id_valid_from     date,
    rep_id_valid_to       date,
    agreement_version     text,
    agreement_accepted_at timestamptz,
    created_at            timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON legal_registration_flow TO idfusion_authsvc;

-- The scheduled re-check of unverified legal accounts against the
-- national enterprise interface: when the next check is due (NULL: never
-- checked, due now: a fused account the import created) and how many
-- checks found no verdict yet, for the exponential backoff. The job claims due rows with FOR UPDATE SKIP
-- LOCKED, so two instances never check one account at once.
ALTER TABLE account
    ADD COLUMN realname_next_check_at timestamptz,
    ADD COLUMN realname_attempts      integer NOT NULL DEFAULT 0 CHECK (realname_attempts >= 0);
CREATE INDEX account_realname_due ON account (realname_next_check_at NULLS FIRST, id)
    WHERE realname_status = 'unverified';
GRANT INSERT (realname_next_check_at) ON account TO idfusion_authsvc;

-- A verification that changed a legal account (实名等级升级) takes effect
-- at the next login: the account's sessions live then are marked stale,
-- and a stale session's next request is told to log in again.
ALTER TABLE auth_session ADD COLUMN stale_at timestamptz;
