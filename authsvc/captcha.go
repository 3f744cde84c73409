package authsvc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"
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
// A captcha is captchaLen characters of captchaAlphabet drawn distorted
// into a PNG. Only a keyed hash of its answer is stored (with the image,
// until it is used); it lives Config.CaptchaTTL and takes one answer: a
// wrong one burns it, and of parallel right answers exactly one passes.

const (
	// captchaAlphabet has no look-alikes: no 0/O, 1/I/L, 2/Z.
	captchaAlphabet = "3456789ABCDEFGHJKMNPQRSTUVWXY"
	captchaLen      = 5
	// The image's size in pixels.
	captchaWidth, captchaHeight = 150, 50

	captchaAddressWindow = time.Hour
	captchaPhoneWindow   = 24 * time.Hour
)

// captchaRef is a captcha as a client is given it: the id to send back
// with the answer and where its image is.
type captchaRef struct {
	ID  string `json:"captcha_id"`
	URL string `json:"captcha_url"`
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

// errCaptchaUnknown: no live captcha has that id (its image is asked for).
var errCaptchaUnknown = errors.New("no such live captcha")

// randomCaptchaText is the default Config.CaptchaText: captchaLen
// characters of captchaAlphabet from crypto/rand.
func randomCaptchaText() string {
	var b [captchaLen]byte
	for i := range b {
		// Rejection sampling keeps every character equally likely.
		for {
			var x [1]byte
			rand.Read(x[:])
			if limit := 256 - 256%len(captchaAlphabet); int(x[0]) < limit {
				b[i] = captchaAlphabet[int(x[0])%len(captchaAlphabet)]
				break
			}
		}
	}
	return string(b[:])
}

// normalizeCaptcha is how answers compare: case-insensitive, full-width
// forms (a Chinese input method's Ａ３) as ASCII, spaces ignored.
func normalizeCaptcha(s string) string {
	s = strings.ToUpper(width.Narrow.String(s))
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// captchaHash keys a captcha's answer, bound to its id: the answers are
// few (29⁵), so an unkeyed hash would be read back from a copy of the
// table at once.
func (s *Server) captchaHash(id, answer string) []byte {
	return s.cfg.Keyring.BlindIndex("captcha", id+"|"+normalizeCaptcha(answer))
}

// newCaptcha makes a captcha for the client of r, within the client
// address's request rate (drawing one costs CPU).
func (s *Server) newCaptcha(ctx context.Context, r *http.Request) (captchaRef, error) {
	if !s.limiter.allow(clientNet(r)) {
		return captchaRef{}, errRateLimited
	}
	text := normalizeCaptcha(s.cfg.CaptchaText())
	img, err := drawCaptcha(text)
	if err != nil {
		return captchaRef{}, err
	}
	id := rand.Text()
	now := s.cfg.Now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO captcha (id, answer_hash, image, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		id, s.captchaHash(id, text), img, now, now.Add(s.cfg.CaptchaTTL)); err != nil {
		return captchaRef{}, err
	}
	return captchaRef{ID: id, URL: "/captcha/" + id + ".png"}, nil
}

// useCaptcha spends the live captcha id on answer and tells whether the
// answer was right. Spent either way: one answer per captcha. The
// conditional UPDATE lets exactly one of parallel submissions have it.
func (s *Server) useCaptcha(ctx context.Context, id, answer string) (bool, error) {
	now := s.cfg.Now()
	var stored []byte
	err := s.pool.QueryRow(ctx, `UPDATE captcha SET used_at = $2, expires_at = LEAST(expires_at, $2), image = NULL
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
	var img []byte
	err := errCaptchaUnknown
	if ok {
		err = s.pool.QueryRow(r.Context(), `SELECT image FROM captcha WHERE id = $1 AND used_at IS NULL AND expires_at > $2`, id, s.cfg.Now()).Scan(&img)
		if errors.Is(database.Translate(err), database.ErrNotFound) {
			err = errCaptchaUnknown
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(img)
}

// apiNewCaptcha is POST /api/v1/captcha: a fresh captcha for an API
// client's next send.
func (s *Server) apiNewCaptcha(w http.ResponseWriter, r *http.Request) {
	c, err := s.newCaptcha(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"captcha_id": c.ID, "captcha_url": c.URL, "expires_in": int(s.cfg.CaptchaTTL.Seconds())})
}

// loginCaptchaForm is POST /login/sms/captcha (看不清？换一张): the SMS
// form again as typed, with a new image (the form carried one).
func (s *Server) loginCaptchaForm(w http.ResponseWriter, r *http.Request) {
	s.loginForm(w, r, "sms", nil, "")
}

// infoCaptchaForm is POST /complete/info/captcha, the same for step ①.
func (s *Server) infoCaptchaForm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.stepPage(w, r, sess, schemas.StepInfo, pageData{Phone: r.PostFormValue("phone"), Address: r.PostFormValue("address")})
}

// The drawing. What makes it hard to read by machine: each character in
// its own colour, size, rotation and shear, overlapping its neighbours;
// the whole warped by two sine waves; lines through the characters in
// their colours; speckles.

var captchaFont = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(gobold.TTF) })

// drawCaptcha draws text as a PNG of captchaWidth × captchaHeight.
func drawCaptcha(text string) ([]byte, error) {
	f, err := captchaFont()
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	rand.Read(seed[:])
	rng := mrand.New(mrand.NewChaCha8(seed))
	between := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	dark := func() color.RGBA {
		return color.RGBA{uint8(rng.IntN(120)), uint8(rng.IntN(120)), uint8(rng.IntN(140)), 255}
	}

	bg := color.RGBA{uint8(215 + rng.IntN(40)), uint8(215 + rng.IntN(40)), uint8(215 + rng.IntN(40)), 255}
	canvas := image.NewRGBA(image.Rect(0, 0, captchaWidth, captchaHeight))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	// Faint lines behind the characters.
	for range 4 {
		c := color.RGBA{uint8(150 + rng.IntN(80)), uint8(150 + rng.IntN(80)), uint8(150 + rng.IntN(80)), 255}
		wave(canvas, c, between(5, captchaHeight-5), between(3, 10), between(40, 120), between(0, 2*math.Pi), 1, rng)
	}

	colors := make([]color.RGBA, 0, len(text))
	step := float64(captchaWidth-16) / float64(len(text))
	for i, ch := range text {
		size := between(32, 38)
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, err
		}
		// The glyph on its own, centred in a square mask.
		const box = 56
		glyph := image.NewAlpha(image.Rect(0, 0, box, box))
		d := font.Drawer{Dst: glyph, Src: image.Opaque, Face: face}
		adv := d.MeasureString(string(ch))
		d.Dot = fixed.Point26_6{X: (fixed.I(box) - adv) / 2, Y: fixed.I(box/2) + fixed.I(int(size*0.36))}
		d.DrawString(string(ch))
		face.Close()

		// Rotated, sheared and scaled onto its place, a little off the line.
		theta, shear, scale := between(-0.35, 0.35), between(-0.2, 0.2), between(0.9, 1.1)
		cx := 8 + step*(float64(i)+0.5) + between(-3, 3)
		cy := captchaHeight/2 + between(-4, 4)
		cos, sin := math.Cos(theta)*scale, math.Sin(theta)*scale
		a, b := cos, -sin+shear*cos
		c, e := sin, cos+shear*sin
		m := f64.Aff3{a, b, cx - (a*box/2 + b*box/2), c, e, cy - (c*box/2 + e*box/2)}
		layer := image.NewAlpha(canvas.Bounds())
		draw.BiLinear.Transform(layer, m, glyph, glyph.Bounds(), draw.Over, nil)
		col := dark()
		colors = append(colors, col)
		draw.DrawMask(canvas, canvas.Bounds(), image.NewUniform(col), image.Point{}, layer, image.Point{}, draw.Over)
	}

	// Lines through the characters, in their colours.
	for i := range 2 {
		wave(canvas, colors[rng.IntN(len(colors))], between(18, captchaHeight-18), between(4, 9), between(50, 140), between(0, 2*math.Pi), i, rng)
	}
	warped := warp(canvas, rng)
	// Speckles.
	for range captchaWidth * captchaHeight / 10 {
		x, y := rng.IntN(captchaWidth), rng.IntN(captchaHeight)
		if rng.IntN(3) == 0 {
			warped.SetRGBA(x, y, colors[rng.IntN(len(colors))])
		} else {
			warped.SetRGBA(x, y, color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, warped); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// wave draws y = mid + amp·sin(2πx/period + phase) across img, thick
// pixels wide, its slope drifting a little.
func wave(img *image.RGBA, c color.RGBA, mid, amp, period, phase float64, thick int, rng *mrand.Rand) {
	drift := (rng.Float64() - 0.5) * 0.3
	for x := range img.Bounds().Dx() {
		y := int(mid + amp*math.Sin(2*math.Pi*float64(x)/period+phase) + drift*float64(x-img.Bounds().Dx()/2))
		for t := range thick + 1 {
			if p := (image.Point{x, y + t}); p.In(img.Bounds()) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
	}
}

// warp moves every pixel of src along two sine waves (rows sideways,
// columns up and down): the characters' strokes bend.
func warp(src *image.RGBA, rng *mrand.Rand) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(b)
	ax, px, fx := 1.5+rng.Float64()*1.5, 20+rng.Float64()*20, rng.Float64()*2*math.Pi
	ay, py, fy := 2+rng.Float64()*2, 40+rng.Float64()*50, rng.Float64()*2*math.Pi
	for y := range b.Dy() {
		for x := range b.Dx() {
			sx := x + int(ax*math.Sin(2*math.Pi*float64(y)/px+fx))
			sy := y + int(ay*math.Sin(2*math.Pi*float64(x)/py+fy))
			sx, sy = min(max(sx, 0), b.Dx()-1), min(max(sy, 0), b.Dy()-1)
			dst.SetRGBA(x, y, src.RGBAAt(sx, sy))
		}
	}
	return dst
}

// captchaRoutes: the images (made within the address's request rate) and
// a new captcha for the JSON clients.
func (s *Server) captchaRoutes() []route {
	return []route{
		{"GET /captcha/{file}", s.captchaImage},
		{"POST /api/v1/captcha", s.apiNewCaptcha},
	}
}
