package authsvc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/dchest/captcha"
	"golang.org/x/text/width"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// The image captcha (图形验证码) in front of the SMS sends. A send needs a
// solved captcha when the client address (clientNet) asked for a code in
// the last captchaAddressWindow, or the phone was asked a code for in the
// last captchaPhoneWindow, from wherever. The first send from a fresh
// address to a fresh phone needs none: one free send per address per
// window, claimed by a conditional upsert so that parallel first sends
// get one free send between them. Both rules count every code stored
// (sent or not: see sendCode), so the answer never tells whether the ID
// number matched the phone.
//
// A captcha is captchaLen digits, rendered by github.com/dchest/captcha
// as a distorted PNG and, for those who cannot read it (听语音验证码), as a WAV
// of the digits read out in Chinese over noise. A keyed hash of its
// answer is stored, and until it is used its image and its answer sealed
// with the PII key (the audio is rendered from it when asked for: a WAV
// is some 120 kB, too much to store with every captcha); it lives
// Config.CaptchaTTL and takes one answer: a wrong one burns it, and
// of parallel right answers exactly one passes.

const (
	captchaLen = 6
	// The image's size in pixels (dchest/captcha's standard size).
	captchaWidth, captchaHeight = captcha.StdWidth, captcha.StdHeight
	// captchaLang is the audio's language: Chinese digits.
	captchaLang = "zh"

	captchaAddressWindow = time.Hour
	captchaPhoneWindow   = 24 * time.Hour
)

// captchaRef is a captcha as a client is given it: the id to send back
// with the answer and where its image and its audio are.
type captchaRef struct {
	ID       string `json:"captcha_id"`
	URL      string `json:"captcha_url"`
	AudioURL string `json:"audio_url"`
}

// newCaptchaRef is the ref of the captcha id.
func newCaptchaRef(id string) captchaRef {
	return captchaRef{ID: id, URL: "/captcha/" + id + ".png", AudioURL: "/captcha/" + id + "/audio.wav"}
}

// captchaInput is what a send request carries of a captcha.
type captchaInput struct {
	ID, Answer string
}

// captchaError refuses a send that needed a captcha and had none
// (wrong=false) or not the right answer to a live one (wrong=true). It
// carries a fresh captcha for the next try.
type captchaError struct {
	wrong bool
	fresh captchaRef
}

func (e *captchaError) Error() string {
	if e.wrong {
		return "wrong, expired or used captcha"
	}
	return "captcha required"
}

// errCaptchaUnknown: no live captcha has that id (its image or audio is
// asked for).
var errCaptchaUnknown = errors.New("no such live captcha")

// randomCaptchaText is the default Config.CaptchaText: captchaLen digits
// from crypto/rand (dchest/captcha's RandomDigits).
func randomCaptchaText() string {
	return digitString(captcha.RandomDigits(captchaLen))
}

// digitString is digits (values 0–9) as the ASCII string of them.
func digitString(digits []byte) string {
	b := make([]byte, len(digits))
	for i, d := range digits {
		b[i] = '0' + d
	}
	return string(b)
}

// captchaDigits is the normalized answer text as dchest/captcha's digits
// (values 0–9); an error when it is not all digits.
func captchaDigits(text string) ([]byte, error) {
	if text == "" {
		return nil, errors.New("empty captcha answer")
	}
	digits := make([]byte, len(text))
	for i := range len(text) {
		if text[i] < '0' || text[i] > '9' {
			return nil, fmt.Errorf("captcha answer %q is not all digits", text)
		}
		digits[i] = text[i] - '0'
	}
	return digits, nil
}

// normalizeCaptcha is how answers compare: full-width digits (a Chinese
// input method's ３) as ASCII, spaces (full-width ones too) ignored.
func normalizeCaptcha(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, width.Narrow.String(s))
}

// captchaHash keys a captcha's answer, bound to its id: the answers are
// few (10⁶), so an unkeyed hash would be read back from a copy of the
// table at once.
func (s *Server) captchaHash(id, answer string) []byte {
	return s.cfg.Keyring.BlindIndex("captcha", id+"|"+normalizeCaptcha(answer))
}

// newCaptcha makes a captcha for the client of r, within the client
// address's request rate (rendering one costs CPU).
func (s *Server) newCaptcha(ctx context.Context, r *http.Request) (captchaRef, error) {
	if !s.limiter.allow(clientNet(r)) {
		return captchaRef{}, errRateLimited
	}
	text := normalizeCaptcha(s.cfg.CaptchaText())
	digits, err := captchaDigits(text)
	if err != nil {
		return captchaRef{}, err
	}
	id := rand.Text()
	var img bytes.Buffer
	if _, err := captcha.NewImage(id, digits, captchaWidth, captchaHeight).WriteTo(&img); err != nil {
		return captchaRef{}, err
	}
	now := s.cfg.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO captcha (id, answer_hash, image, answer_sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, s.captchaHash(id, text), img.Bytes(), s.cfg.Keyring.Seal([]byte(text), captchaAAD(id)), now, now.Add(s.cfg.CaptchaTTL)); err != nil {
		return captchaRef{}, err
	}
	return newCaptchaRef(id), nil
}

// captchaAudioWAV renders the audio of the captcha id of digits (values
// 0–9) with dchest/captcha: a WAV of the digits read out in captchaLang
// over noise. Its randomness is seeded by the id, the digits and a
// per-process secret: asked again, a process renders the same sound.
func captchaAudioWAV(id string, digits []byte) ([]byte, error) {
	var wav bytes.Buffer
	if _, err := captcha.NewAudio(id, digits, captchaLang).WriteTo(&wav); err != nil {
		return nil, err
	}
	return wav.Bytes(), nil
}

// captchaAAD binds a sealed captcha answer to its captcha.
func captchaAAD(id string) []byte { return []byte("captcha|" + id) }

// useCaptcha spends the live captcha id on answer and tells whether the
// answer was right. Spent either way: one answer per captcha. The
// conditional UPDATE lets exactly one of parallel submissions have it.
func (s *Server) useCaptcha(ctx context.Context, id, answer string) (bool, error) {
	now := s.cfg.Now()
	var stored []byte
	err := s.pool.QueryRow(ctx, `UPDATE captcha SET used_at = $2, expires_at = LEAST(expires_at, $2), image = NULL, answer_sealed = NULL
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING answer_hash`, id, now).Scan(&stored)
	if errors.Is(database.Translate(err), database.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(stored, s.captchaHash(id, answer)) == 1, nil
}

// captchaNeeded tells why a send from the address net to the phone with
// blind index phoneBidx needs a captcha ("" when it needs none, having
// claimed the address's free send). A nil phoneBidx asks about the
// address alone, claiming nothing (a page deciding whether to show one).
func (s *Server) captchaNeeded(ctx context.Context, net string, phoneBidx []byte) (string, error) {
	now := s.cfg.Now()
	var fromNet, toPhone bool
	if err := s.pool.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM sms_code WHERE ip = $1 AND created_at > $2),
			EXISTS (SELECT 1 FROM sms_code WHERE phone_bidx = $3 AND created_at > $4)`,
		net, now.Add(-captchaAddressWindow), phoneBidx, now.Add(-captchaPhoneWindow)).Scan(&fromNet, &toPhone); err != nil {
		return "", err
	}
	switch {
	case fromNet:
		return "address sent a code recently", nil
	case toPhone:
		return "phone got a code recently", nil
	case phoneBidx == nil:
		return "", nil
	}
	// Nothing stored yet, but parallel first sends may all be here: the
	// free send is the address's once per window, whoever claims it.
	tag, err := s.pool.Exec(ctx, `INSERT INTO captcha_free_send (net, claimed_at) VALUES ($1, $2)
		ON CONFLICT (net) DO UPDATE SET claimed_at = EXCLUDED.claimed_at WHERE captcha_free_send.claimed_at <= $3`,
		net, now, now.Add(-captchaAddressWindow))
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() != 1 {
		return "address used its free send", nil
	}
	return "", nil
}

// checkCaptcha is the captcha rule of an SMS send (event names it in the
// audit log): nil when the send needs no captcha or in carries the right
// answer to a live one; else a *captchaError with a fresh captcha. It
// reads nothing of the account, so its answer is the same whether the ID
// number and the phone match.
func (s *Server) checkCaptcha(ctx context.Context, r *http.Request, event string, account int64, phone string, in captchaInput) error {
	why, err := s.captchaNeeded(ctx, clientNet(r), s.phoneIndex(phone))
	if err != nil || why == "" {
		return err
	}
	refusal := &captchaError{}
	if strings.TrimSpace(in.Answer) != "" {
		ok, err := s.useCaptcha(ctx, in.ID, in.Answer)
		if err != nil || ok {
			return err
		}
		refusal.wrong = true
	}
	outcome := "captcha_required"
	if refusal.wrong {
		outcome = "captcha_wrong"
	}
	s.audit(ctx, auditEvent{event: event, outcome: outcome, account: account, subject: pii.MaskPhone(phone), ip: clientIP(r), detail: why})
	if refusal.fresh, err = s.newCaptcha(ctx, r); err != nil {
		return err
	}
	return refusal
}

// formCaptcha is the captcha a page shows by its send button when the
// send did not refuse with a fresh one (problem.captcha): a new one when
// the submitted form showed one (it stays), or when byAddress and the
// next send from this address will need one. nil when none is needed, or
// none can be made now: the send will say so.
func (s *Server) formCaptcha(r *http.Request, byAddress bool) *captchaRef {
	ctx := r.Context()
	if r.PostFormValue("captcha_id") == "" {
		if !byAddress {
			return nil
		}
		why, err := s.captchaNeeded(ctx, clientNet(r), nil)
		if err != nil || why == "" {
			return nil
		}
	}
	c, err := s.newCaptcha(ctx, r)
	if err != nil {
		return nil
	}
	return &c
}

// captchaImage serves GET /captcha/{file}, file being ID.png: the image of
// a live captcha.
func (s *Server) captchaImage(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	if !ok {
		s.fail(w, r, errCaptchaUnknown)
		return
	}
	img, err := s.liveCaptcha(r, id, "image")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(img)
}

// captchaAudio serves GET /captcha/{id}/audio.wav: the audio of a live
// captcha (听语音验证码), under the same rules as its image. Rendering it
// costs CPU: within the client address's request rate.
func (s *Server) captchaAudio(w http.ResponseWriter, r *http.Request) {
	if !s.limiter.allow(clientNet(r)) {
		s.fail(w, r, errRateLimited)
		return
	}
	id := r.PathValue("id")
	sealed, err := s.liveCaptcha(r, id, "answer_sealed")
	var wav []byte
	if err == nil {
		var text []byte
		if text, err = s.cfg.Keyring.Open(sealed, captchaAAD(id)); err == nil {
			var digits []byte
			if digits, err = captchaDigits(string(text)); err == nil {
				wav, err = captchaAudioWAV(id, digits)
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(wav)
}

// liveCaptcha reads the column (image or answer_sealed, a constant) of the
// live captcha id; errCaptchaUnknown when there is none.
func (s *Server) liveCaptcha(r *http.Request, id, column string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(r.Context(), `SELECT `+column+` FROM captcha WHERE id = $1 AND used_at IS NULL AND expires_at > $2`, id, s.cfg.Now()).Scan(&b)
	if errors.Is(database.Translate(err), database.ErrNotFound) || err == nil && b == nil {
		return nil, errCaptchaUnknown
	}
	return b, err
}

// apiNewCaptcha is POST /api/v1/captcha: a fresh captcha for an API
// client's next send.
func (s *Server) apiNewCaptcha(w http.ResponseWriter, r *http.Request) {
	c, err := s.newCaptcha(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"captcha_id": c.ID, "captcha_url": c.URL, "audio_url": c.AudioURL, "expires_in": int(s.cfg.CaptchaTTL.Seconds())})
}

// loginCaptchaForm is POST /login/sms/captcha (看不清？换一张): the SMS
// form again as typed, with a new image (the form carried one).
func (s *Server) loginCaptchaForm(p *principal) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.loginForm(w, r, p.smsTab, nil, "")
	}
}

// infoCaptchaForm is POST /complete/info/captcha, the same for step ①.
func (s *Server) infoCaptchaForm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.stepPage(w, r, sess, schemas.StepInfo, pageData{Phone: r.PostFormValue("phone"), Address: r.PostFormValue("address")})
}

// captchaRoutes: the images and audios (made within the address's request
// rate) and a new captcha for the JSON clients.
func (s *Server) captchaRoutes() []route {
	return []route{
		{"GET /captcha/{file}", s.captchaImage},
		{"GET /captcha/{id}/audio.wav", s.captchaAudio},
		{"POST /api/v1/captcha", s.apiNewCaptcha},
	}
}
