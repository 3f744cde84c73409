package authsvc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/schemas"
)

// The login page as the seed shows it: 个人登录 / 法人登录 (coming), the
// password, SMS code and face logins, 切换扫码登录, 忘记密码, 帮助文档 and
// 还没有账号？去注册.
func TestLoginPageTabsAndLinks(t *testing.T) {
	b := setup(t)
	br := b.browser(t)
	st, page := br.page("/login?return_to=%2Fcenter")
	if st != http.StatusOK {
		t.Fatalf("login: %d", st)
	}
	for _, want := range []string{
		`id="tab-personal">个人登录</a>`, `id="tab-legal">法人登录</a>`,
		`id="tab-password">密码登录</a>`, `id="tab-sms">手机验证码登录</a>`, `id="tab-face">刷脸登录</a>`,
		`id="switch-qr">切换扫码登录</a>`, `<a href="/login?tab=face&return_to=%2fcenter" id="switch-qr"`,
		`href="/recovery" id="forgot">忘记密码</a>`, `href="/help" id="help">帮助文档</a>`,
		`href="/register" id="register">还没有账号？去注册</a>`,
		`action="/login/password"`, `账号（证件号码或用户名）`, "为确保账户信息安全，请勿泄露账号密码给他人",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	_, legal := br.page("/login?tab=legal")
	if !strings.Contains(legal, `action="/login/legal/password"`) || strings.Contains(legal, `action="/login/password"`) ||
		!strings.Contains(legal, `账号（统一社会信用代码或用户名）`) || !strings.Contains(legal, `href="/register/legal" id="register"`) ||
		!strings.Contains(legal, `href="/recovery?type=legal" id="forgot">忘记密码</a>`) ||
		!strings.Contains(legal, `id="tab-legal-licence">电子营业执照</a>`) {
		t.Errorf("法人登录 tab: %s", legal)
	}
	_, legalSMS := br.page("/login?tab=legal-sms")
	if !strings.Contains(legalSMS, `action="/login/legal/sms"`) || !strings.Contains(legalSMS, `formaction="/login/legal/sms/send"`) ||
		!strings.Contains(legalSMS, `class="on" id="tab-legal"`) {
		t.Errorf("法人登录 SMS tab: %s", legalSMS)
	}
	if !strings.Contains(legal, `id="help"`) || !strings.Contains(legal, `id="register"`) {
		t.Error("法人登录 tab lacks the links")
	}
	_, face := br.page("/login?tab=face")
	if !strings.Contains(face, `action="/login/face"`) {
		t.Error("the face tab has no face login")
	}
	st, help := br.page("/help")
	if st != http.StatusOK || !strings.Contains(help, "<title>帮助文档 - 统一身份认证</title>") || !strings.Contains(help, `href="/recovery"`) {
		t.Errorf("help: %d", st)
	}
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

func pageTitle(t *testing.T, page string) string {
	t.Helper()
	m := titleRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no title in %s", page)
	}
	return m[1]
}

// Titles do not repeat 统一身份认证, and each completion page has its
// step's title.
func TestPageTitles(t *testing.T) {
	b := setup(t)
	br := b.browser(t)
	for path, want := range map[string]string{
		"/login": "个人登录 - 统一身份认证", "/login?tab=sms": "个人登录 - 统一身份认证", "/login?tab=legal": "法人登录 - 统一身份认证",
		"/login?tab=legal-licence": "法人登录 - 统一身份认证",
		"/help":                    "帮助文档 - 统一身份认证",
	} {
		if _, page := br.page(path); pageTitle(t, page) != want {
			t.Errorf("%s: title %q, want %q", path, pageTitle(t, page), want)
		}
	}
	c := b.fused(t, "韩梅梅", "13912349071")
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	br.completeTo(c, "")
	if _, page := br.page("/complete/done"); pageTitle(t, page) != "完成 - 统一身份认证" {
		t.Errorf("done: %q", pageTitle(t, page))
	}
	if _, page := br.page("/center"); pageTitle(t, page) != "用户中心 - 统一身份认证" {
		t.Errorf("center: %q", pageTitle(t, page))
	}
	// The layout never repeats the service's name, whatever a page passes.
	w := httptest.NewRecorder()
	b.svc.render(w, httptest.NewRequest(http.MethodGet, "/help", nil), "help.html", pageData{Title: "统一身份认证"})
	if got := pageTitle(t, w.Body.String()); got != "统一身份认证" {
		t.Errorf("layout: %q", got)
	}
}

// TestCompletionPageTitles walks the completion and reads each step's
// page when it is the next one.
func TestCompletionPageTitles(t *testing.T) {
	b := setup(t)
	c := b.fused(t, "韩梅梅", "13912349072")
	br := b.browser(t)
	if r := br.smsLogin(c); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	titles := map[string]bool{}
	for _, step := range schemas.FusedAccountSteps {
		st, page := br.page(stepPath(step))
		if st != http.StatusOK {
			t.Fatalf("%s: %d", step, st)
		}
		got := pageTitle(t, page)
		if want := stepLabel(step) + " - 统一身份认证"; got != want {
			t.Errorf("%s: title %q, want %q", step, got, want)
		}
		titles[got] = true
		var r response
		switch step {
		case schemas.StepInfo:
			r = br.post("/api/v1/completion/info", map[string]string{"address": "海口市龙华区滨海大道1号"})
		case schemas.StepPassword:
			r = br.post("/api/v1/completion/password", map[string]string{"password": centerPassword, "confirm": centerPassword})
		case schemas.StepFace:
			r = br.faceThrough("/api/v1/completion/face", nil, c)
		}
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", step, r.Status, r.Raw)
		}
	}
	if len(titles) != len(schemas.FusedAccountSteps) {
		t.Errorf("completion titles not distinct: %v", titles)
	}
}

// A second code asked for within 60 s: the page says 验证码发送过于频繁,
// never 验证码已发送 beside it.
func TestLoginCodeTooSoonNoSentNotice(t *testing.T) {
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	br := b.browser(t)
	_, page := br.page("/login?tab=sms")
	send := func(page string) response {
		v := url.Values{"id_number": {c.IDNumber}, "phone": {c.Phone}}
		if id := pageCaptcha(t, page); id != "" {
			v.Set("captcha_id", id)
			v.Set("captcha", testCaptcha)
		}
		return br.form("/login/sms/send", v)
	}
	first := send(page)
	if first.Status != http.StatusOK || !strings.Contains(first.Raw, codeSentNotice) {
		t.Fatalf("first send: %d %s", first.Status, first.Raw)
	}
	second := send(first.Raw)
	if second.Status != http.StatusTooManyRequests || !strings.Contains(second.Raw, "验证码发送过于频繁") {
		t.Fatalf("second send: %d %s", second.Status, second.Raw)
	}
	if strings.Contains(second.Raw, "验证码已发送") || strings.Contains(second.Raw, `id="notice"`) {
		t.Errorf("the refused send shows the sent notice: %s", second.Raw)
	}
}
