package authsvc

import "net/http"

// The service is made of units, after ory/kratos's flows and strategies.
// A login method proves one factor and ends in signIn (its
// loginMethod says what the factor proves and clears); a flow takes a
// session through steps the server enforces (the completion: the steps
// table in complete.go, flow.go); the rest serve a signed-in citizen (the
// personal center), the business systems (the OpenID provider), the
// providers that call back (face) and development. Each unit lists its own
// routes — pages and their JSON twins — beside its handlers, so a new
// method or flow is a new unit and one line below.

// route is one pattern of http.ServeMux and its handler.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// units are the service's units, each as the function that lists its
// routes.
func (s *Server) units() []func() []route {
	return []func() []route{
		s.healthRoutes,
		s.loginRoutes,             // login.go: the login page; password, SMS code and face logins; logout
		s.caRoutes,                // certlogin_http.go: CA 认证登录's start and return on the main site (its certificate listener: CertHandler)
		s.upstreamRoutes,          // upstream.go: logins at the upstream OpenID providers, registration of whom they verified
		s.captchaRoutes,           // captcha.go: image captchas before SMS sends
		s.faceRoutes,              // facecallback.go: the face provider's QR codes and signed callback
		s.licenceRoutes,           // licence.go: 电子营业执照 scan login, its QR codes, signed callback and simulator (with Config.Licence)
		s.completionRoutes,        // complete.go: the completion flow ① info ② password ③ face
		s.centerRoutes,            // center.go: the personal center
		s.settingsRoutes,          // center.go: the center's 修改密码, 邮寄地址管理, 登录记录; username and ID number refused
		s.upstreamSettingsRoutes,  // upstream_settings.go: the center's 第三方账号绑定
		s.registrationRoutes,      // register.go: registration ① account ② real name ③ face, "already registered"
		s.legalRegistrationRoutes, // legal_register.go: legal registration ① info ② account, 注册成功
		s.legalRealnameRoutes,     // legal_realname.go: 实名等级升级 of a legal account
		s.legalAgentRoutes,        // agents.go: 我的经办人 of a legal account: 创建经办人, 授权, the list and its 操作
		s.recoveryRoutes,          // recovery.go: forgot password ① identify ② code ③ password
		s.phoneRoutes,             // phone.go: change of the bound phone ① face ② new phone
		s.oidcRoutes,              // oidc.go: the OpenID provider, its login gate, consents
		s.logoutRoutes,            // oidc_logout.go: the signed-in business systems, single logout
		s.agentRoutes,             // agent.go: an agent's 授权验证, the identity chooser and 切换, 企业授权
		s.devRoutes,               // dev.go: the SMS outbox and the face simulator (with --dev)
	}
}

// loginMethod is a way to prove a first factor.
type loginMethod struct {
	// event names the method in the audit log.
	event string
	// amr is what the method proves (RFC 8176), for the session and the
	// ID tokens.
	amr string
	// knowledge: a password. A success clears the password's own count and
	// lock; the other methods clear the count of SMS codes and faces (see
	// account.ResetAfterLoginSQL).
	knowledge bool
	// provesPhone: a code sent to the phone on record; the completion flow
	// of the session takes that phone as proved.
	provesPhone bool
	// provider names the provider that proved the factor, in the audit
	// row's detail ("provider=电子营业执照"); "" for our own factors.
	provider string
}

// auditDetail is the detail of a login's audit row: the session's kind,
// and the provider when there is one.
func (m *loginMethod) auditDetail(kind sessionKind) string {
	if m.provider == "" {
		return string(kind)
	}
	return string(kind) + "; provider=" + m.provider
}

var (
	methodPassword = &loginMethod{event: "login_password", amr: amrPassword, knowledge: true}
	methodSMS      = &loginMethod{event: "login_sms", amr: amrSMS, provesPhone: true}
	methodFace     = &loginMethod{event: "login_face", amr: amrFace}
	// The other ways in (issue 18). Each names its provider in the audit
	// row's detail; a success clears the SMS/face count like the face.
	// methodUpstream: an upstream OpenID provider's verified ID token
	// (国家政务服务平台, 椰城市民云, 电子社保卡); each provider signs in with a
	// copy naming it (upstreamRP.method).
	methodUpstream = &loginMethod{event: "login_upstream", amr: amrUpstream}
	// methodLicence: the electronic business licence app's signed scan
	// result (电子营业执照), a key held by the legal person's app.
	methodLicence = &loginMethod{event: "login_licence", amr: amrLicence, provider: "电子营业执照"}
	// methodCA: a client certificate on a U-KEY (CA 认证登录).
	methodCA = &loginMethod{event: "login_ca", amr: amrCA, provider: "CA"}
)
