package authsvc

import (
	"net/http"
	"strings"
)

// redirectAfterPost sends the browser on after a form POST. A redirect
// chain started by a form submission is checked against the page's CSP
// form-action at every hop (Chromium aborts it with net::ERR_ABORTED), so
// a chain that leaves this origin — the OpenID provider's resume hands the
// citizen to a business system's callback — would end on our own page
// while the business system's code was already issued. Such a hop is made
// by a page instead: a new navigation (meta refresh, or the link on it)
// that no form-action governs, so the policy stays 'self' for every form.
func (s *Server) redirectAfterPost(w http.ResponseWriter, r *http.Request, to string) {
	if !strings.HasPrefix(to, oidcPrefix+"/") {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	s.render(w, r, "continue.html", pageData{Title: "正在返回业务系统", Continue: to})
}
