package authsvc

import (
	"net/http"
	"testing"

	"github.com/idfusion/idfusion/internal/upstreamdev"
	"github.com/idfusion/idfusion/schemas"
)

// TestBrowserUpstreamLogin: on the login page the citizen chooses
// 国家政务服务平台, picks themself on its page (the stand-in, another
// origin) and is back signed in, at the center.
func TestBrowserUpstreamLogin(t *testing.T) {
	t.Parallel()
	id := residentID("19850512")
	u := setupUpstream(t, []upstreamdev.Citizen{{Name: "韩梅梅", IDNumber: id}})
	c := citizen{IDNumber: id, Name: "韩梅梅", Phone: "13900001111"}
	u.insert(t, c, schemas.StatusActive, []string{}, nil)
	p := newTab(t, u.testBundle)
	p.open("/login", http.StatusOK, "")
	p.submit("#upstream-gov", http.StatusOK, "/up/authorize")
	p.submit("#citizen-0", http.StatusOK, "/center")
	if got := p.text("#center"); got != "用户中心" {
		t.Errorf("center heading %q", got)
	}
	p.noClearPII(c)
}
