package authsvc

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
)

//go:embed templates/*.html templates/blocks/*.html
var templateFS embed.FS

// pageData is what every page may show.
type pageData struct {
	Title      string
	Error      string
	Notice     string
	Fields     map[string]string
	ReturnTo   string
	Tab        string
	IDNumber   string
	Phone      string
	Address    string
	Completion *completion
	Step       int // 1-4 on the completion pages
	FaceID     string
	FaceStatus string
	Refresh    int // seconds; the page reloads itself (face polling)
	Dev        bool
	// CALogin: the 法人登录 tab offers CA 认证登录 (Config.CA).
	CALogin  bool
	Messages []outboxMessage
	Next     string
	Continue string // a page that only moves on to this path (redirectAfterPost)
	Status   string
	Captcha  *captchaRef    // the image captcha by the SMS send button
	Consent  *consentView   // the consent page (oidc_consent.go)
	Consents []consentEntry // the personal center's 已授权的业务系统
	// Systems are the personal center's 已登录的业务系统, Frontchannel
	// the logged-out page's front-channel logout iframes (oidc_logout.go).
	Systems      []signedInSystem
	Frontchannel []string
	// Upstreams are the login page's upstream providers, UpstreamReg the
	// agreement page of a registration one verified, UpstreamLinks the
	// center's 第三方账号绑定 (upstream.go, upstream_settings.go).
	Upstreams     []upstreamButton
	UpstreamReg   *upstreamRegView
	UpstreamLinks []upstreamLinkView
	// Reg is a registration's page (register.go).
	Reg *regView
	// Legal is a legal registration's or realname upgrade's page
	// (legal_register.go, legal_realname.go).
	Legal *legalView
	// RealnameLevel is the center's 实名等级 (realnameLevel).
	RealnameLevel string
	// Center is the rest of the personal center (center.go).
	Center *centerView
	// Enterprise is the 企业中心's identity of a legal account (center.go):
	// the center shows it instead of a citizen's.
	Enterprise *enterpriseView
	// Agents is the 企业中心's 我的经办人 (agents.go), AgentSearch the
	// 创建经办人 page.
	Agents      *agentsView
	AgentSearch *agentSearchView
	// Inbox is the development inbox page (dev.go).
	Inbox []inboxEntry
	// Identity is the header's 当前身份 and 切换 of a natural person's
	// signed-in page (set by render from the request, agent.go).
	Identity *identityHeader
	// Identities are the chooser's identities (选择登录身份), AgentLink
	// the 授权验证 page's authorization (agent.go).
	Identities []identityOption
	AgentLink  *agentLink
	// LegalForm: a form asks for a legal person's credit code (找回密码 of
	// account type 法人).
	LegalForm bool
	// Licence: the 法人登录 offers the 电子营业执照 scan (Config.Licence).
	Licence bool
	// Staff is the signed-in staff member of the console (staff.go),
	// StaffUsername the username typed on a refused staff sign-in.
	Staff *staffMember
	// Console is a console page's data (console_lookup.go and the rest of
	// the console).
	Console       *consoleView
	StaffUsername string

	// Ops is an operations page's data (console_ops.go).
	Ops *opsView
	// Audit is the console's audit search (console_audit.go), StaffAdmin
	// its staff management (console_staff.go).
	Audit      *auditView
	StaffAdmin *staffAdminView
}

// pages are the parsed templates: each page with the layout.
type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// The blocks (templates/blocks: parts of a page another unit
	// defines, e.g. the console's action forms) are parsed with every
	// page, never served as one.
	var pageNames []string
	for _, n := range names {
		if path.Base(n) != "layout.html" {
			pageNames = append(pageNames, n)
		}
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range pageNames {
		base := path.Base(n)
		t, err := template.New("layout.html").Funcs(template.FuncMap{
			"steps": stepLabels,
			"inc":   func(i int) int { return i + 1 },
		}).ParseFS(templateFS, "templates/layout.html", "templates/blocks/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", base, err)
		}
		p.t[base] = t
	}
	return p, nil
}

// render writes a page; a template error is a 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, d pageData) {
	t := s.pages.t[name]
	if t == nil {
		s.cfg.Logger.Error("no_template", "name", name)
		http.Error(w, "服务暂时不可用，请稍后再试", http.StatusInternalServerError)
		return
	}
	d.CALogin = s.cfg.CA != nil
	if h, ok := identityOf(r); ok && d.Identity == nil && (h.Switch || h.Acting != "") {
		d.Identity = h
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		s.cfg.Logger.Error("template_failed", "name", name, errAttr(err))
		http.Error(w, "服务暂时不可用，请稍后再试", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
