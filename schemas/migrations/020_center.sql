-- The personal center (issue 15): a citizen's mailing addresses (邮寄地址管理)
-- and the login records it shows (登录记录).
--
-- Up to 10 addresses an account, at most one of them the default (the
-- partial unique index; account.AddAddress keeps the cap under the account
-- row's lock). The recipient's phone is sealed like the account's own.
CREATE TABLE account_address (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    recipient    text        NOT NULL CHECK (char_length(recipient) BETWEEN 1 AND 30),
    phone_sealed bytea       NOT NULL,
    phone_hint   text        NOT NULL,
    region       text        NOT NULL CHECK (char_length(region) BETWEEN 2 AND 60),
    detail       text        NOT NULL CHECK (char_length(detail) BETWEEN 2 AND 120),
    is_default   boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX account_address_account ON account_address (account_id, id);
CREATE UNIQUE INDEX account_address_one_default ON account_address (account_id) WHERE is_default;

GRANT SELECT, INSERT, UPDATE, DELETE ON account_address TO idfusion_authsvc;
-- 登录记录: the login service reads back the logins it audited (no
-- subject, no detail).
GRANT SELECT (id, at, event, outcome, account_id, ip) ON auth_audit TO idfusion_authsvc;
