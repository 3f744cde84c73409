-- The legal person's side of agents (经办人, issue 17, 2.2.7, 2.2.8).
--
-- agent_search_try: every 创建经办人 search that found nobody, per legal
-- account. A search names a person by 姓名 + 身份证号 + 手机号, all three
-- exactly; the misses of the last 24 hours are counted against a limit
-- (authsvc/agents.go), under a lock on the legal account, so the search
-- is no way to guess which names, ID numbers and phones go together.
CREATE TABLE agent_search_try (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    legal_account_id bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL
);
CREATE INDEX agent_search_try_legal ON agent_search_try (legal_account_id, at);
-- The purge (fusion schedule's purge_auth, as the importer) deletes the
-- tries older than the day they count for.
CREATE INDEX agent_search_try_at ON agent_search_try (at);

-- inbox_message: the service's own inbox of an account (the mobile app's
-- channel, 海易办 APP 内部消息): an authorization's notice with its link.
CREATE TABLE inbox_message (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    link       text,
    created_at timestamptz NOT NULL,
    read_at    timestamptz
);
CREATE INDEX inbox_message_account ON inbox_message (account_id, created_at);

GRANT SELECT, INSERT ON agent_search_try TO idfusion_authsvc;
GRANT DELETE, SELECT (at) ON agent_search_try TO idfusion_import;
GRANT SELECT, INSERT, UPDATE ON inbox_message TO idfusion_authsvc;
