-- The image captcha's audio alternative (听语音验证码, authsvc/captcha.go):
-- a WAV of the answer read out in Chinese, rendered when asked for (about
-- 120 kB, too big to store with every captcha) from the answer sealed with
-- the PII key and bound to the id, kept like the image until the captcha
-- is used.
ALTER TABLE captcha
    ADD COLUMN answer_sealed bytea,
    ADD CONSTRAINT captcha_answer_sealed_until_used CHECK (used_at IS NULL OR answer_sealed IS NULL);
