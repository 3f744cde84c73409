// Package authsvc is the login service of the unified identity
// authentication: login methods (password, SMS code, face), sessions, and
// the first-login completion of fused accounts, enforced by the server.
//
// A first factor on an account pending completion yields a restricted
// session that can read the completion status and do the next step, and
// nothing else:
//
//	            SMS code / face (/login)
//	anonymous ───────────────────────────▶ restricted ─① info─▶ ─② password─▶ ─③ face─▶ full
//	(a face login in progress)              (account pending_completion)               (account active;
//	                                                                                     session rotated)
//
// The completion is one flow bound to the restricted session (flow.go):
// steps are removed from the flow's list by a conditional UPDATE, so a
// skipped, repeated or concurrent step is refused with the next step named
// (HTTP 409, or 403 outside the completion); what ① and ② collect stays in
// the flow and reaches the account only with ③, the face check, in the
// same flow. Another session starts again from ①.
//
// Files: units.go (the units — login methods, flows, the center, the
// OpenID provider — each listing its routes beside its handlers; the
// table of login methods), server.go (the mux, middleware, the client address behind trusted
// proxies), session.go (cookies, timeouts, rotation), login.go (first
// factors), account.go (internal/account, which owns the table, bound
// to the service's keys and lockout policy), complete.go (the steps), flow.go (the completion
// flow), redirect.go (leaving a form POST for a business system), sms.go
// (codes, limits, the outbox), smsgateway.go (the production SMS
// gateway), captcha.go (the image captcha before SMS sends), face.go
// (challenges), faceprovider.go (the providers' one shape, Provider[T]:
// the face and licence apps and their simulators), facecallback.go (the
// face provider's signed callback, QR codes), facesig.go (the one
// verifier of signed callbacks, verifySigned[T], and the face result),
// licencesig.go (the electronic business licence's result), licence.go
// (the 电子营业执照 scan login: challenge, callback, polling, simulator),
// certlogin.go (CA 认证登录: the roots, the CRLs reloaded when their files
// change, verifying a client certificate and its subject's key),
// certlogin_http.go (its TLS listener's handler CertHandler, the 法人登录
// tab's handoff to it and back), certdev.go (the development CA of
// `authsvc dev-ca` and the tests),
// upstream.go (logins at the upstream OpenID providers, the registration
// of whom they verified), upstream_settings.go (the center's 第三方账号绑定),
// password.go (argon2id), password_rules.go
// and password_name.go (the password rules), dev.go (the development
// pages), audit.go (the hash-chained audit log and its verification),
// purge.go (deleting what has ended), errors.go (the one table from errors
// to what a client is told), pages.go and templates/ (the Chinese pages),
// oidc.go (the OpenID provider for the business systems under /oidc, and
// its login gate: a code only for an active account, after the
// completion), oidc_consent.go (the consent page, the personal center's
// consents), oidc_prompt.go (prompt, max_age, amr/acr, the face step-up),
// oidc_storage.go (its state in PostgreSQL), oidc_refresh.go (refresh
// token rotation and its grace window), oidc_userinfo.go (userinfo with
// RFC 6750's answers), oidc_client.go
// (RegisterClient, the clients), oidc_key.go (the rotating signing keys),
// oidc_logout.go (single logout: the sessions' business systems, the
// back-channel logout outbox and its worker, front-channel iframes, the
// center's 已登录的业务系统), agent_state.go (agents' authorizations:
// the state machine, changeAgent), agents.go (我的经办人 of a legal
// account: the exact search and its limit, 授权 with its SMS and inbox
// message, the list and its 操作), agent.go (an agent's side of an
// authorization: 授权验证 of the link, the identity chooser and 切换, 企业授权),
// staff.go (the staff console's accounts: AddStaff and DisableStaff for
// the CLI, the sign-in with password and TOTP at /admin/login, its own
// sessions and cookie, /admin), internal/totp (RFC 6238 codes, the replay
// check, the otpauth URI), console.go (the console's role-checked routes
// (staffOnly, admin_denied), the one audit shape of staff actions, case
// references bound to the staff session; the console on its own listener:
// ConsoleHandler), console_lookup.go (the exact lookup by ID number,
// credit code, username or phone, and the account's masked page).
//
// console_ops.go is the console's operations views, 运维's only: the
// import runs and a run's files and ledger (internal/report's queries),
// the run's feedback workbooks downloaded from Config.FeedbackDir (names
// from the run's departments, opened under an os.Root), the departments
// with their last successful runs, the business systems (register, rotate
// the secret, disable: registerClientIn, rotateClientSecretIn and
// disableClientIn of oidc_client.go, which `authsvc client` uses too) and
// the signing keys (rotateSigningKeyIn), each action audited in its
// transaction.
//
// console_actions.go (客服's actions on an account of a case reference:
// unlock, end-sessions, disable, enable, reset-step and realname-recheck,
// each with a reason, in one transaction with its audit row;
// templates/admin_actions.html is their block on the account page).
//
// console_audit.go (审计's audit search by time, event,
// staff member, outcome and account, newest first with keyset pages, its
// streamed CSV export and the chain check, each audited), console_staff.go
// (运维's staff management: list, add, roles, disable, enable, reset
// credentials, unlock, never oneself; sharing staff.go's addStaffIn and
// disableStaffIn with the CLI).
//
// console_view.go (the console's account page in full: legal particulars,
// upstream links, agents, recent audit rows, lineage and each value's
// source, open conflicts; unmasking one field with a reason, once,
// audited, at most 20 an hour per staff member), console_proposal.go (four
// eyes: 客服 proposes a phone change or a conflict's surviving value, a
// different 审核 approves or rejects it; an approved name is pinned
// (account.name_pinned) and ranks as the citizen's in survivorship).
package authsvc
