-- The image captcha's audio alternative (听语音验证码, authsvc/captcha.go):
-- its answer read out in Chinese as a WAV, kept like the image until the
-- captcha is used.
ALTER TABLE captcha
    ADD COLUMN audio bytea,
    ADD CONSTRAINT captcha_audio_until_used CHECK (used_at IS NULL OR audio IS NULL);
