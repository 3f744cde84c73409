package authsvc

import (
	"net/http"
	"strings"
	"testing"
)

// TestBrowserLoginPageAndAddresses: the login page's tabs and links as a
// citizen clicks them, a password login to the personal center, and the
// center's 邮寄地址管理: add, edit, a second one made the default, delete.
func TestBrowserLoginPageAndAddresses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.active(t, "韩梅梅", "13912349071", centerPassword)
	p := newTab(t, b)

	p.open("/login", http.StatusOK, "")
	if got := p.text("#tab-personal"); got != "个人登录" {
		t.Errorf("personal tab %q", got)
	}
	for sel, href := range map[string]string{"#forgot": "/recovery", "#register": "/register", "#help": "/help", "#link-sms": "/login?tab=sms"} {
		if got := eval[string](p, `document.querySelector("`+sel+`").getAttribute("href")`); got != href {
			t.Errorf("%s links to %q, want %q", sel, got, href)
		}
	}
	if got := p.text("#register"); got != "还没有账号？去注册" {
		t.Errorf("register link %q", got)
	}
	p.submit("#tab-legal", http.StatusOK, "/login")
	if !eval[bool](p, `document.querySelector("#legal-password-form") !== null`) {
		t.Error("法人登录 has no password form")
	}
	if eval[bool](p, `document.querySelector("#password-form") !== null`) {
		t.Error("法人登录 shows the personal password form")
	}
	p.submit("#help", http.StatusOK, "/help")
	if got := eval[string](p, "document.title"); got != "帮助文档 - 统一身份认证" {
		t.Errorf("help title %q", got)
	}
	p.submit("#back-to-login", http.StatusOK, "/login")
	p.submit("#switch-qr", http.StatusOK, "/login")
	if !eval[bool](p, `document.querySelector("#start-face") !== null`) {
		t.Error("切换扫码登录 has no face login")
	}
	p.submit("#tab-password", http.StatusOK, "/login")
	if got := eval[string](p, "document.title"); got != "个人登录 - 统一身份认证" {
		t.Errorf("login title %q", got)
	}
	p.fill("#id_number", c.IDNumber)
	p.fill("#password", centerPassword)
	p.submit("#login", http.StatusOK, "/center")

	// 身份信息, masked.
	if got := p.text("#name"); got != "韩****" {
		t.Errorf("name %q", got)
	}
	if got := p.text("#phone-hint"); got != "139****9071" {
		t.Errorf("phone %q", got)
	}
	p.noClearPII(c)

	// 邮寄地址管理.
	if got := p.text("#no-addresses"); got != "暂无邮寄地址" {
		t.Errorf("empty list %q", got)
	}
	p.fill("#recipient", "韩梅梅")
	p.fill("#address-phone", "13912349071")
	p.fill("#region", "海南省海口市龙华区")
	p.fill("#detail", "滨海大道1号")
	p.submit("#add-address", http.StatusOK, "/center")
	if got := p.text(".address .recipient"); got != "韩梅梅 默认" {
		t.Errorf("first address %q", got)
	}
	p.noClearPII(c)
	// A bad phone is refused with the field's message, nothing stored.
	p.fill("#recipient", "李雷")
	p.fill("#address-phone", "12345")
	p.fill("#region", "海南省三亚市")
	p.fill("#detail", "解放路8号")
	p.submit("#add-address", http.StatusUnprocessableEntity, "/settings/addresses")
	if got := p.text("#address-errors"); !strings.Contains(got, "手机号码") {
		t.Errorf("bad phone: %q", got)
	}
	// Edit.
	p.submit(".edit-address", http.StatusOK, "")
	p.fill("#address-phone", "13912349071")
	p.fill("#detail", "滨海大道99号")
	p.submit("#save-address", http.StatusOK, "/center")
	if got := p.text(".address .where"); got != "海南省海口市龙华区 滨海大道99号" {
		t.Errorf("edited address %q", got)
	}
	// A second one, made the default: it comes first, the only default.
	p.fill("#recipient", "李雷")
	p.fill("#address-phone", "13912340003")
	p.fill("#region", "海南省三亚市")
	p.fill("#detail", "解放路8号")
	eval[bool](p, `document.querySelector("#is-default").checked = true`)
	p.submit("#add-address", http.StatusOK, "/center")
	if got := eval[int](p, `document.querySelectorAll(".address").length`); got != 2 {
		t.Fatalf("%d addresses", got)
	}
	if got := p.text(".address .recipient"); got != "李雷 默认" {
		t.Errorf("first address after the new default %q", got)
	}
	if got := eval[int](p, `document.querySelectorAll(".address .default").length`); got != 1 {
		t.Errorf("%d defaults", got)
	}
	// Delete the default: the other one becomes it.
	p.submit(".address .delete-address", http.StatusOK, "/center")
	if got := p.text(".address .recipient"); got != "韩梅梅 默认" {
		t.Errorf("after deleting the default %q", got)
	}
	// 退出.
	p.submit("#logout", http.StatusOK, "/login")
}
