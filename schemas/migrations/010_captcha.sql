-- The image captcha (图形验证码) in front of the SMS sends (authsvc/captcha.go).

-- A captcha: its answer only as an HMAC keyed by the blind index key and
-- bound to the id; the image until the captcha is used. Minutes, one
-- answer: a use (right or wrong) sets used_at and brings expires_at back
-- to it, so expires_at is when it ended (Purge).
CREATE TABLE captcha (
    id          text        PRIMARY KEY,
    answer_hash bytea       NOT NULL,
    image       bytea,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK (used_at IS NULL OR image IS NULL)
);
CREATE INDEX captcha_expires ON captcha (expires_at);

-- The one send without a captcha a client address (clientNet) gets per
-- window, claimed by a conditional upsert: parallel first sends share it.
CREATE TABLE captcha_free_send (
    net        text        PRIMARY KEY,
    claimed_at timestamptz NOT NULL
);
CREATE INDEX captcha_free_send_claimed ON captcha_free_send (claimed_at);
