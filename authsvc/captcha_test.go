package authsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dchest/captcha"
	"github.com/google/go-cmp/cmp"
)

// testCaptcha is the answer of every captcha the tests' services make:
// setup sets Config.CaptchaText to it, so tests type it as a citizen
// reads it off the image (or hears it).
const testCaptcha = "739104"

// testCaptchaTyped is testCaptcha as a citizen may type it: full-width
// digits from a Chinese input method, with a space.
const testCaptchaTyped = "７３９ １０４"

// solving posts body with post and, when the service asks for an image
// captcha, posts it again with the captcha solved.
func solving(post func(map[string]string) response, body map[string]string) response {
	r := post(body)
	if r.Status != http.StatusPreconditionRequired || r.str("error") != "captcha_required" {
		return r
	}
	solved := maps.Clone(body)
	solved["captcha_id"], solved["captcha"] = r.str("captcha_id"), testCaptcha
	return post(solved)
}

func (br *browser) postSolving(path string, body map[string]string) response {
	br.t.Helper()
	return solving(func(b map[string]string) response { return br.post(path, b) }, body)
}

var captchaIDRE = regexp.MustCompile(`name="captcha_id" value="([^"]+)"[\s\S]*<img id="captcha-image" src="/captcha/([^"]+)\.png"[\s\S]*<a id="captcha-audio" href="/captcha/([^"]+)/audio\.wav"[^>]*>听语音验证码</a>`)

// pageCaptcha is the id of the captcha a page shows ("" when none),
// checking that its image and its audio link are that captcha's.
func pageCaptcha(t *testing.T, page string) string {
	t.Helper()
	m := captchaIDRE.FindStringSubmatch(page)
	if m == nil {
		if strings.Contains(page, "captcha") {
			t.Fatalf("a captcha without its id, image and audio link in %s", page)
		}
		return ""
	}
	if m[1] != m[2] || m[1] != m[3] {
		t.Fatalf("captcha id %s shows the image of %s and the audio of %s", m[1], m[2], m[3])
	}
	return m[1]
}

// sendFrom asks for a login code from the client address addr (its own
// browser: no cookies), safe in a goroutine. It returns the status and
// the error code.
func (b *testBundle) sendFrom(addr string, body map[string]string) (int, string) {
	j, _ := json.Marshal(body)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/login/sms/send", bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	b.svc.Handler().ServeHTTP(rec, req)
	var out struct {
		Error string `json:"error"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Error
}

func (b *testBundle) codeCount(t testing.TB) int { return b.count(t, `SELECT count(*) FROM sms_code`) }

// TestCaptchaText: the answers are captchaLen digits, every digit in
// use, and compare with full-width digits and spaces folded; an answer
// made of anything but digits makes no captcha.
func TestCaptchaText(t *testing.T) {
	t.Parallel()
	seen := map[rune]bool{}
	for range 200 {
		s := randomCaptchaText()
		if len(s) != captchaLen || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
			t.Fatalf("answer %q: want %d digits", s, captchaLen)
		}
		for _, r := range s {
			seen[r] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("digits %v in 200 answers, want all ten", seen)
	}
	for _, tt := range []struct{ in, want string }{
		{"739104", "739104"},
		{" 739 104\t", "739104"},
		{"７３９１０４", "739104"},
		{testCaptchaTyped, "739104"},
		{"７３９　１０４", "739104"},
	} {
		if got := normalizeCaptcha(tt.in); got != tt.want {
			t.Errorf("normalizeCaptcha(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if d, err := captchaDigits("739104"); err != nil || !bytes.Equal(d, []byte{7, 3, 9, 1, 0, 4}) {
		t.Errorf("captchaDigits(739104) = %v, %v", d, err)
	}
	for _, bad := range []string{"", "K7MX3", "73910a"} {
		if _, err := captchaDigits(bad); err == nil {
			t.Errorf("captchaDigits(%q): no error", bad)
		}
	}
}

// TestCaptchaImage: a PNG of the stated size and a WAV, different for
// each captcha of the same answer.
func TestCaptchaImage(t *testing.T) {
	t.Parallel()
	digits := []byte{7, 3, 9, 1, 0, 4}
	var first, again bytes.Buffer
	captcha.NewImage("ONE", digits, captchaWidth, captchaHeight).WriteTo(&first)
	captcha.NewImage("TWO", digits, captchaWidth, captchaHeight).WriteTo(&again)
	wav, err := captchaAudioWAV("ONE", digits)
	wav2, err2 := captchaAudioWAV("TWO", digits)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	if bytes.Equal(first.Bytes(), again.Bytes()) || bytes.Equal(wav, wav2) {
		t.Error("two captchas of the same answer gave the same image or audio")
	}
	img, err := png.Decode(&first)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != captchaWidth || got.Y != captchaHeight {
		t.Errorf("image %v, want %dx%d", got, captchaWidth, captchaHeight)
	}
	colors := map[color.Color]bool{}
	for i := range captchaWidth * captchaHeight {
		colors[img.At(i%captchaWidth, i/captchaWidth)] = true
	}
	if len(colors) < 2 {
		t.Errorf("%d colours, want a drawing", len(colors))
	}
	if !isWAV(wav) {
		t.Errorf("audio starts %q, want a RIFF WAVE", wav[:min(len(wav), 12)])
	}
}

// isWAV tells whether b starts as a RIFF WAVE file.
func isWAV(b []byte) bool {
	return len(b) > 44 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE"
}

// TestCaptchaRequired: the first send from an address needs no captcha;
// the next one from that address does, and so does a send to a phone with
// a recent send from any address, while a fresh address to a fresh phone
// goes free. A refusal sends nothing, counts for no limit, is audited
// and carries a fresh captcha whose image is served; the right answer,
// in any case, lets the send through.
func TestCaptchaRequired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "钱一", "13912340501", goodPassword)
	d := b.active(t, "钱二", "13912340502", goodPassword)
	send := func(addr string, who citizen, captchaID, answer string) response {
		body := map[string]string{"id_number": who.IDNumber, "phone": who.Phone}
		if captchaID != "" {
			body["captcha_id"], body["captcha"] = captchaID, answer
		}
		return b.from(t, addr, "/api/v1/login/sms/send", body)
	}
	if r := send("192.0.2.1:1", c, "", ""); r.Status != http.StatusAccepted {
		t.Fatalf("first send: %d %s, want 202", r.Status, r.Raw)
	}
	b.clock.Advance(61 * time.Second)
	codes, sent := b.codeCount(t), b.outboxCount(t)
	refusals := []struct {
		name, addr string
		who        citizen
	}{
		{"same address, another phone", "192.0.2.1:2", d},
		{"another address, the phone with a send", "198.51.100.7:1", c},
	}
	for _, tt := range refusals {
		r := send(tt.addr, tt.who, "", "")
		want := map[string]any{"error": "captcha_required", "message": "请输入图形验证码", "captcha_id": r.Body["captcha_id"], "captcha_url": "/captcha/" + r.str("captcha_id") + ".png", "audio_url": "/captcha/" + r.str("captcha_id") + "/audio.wav"}
		if diff := cmp.Diff(want, r.Body); diff != "" || r.Status != http.StatusPreconditionRequired || r.str("captcha_id") == "" {
			t.Errorf("%s: %d, mismatch (-want +got):\n%s", tt.name, r.Status, diff)
		}
		img := b.browser(t).get(r.str("captcha_url"))
		if img.Status != http.StatusOK || img.Header.Get("Content-Type") != "image/png" {
			t.Errorf("%s: captcha image: %d %s", tt.name, img.Status, img.Header.Get("Content-Type"))
		}
		if r := send(tt.addr, tt.who, r.str("captcha_id"), testCaptchaTyped); r.Status != http.StatusAccepted {
			t.Errorf("%s, captcha solved (full-width, spaced): %d %s, want 202", tt.name, r.Status, r.Raw)
		}
		b.clock.Advance(61 * time.Second)
	}
	if got, want := b.codeCount(t)-codes, len(refusals); got != want {
		t.Errorf("%d codes stored, want %d: a refused send counts for no limit", got, want)
	}
	if got, want := b.outboxCount(t)-sent, len(refusals); got != want {
		t.Errorf("%d messages sent, want %d", got, want)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'sms_send_login' AND outcome = 'captcha_required'`); got != len(refusals) {
		t.Errorf("%d refusals audited, want %d", got, len(refusals))
	}
	fresh := b.active(t, "钱三", "13912340503", goodPassword)
	if r := send("203.0.113.9:1", fresh, "", ""); r.Status != http.StatusAccepted {
		t.Errorf("control, a fresh address to a fresh phone: %d %s, want 202", r.Status, r.Raw)
	}
}

// TestCaptchaWindows: an address needs a captcha for an hour after its
// last send, even once its free send is an hour old; a phone for a day
// after its last, whichever address asks.
func TestCaptchaWindows(t *testing.T) {
	t.Parallel()
	type send struct {
		at    time.Duration // since the first send
		addr  string
		want  int
		solve bool // send it then with the captcha solved
	}
	tests := []struct {
		name  string
		sends []send
	}{
		{"address", []send{
			{0, "192.0.2.1:1", http.StatusAccepted, false},
			{time.Minute, "192.0.2.1:1", http.StatusPreconditionRequired, true},
			{time.Hour + 30*time.Second, "192.0.2.1:1", http.StatusPreconditionRequired, false},
			{time.Hour + time.Minute + time.Second, "192.0.2.1:1", http.StatusAccepted, false},
		}},
		{"phone", []send{
			{0, "192.0.2.1:1", http.StatusAccepted, false},
			{24*time.Hour - time.Second, "192.0.2.2:1", http.StatusPreconditionRequired, false},
			{24*time.Hour + time.Second, "192.0.2.3:1", http.StatusAccepted, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			start := b.clock.Now()
			for i, s := range tt.sends {
				b.clock.Advance(start.Add(s.at).Sub(b.clock.Now()))
				phone := "13912340601"
				if tt.name == "address" {
					phone = fmt.Sprintf("139123406%02d", i+10)
				}
				body := map[string]string{"id_number": residentID("19700101"), "phone": phone}
				r := b.from(t, s.addr, "/api/v1/login/sms/send", body)
				if r.Status != s.want {
					t.Fatalf("send %d at +%s from %s: %d %s, want %d", i+1, s.at, s.addr, r.Status, r.Raw, s.want)
				}
				if s.solve {
					body["captcha_id"], body["captcha"] = r.str("captcha_id"), testCaptcha
					if r := b.from(t, s.addr, "/api/v1/login/sms/send", body); r.Status != http.StatusAccepted {
						t.Fatalf("send %d with the captcha: %d %s", i+1, r.Status, r.Raw)
					}
				}
			}
		})
	}
}

// TestCaptchaOneAnswer: a wrong answer is refused and burns the captcha
// (its right answer is refused after); a used captcha is refused; each
// refusal brings a fresh captcha and is audited.
func TestCaptchaOneAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "孙一", "13912340511", goodPassword)
	br := b.browser(t)
	send := func(captchaID, answer string) response {
		return br.post("/api/v1/login/sms/send", map[string]string{"id_number": c.IDNumber, "phone": c.Phone, "captcha_id": captchaID, "captcha": answer})
	}
	if r := br.sendCode(c.IDNumber, c.Phone); r.Status != http.StatusAccepted {
		t.Fatalf("first send: %d %s", r.Status, r.Raw)
	}
	id := br.post("/api/v1/captcha", nil).str("captcha_id")
	steps := []struct {
		name    string
		id      func(prev response) string
		answer  string
		status  int
		errCode string
	}{
		{"wrong answer", func(response) string { return id }, "000000", http.StatusUnprocessableEntity, "captcha_wrong"},
		{"right answer to the burned one", func(response) string { return id }, testCaptcha, http.StatusUnprocessableEntity, "captcha_wrong"},
		{"unknown id", func(response) string { return "nosuchcaptcha" }, testCaptcha, http.StatusUnprocessableEntity, "captcha_wrong"},
		{"no answer", func(response) string { return id }, "", http.StatusPreconditionRequired, "captcha_required"},
		{"the fresh one, right", func(prev response) string { return prev.str("captcha_id") }, testCaptcha, http.StatusAccepted, ""},
		{"the used one again", func(response) string { return id }, testCaptcha, http.StatusUnprocessableEntity, "captcha_wrong"},
	}
	var prev response
	for _, s := range steps {
		b.clock.Advance(61 * time.Second)
		r := send(s.id(prev), s.answer)
		if r.Status != s.status || r.str("error") != s.errCode {
			t.Errorf("%s: %d %s, want %d %s", s.name, r.Status, r.Raw, s.status, s.errCode)
		}
		if s.errCode != "" && (r.str("captcha_id") == "" || r.str("captcha_id") == prev.str("captcha_id")) {
			t.Errorf("%s: captcha %q, want a fresh one", s.name, r.str("captcha_id"))
		}
		if s.status == http.StatusAccepted {
			id = s.id(prev)
		}
		prev = r
	}
	// The used captcha stays used when the clock steps back (NTP), though
	// its use brought expires_at back to then.
	// (Asked of useCaptcha: the request rate limiter has its own view of
	// a clock going back.)
	b.clock.Advance(-2 * time.Minute)
	if ok, err := b.svc.useCaptcha(context.Background(), id, testCaptcha); ok || err != nil {
		t.Errorf("the used captcha, the clock stepped back: %v %v, want refused", ok, err)
	}
	if r := br.get("/captcha/" + id + ".png"); r.Status != http.StatusNotFound {
		t.Errorf("image of the used captcha, the clock stepped back: %d, want 404", r.Status)
	}
	b.clock.Advance(2 * time.Minute)
	if r := br.get("/captcha/" + id + "/audio.wav"); r.Status != http.StatusNotFound {
		t.Errorf("audio of the used captcha: %d, want 404", r.Status)
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'sms_send_login' AND outcome = 'captcha_wrong'`); got != 4 {
		t.Errorf("%d wrong captchas audited, want 4", got)
	}
	if got := b.outboxCount(t); got != 2 {
		t.Errorf("%d messages sent, want 2", got)
	}
}

// TestCaptchaAudio: a live captcha's audio (听语音验证码) is a WAV, served
// under its image's rules: none for an unknown captcha, nor for a used
// one (whatever its answer was).
func TestCaptchaAudio(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	c := br.post("/api/v1/captcha", nil)
	id := c.str("captcha_id")
	if c.Status != http.StatusCreated || c.str("audio_url") != "/captcha/"+id+"/audio.wav" {
		t.Fatalf("new captcha: %d %s, want its audio_url", c.Status, c.Raw)
	}
	r := br.get(c.str("audio_url"))
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "audio/wav" || !isWAV([]byte(r.Raw)) {
		t.Fatalf("audio of a live captcha: %d %s, starts %q, want a WAV", r.Status, r.Header.Get("Content-Type"), r.Raw[:min(len(r.Raw), 12)])
	}
	if img := br.get(c.str("captcha_url")); img.Status != http.StatusOK {
		t.Errorf("image of a live captcha: %d", img.Status)
	}
	if again := br.get(c.str("audio_url")); again.Raw != r.Raw {
		t.Error("the audio asked again sounds different: recordings to average")
	}
	var sealed []byte
	if err := b.pool.QueryRow(context.Background(), `SELECT answer_sealed FROM captcha WHERE id = $1`, id).Scan(&sealed); err != nil || len(sealed) == 0 || bytes.Contains(sealed, []byte(testCaptcha)) {
		t.Errorf("sealed answer %x, %v: want it sealed", sealed, err)
	}
	for _, path := range []string{"/captcha/NOSUCHCAPTCHA/audio.wav", "/captcha/" + id + "/audio.mp3", "/captcha/" + id + ".wav"} {
		if r := br.get(path); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.Status)
		}
	}
	if ok, err := b.svc.useCaptcha(context.Background(), id, "000000"); ok || err != nil {
		t.Fatalf("wrong answer: %v %v", ok, err)
	}
	if r := br.get(c.str("audio_url")); r.Status != http.StatusNotFound {
		t.Errorf("audio of a used captcha: %d, want 404", r.Status)
	}
	if got := b.count(t, `SELECT count(*) FROM captcha WHERE id = $1 AND image IS NULL AND answer_sealed IS NULL`, id); got != 1 {
		t.Errorf("the used captcha keeps its image or sealed answer")
	}
}

// TestCaptchaTellsNothing: whether the ID number matches the phone, the
// sends after it meet the same captcha answers (those codes were stored
// unsent, and count as sends).
func TestCaptchaTellsNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	type answers struct {
		First, SameAddress, SamePhone response
	}
	strip := func(r response) response {
		delete(r.Body, "captcha_id")
		delete(r.Body, "captcha_url")
		delete(r.Body, "audio_url")
		return response{Status: r.Status, Body: r.Body}
	}
	run := func(i int, matches bool) answers {
		c := b.active(t, "李一", fmt.Sprintf("139123405%02d", 20+i), goodPassword)
		id := c.IDNumber
		if !matches {
			id = residentID("19700101")
		}
		other := b.active(t, "李二", fmt.Sprintf("139123405%02d", 40+i), goodPassword)
		addr := fmt.Sprintf("192.0.2.%d:1", 10+i)
		var a answers
		a.First = strip(b.from(t, addr, "/api/v1/login/sms/send", map[string]string{"id_number": id, "phone": c.Phone}))
		a.SameAddress = strip(b.from(t, addr, "/api/v1/login/sms/send", map[string]string{"id_number": other.IDNumber, "phone": other.Phone}))
		a.SamePhone = strip(b.from(t, fmt.Sprintf("198.51.100.%d:1", 10+i), "/api/v1/login/sms/send", map[string]string{"id_number": id, "phone": c.Phone}))
		return a
	}
	matched, unmatched := run(1, true), run(2, false)
	if diff := cmp.Diff(matched, unmatched); diff != "" {
		t.Errorf("answers, matching ID number vs not: mismatch (-matched +not):\n%s", diff)
	}
	if matched.SameAddress.Status != http.StatusPreconditionRequired || matched.SamePhone.Status != http.StatusPreconditionRequired {
		t.Errorf("sends after the first: %d and %d, want 428", matched.SameAddress.Status, matched.SamePhone.Status)
	}
}

// TestCaptchaParallel: eight sends carrying one right answer at once get
// one send between them; eight first sends from a fresh address at once
// get one free send between them.
func TestCaptchaParallel(t *testing.T) {
	t.Parallel()
	const n = 8
	run := func(b *testBundle, body func(i int) map[string]string) map[string]int {
		var mu sync.Mutex
		got := map[string]int{}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				st, code := b.sendFrom("192.0.2.1:1", body(i))
				mu.Lock()
				got[fmt.Sprintf("%d %s", st, code)]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return got
	}
	phone := func(i int) string { return fmt.Sprintf("139123406%02d", i) }

	t.Run("one answer", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		if st, code := b.sendFrom("192.0.2.1:1", map[string]string{"id_number": residentID("19700101"), "phone": phone(99)}); st != http.StatusAccepted {
			t.Fatalf("first send: %d %s", st, code)
		}
		id := b.browser(t).post("/api/v1/captcha", nil).str("captcha_id")
		codes := b.codeCount(t)
		got := run(b, func(i int) map[string]string {
			return map[string]string{"id_number": residentID("19700101"), "phone": phone(i), "captcha_id": id, "captcha": testCaptcha}
		})
		if diff := cmp.Diff(map[string]int{"202 ": 1, "422 captcha_wrong": n - 1}, got); diff != "" {
			t.Errorf("answers: mismatch (-want +got):\n%s", diff)
		}
		if got := b.codeCount(t) - codes; got != 1 {
			t.Errorf("%d codes stored, want 1", got)
		}
	})

	t.Run("free send", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got := run(b, func(i int) map[string]string {
			return map[string]string{"id_number": residentID("19700101"), "phone": phone(i)}
		})
		if diff := cmp.Diff(map[string]int{"202 ": 1, "428 captcha_required": n - 1}, got); diff != "" {
			t.Errorf("answers: mismatch (-want +got):\n%s", diff)
		}
		if got := b.codeCount(t); got != 1 {
			t.Errorf("%d codes stored, want 1", got)
		}
	})
}

// TestCaptchaExpiry: a captcha is answered within CaptchaTTL; after it the
// right answer is refused and the image is gone.
func TestCaptchaExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		after          time.Duration
		status, images int
	}{
		{"just before", 5*time.Minute - time.Second, http.StatusAccepted, http.StatusOK},
		{"after", 5*time.Minute + time.Second, http.StatusUnprocessableEntity, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			br := b.browser(t)
			if r := br.sendCode(residentID("19700101"), "13912340701"); r.Status != http.StatusAccepted {
				t.Fatalf("first send: %d %s", r.Status, r.Raw)
			}
			c := br.post("/api/v1/captcha", nil)
			if c.Status != http.StatusCreated || c.Body["expires_in"] != float64(300) {
				t.Fatalf("new captcha: %d %s", c.Status, c.Raw)
			}
			b.clock.Advance(tt.after)
			if r := br.get(c.str("captcha_url")); r.Status != tt.images {
				t.Errorf("image %s later: %d, want %d", tt.after, r.Status, tt.images)
			}
			if r := br.get(c.str("audio_url")); r.Status != tt.images {
				t.Errorf("audio %s later: %d, want %d", tt.after, r.Status, tt.images)
			}
			r := br.post("/api/v1/login/sms/send", map[string]string{"id_number": residentID("19700101"), "phone": "13912340702", "captcha_id": c.str("captcha_id"), "captcha": testCaptcha})
			if r.Status != tt.status {
				t.Errorf("answer %s later: %d %s, want %d", tt.after, r.Status, r.Raw, tt.status)
			}
		})
	}
}

// TestCaptchaCreationLimited: making captchas counts against the
// address's request rate.
func TestCaptchaCreationLimited(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.RequestsPerMinute = 3 })
	br := b.browser(t)
	var got []int
	for range 4 {
		got = append(got, br.post("/api/v1/captcha", nil).Status)
	}
	if diff := cmp.Diff([]int{201, 201, 201, 429}, got); diff != "" {
		t.Errorf("statuses: mismatch (-want +got):\n%s", diff)
	}
}

// TestCaptchaPages: the SMS forms of the login and of step ① show the
// captcha when a send will need it, refuse a send without it or with a
// wrong answer in Chinese with a new image, and send with the right one;
// 换一张 gives a new image keeping what was typed. Step ①'s JSON twin
// answers like the login's.
func TestCaptchaPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.fused(t, "周一", "13912340801")
	br := b.browser(t)
	if id := pageCaptcha(t, br.get("/login?tab=sms").Raw); id != "" {
		t.Errorf("login page of a fresh address shows captcha %s", id)
	}
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("sms login: %d %s", r.Status, r.Raw)
	}
	if id := pageCaptcha(t, br.get("/login?tab=sms").Raw); id == "" {
		t.Error("login page after a send shows no captcha")
	}
	if id := pageCaptcha(t, br.get("/complete/info").Raw); id != "" {
		t.Errorf("step ① with the phone verified shows captcha %s", id)
	}

	for _, pg := range []struct{ send, refresh, notice string }{
		{"/login/sms/send", "/login/sms/captcha", codeSentNotice},
		{"/complete/info/sms", "/complete/info/captcha", "验证码已发送，5分钟内有效"},
	} {
		b.clock.Advance(61 * time.Second)
		vals := url.Values{"id_number": {c.IDNumber}, "phone": {"13912340802"}, "address": {"海口市"}}
		steps := []struct {
			name, path, answer string
			status             int
			msg                string
		}{
			{"no captcha", pg.send, "", http.StatusPreconditionRequired, "请输入图形验证码"},
			{"new image", pg.refresh, "", http.StatusOK, ""},
			{"wrong answer", pg.send, "000000", http.StatusUnprocessableEntity, "图形验证码错误或已失效"},
			{"right answer", pg.send, testCaptcha, http.StatusOK, pg.notice},
		}
		for _, s := range steps {
			if s.answer != "" {
				vals.Set("captcha", s.answer)
			}
			r := br.form(s.path, vals)
			if r.Status != s.status || (s.msg != "" && !strings.Contains(r.Raw, s.msg)) {
				t.Errorf("%s %s: %d, want %d with %q:\n%s", s.path, s.name, r.Status, s.status, s.msg, r.Raw)
			}
			if s.status != http.StatusOK && strings.Contains(r.Raw, `id="notice"`) {
				t.Errorf("%s %s: a refused send says it sent", s.path, s.name)
			}
			if !strings.Contains(r.Raw, `value="13912340802"`) {
				t.Errorf("%s %s: the typed phone is lost", s.path, s.name)
			}
			id := pageCaptcha(t, r.Raw)
			if id == "" || id == vals.Get("captcha_id") {
				t.Errorf("%s %s: captcha %q, want a new one", s.path, s.name, id)
			}
			vals.Set("captcha_id", id)
		}
	}
	if got := b.count(t, `SELECT count(*) FROM auth_audit WHERE event = 'sms_send_verify' AND outcome LIKE 'captcha%'`); got != 2 {
		t.Errorf("%d captcha refusals of step ① audited, want 2", got)
	}

	// The JSON twin of step ①'s send: the same answers as the login's.
	body := map[string]string{"phone": "13912340902"}
	r := br.post("/api/v1/completion/info/sms", body)
	if r.Status != http.StatusPreconditionRequired || r.str("error") != "captcha_required" || r.str("captcha_url") != "/captcha/"+r.str("captcha_id")+".png" || r.str("audio_url") != "/captcha/"+r.str("captcha_id")+"/audio.wav" {
		t.Fatalf("send without a captcha: %d %s, want 428 captcha_required", r.Status, r.Raw)
	}
	sent := b.outboxCount(t)
	if r := br.postSolving("/api/v1/completion/info/sms", body); r.Status != http.StatusAccepted {
		t.Errorf("send with the captcha solved: %d %s, want 202", r.Status, r.Raw)
	}
	if got := b.outboxCount(t) - sent; got != 1 {
		t.Errorf("%d messages sent, want 1", got)
	}
}

// TestCaptchaPurge: Purge deletes captchas ended and free sends claimed
// more than a day ago, and keeps the rest.
func TestCaptchaPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := b.clock.Now()
	for i, end := range []time.Duration{-25 * time.Hour, -23 * time.Hour, time.Minute} {
		if _, err := b.pool.Exec(ctx, `INSERT INTO captcha (id, answer_hash, created_at, expires_at) VALUES ($1, '\x00', $2, $3)`,
			fmt.Sprint("c", i), now.Add(end-5*time.Minute), now.Add(end)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO captcha_free_send (net, claimed_at) VALUES ($1, $2)`, fmt.Sprint("n", i), now.Add(end)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Purge(ctx, b.pool, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Purged{Captchas: 1, CaptchaFreeSends: 1}, got); diff != "" {
		t.Errorf("Purged: mismatch (-want +got):\n%s", diff)
	}
	if n := b.count(t, `SELECT count(*) FROM captcha WHERE id IN ('c1', 'c2')`) + b.count(t, `SELECT count(*) FROM captcha_free_send WHERE net IN ('n1', 'n2')`); n != 4 {
		t.Errorf("%d of the 4 rows younger than a day kept", n)
	}
}

// TestBrowserCaptcha: a second citizen logging in from the same phone
// browser meets the image captcha on the SMS tab: the image loads, a
// wrong answer is refused in Chinese with a new image, 换一张 keeps what
// was typed, and the right answer sends the code that logs in.
func TestBrowserCaptcha(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, second := b.fused(t, "陈一", "13912341001"), b.fused(t, "陈二", "13912341002")
	p := newTab(t, b)
	p.smsLogin(first)

	imageLoaded := `(() => { const i = document.querySelector('#captcha-image'); return i !== null && i.complete && i.naturalWidth > 0 })()`
	imageSrc := func() string { return eval[string](p, `document.querySelector('#captcha-image').getAttribute('src')`) }
	p.open("/login?tab=sms", http.StatusOK, "/login")
	p.waitFor("the captcha image loaded", imageLoaded)
	p.fill("#id_number", second.IDNumber)
	p.fill("#phone", second.Phone)
	p.fill("#captcha", "000000")
	src := imageSrc()
	p.submit("#send-code", http.StatusUnprocessableEntity, "/login/sms/send")
	if got := p.text("#error"); got != "图形验证码错误或已失效" {
		t.Errorf("wrong captcha: error %q", got)
	}
	p.waitFor("a new captcha image loaded", imageLoaded)
	if imageSrc() == src {
		t.Error("the refused captcha is shown again")
	}
	src = imageSrc()
	p.submit("#captcha-refresh", http.StatusOK, "/login/sms/captcha")
	p.waitFor("a new captcha image loaded", imageLoaded)
	if imageSrc() == src {
		t.Error("换一张 showed the same captcha")
	}
	if got := eval[string](p, `document.querySelector('#phone').value`); got != second.Phone {
		t.Errorf("换一张 lost the phone: %q", got)
	}
	p.fill("#captcha", testCaptchaTyped)
	p.submit("#send-code", http.StatusOK, "/login/sms/send")
	if got := p.text("#notice"); got != codeSentNotice {
		t.Fatalf("right captcha: notice %q, want %q", got, codeSentNotice)
	}
	p.fill("#code", b.lastCode(t))
	p.submit("#login", http.StatusOK, "/complete/info")
	if got := p.text("#id-hint"); got != second.IDNumber[:1]+"*****"+second.IDNumber[len(second.IDNumber)-1:] {
		t.Errorf("logged in as %q, want the second citizen", got)
	}
}
