package authsvc

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// problem is an error as the citizen (or the API client) sees it: never
// the internal text.
type problem struct {
	status  int
	code    string
	message string
	next    schemas.Step
	fields  map[string]string
	// captcha is a fresh captcha for the next try of a send refused for
	// its captcha.
	captcha *captchaRef
	// retryAfter, when set, is sent as Retry-After.
	retryAfter time.Duration
	// nextPath, when set, is where a page goes for step_out_of_order
	// (a registration's step; else stepPath(next)).
	nextPath string
}

// The one table from errors to what a client is told.
func problemOf(err error) problem {
	var step *StepError
	var restricted errRestricted
	var pw *PasswordError
	var fe fieldErrors
	var ce *captchaError
	var overload *OverloadError
	var rstep *RecoveryStepError
	var reg *RegStepError
	var legal *LegalStepError
	var refusedAction *actionRefused // console_actions.go
	switch {
	case errors.As(err, &legal):
		msg := "请按顺序完成注册：" + legalLabel(legal.Next)
		if legal.Next == "" {
			msg = "注册已失效，请重新开始注册"
		}
		return problem{status: http.StatusConflict, code: "step_out_of_order", message: msg, next: schemas.Step(legal.Next), nextPath: legalPath(legal.Next)}
	case errors.Is(err, errNotLegalAgents):
		return problem{status: http.StatusForbidden, code: "not_legal", message: "仅法人账号可管理经办人，请在登录页选择“法人登录”后再试"}
	case errors.Is(err, errAgentNotFound):
		return problem{status: http.StatusNotFound, code: "agent_not_found", message: agentNotFoundMessage}
	case errors.Is(err, errAgentSearchLimit):
		return problem{status: http.StatusTooManyRequests, code: "agent_search_limit", message: "查找未找到的次数已达上限，请24小时后再试"}
	case errors.Is(err, errAgentExists):
		return problem{status: http.StatusConflict, code: "agent_exists", message: "该用户已是本企业的经办人，或授权正等待其确认"}
	case errors.Is(err, errAgentTransition):
		return problem{status: http.StatusConflict, code: "agent_transition_refused", message: "无法进行该操作：经办人的状态已变化，或不是本企业的经办人。请刷新经办人列表后重试"}
	case errors.Is(err, errNotLegal):
		return problem{status: http.StatusForbidden, code: "not_legal", message: "仅法人账号可进行实名等级升级，请在登录页选择“法人登录”后再试"}
	case errors.Is(err, errUpgradeFailed):
		return problem{status: http.StatusUnprocessableEntity, code: "realname_failed", message: upgradeFailedMessage}
	case errors.Is(err, errSessionStale):
		return problem{status: http.StatusUnauthorized, code: "reauth_required", message: staleMessage}
	case errors.As(err, &reg):
		msg := "请按顺序完成注册：" + regLabel(reg.Next)
		if reg.Next == "" {
			msg = "注册已失效，请重新开始注册"
		}
		return problem{status: http.StatusConflict, code: "step_out_of_order", message: msg, next: schemas.Step(reg.Next), nextPath: regPath(reg.Next)}
	case errors.Is(err, errPhoneBound):
		return problem{status: http.StatusConflict, code: "phone_bound", message: phoneBoundMessage, fields: map[string]string{"phone": "该手机号已绑定其他账号"}}
	case errors.Is(err, errUsernameTaken):
		return problem{status: http.StatusConflict, code: "username_taken", message: "该用户名已被使用，请更换", fields: map[string]string{"username": "该用户名已被使用，请更换"}}
	case errors.As(err, &overload):
		msg := "当前登录人数较多，请稍后再试"
		if overload.Stopping {
			msg = "服务正在维护重启，请稍后再试"
		}
		return problem{status: http.StatusServiceUnavailable, code: "overloaded", message: msg, retryAfter: overload.RetryAfter}
	case errors.Is(err, errStaffLoginFailed):
		return problem{status: http.StatusUnauthorized, code: "staff_login_failed", message: "登录失败：用户名、密码或动态验证码不正确，或账号暂时无法登录。"}
	case errors.Is(err, errStaffMustChange):
		return problem{status: http.StatusForbidden, code: "password_change_required", message: "请先修改初始密码（" + staffPasswordPath + "），再使用控制台"}
	case errors.Is(err, errStaffPasswordWrong):
		return problem{status: http.StatusUnauthorized, code: "staff_password_wrong", message: "当前密码不正确", fields: map[string]string{"current": "当前密码不正确"}}
	case errors.Is(err, errStaffPasswordSame):
		return problem{status: http.StatusBadRequest, code: "password_same", message: "新密码不能与当前密码相同", fields: map[string]string{"password": "新密码不能与当前密码相同"}}
	case errors.Is(err, errStaffForbidden):
		return problem{status: http.StatusForbidden, code: "staff_forbidden", message: "您的角色无权进行此操作，请由具有相应角色的工作人员办理"}
	case errors.Is(err, errReasonRequired):
		return problem{status: http.StatusBadRequest, code: "reason_required", message: "请填写操作原因（2至200个字）", fields: map[string]string{"reason": "请填写操作原因"}}
	case errors.Is(err, errLookupLimit):
		return problem{status: http.StatusTooManyRequests, code: "lookup_limit", message: "一小时内查询账号的次数已达上限（100次），请稍后再试"}
	case errors.Is(err, errLookupPartial):
		return problem{status: http.StatusBadRequest, code: "lookup_partial", message: "请输入完整、有效的证件号码、统一社会信用代码、用户名或手机号（不支持部分查询）", fields: map[string]string{"value": "请输入完整的号码"}}
	// console_ops.go
	case errors.Is(err, errOpsNotFound):
		return problem{status: http.StatusNotFound, code: "not_found", message: "未找到该记录或文件"}
	case errors.Is(err, errFeedbackOff):
		return problem{status: http.StatusNotFound, code: "feedback_not_configured", message: "未配置反馈文件目录（--feedback-dir）"}
	case errors.Is(err, errClientExists):
		return problem{status: http.StatusConflict, code: "client_exists", message: "该业务系统标识已被使用", fields: map[string]string{"id": "该标识已被使用"}}
	case errors.Is(err, errClientState):
		return problem{status: http.StatusConflict, code: "client_state", message: "该业务系统已停用，或为公开客户端（无密钥）"}
	case errors.As(err, new(*clientInvalidError)):
		return problem{status: http.StatusBadRequest, code: "client_invalid", message: "业务系统登记信息不符合要求：" + err.Error()}
	case errors.Is(err, errNoticeFailed):
		return problem{status: http.StatusBadGateway, code: "notice_failed", message: "通知短信发送失败，请稍后重试（本次已计入发送次数）"}
	case errors.As(err, &refusedAction):
		return problem{status: http.StatusConflict, code: refusedAction.code, message: refusedAction.message}
	case errors.Is(err, errAuditTargetInURL):
		return problem{status: http.StatusBadRequest, code: "audit_target_in_url", message: "请通过查询表单（POST）提交证件号码或统一社会信用代码，网址中不得出现"}
	case errors.Is(err, errAuditFilter):
		return problem{status: http.StatusBadRequest, code: "audit_filter", message: "筛选条件格式不正确（日期格式为 2006-01-02）"}
	case errors.Is(err, errStaffPrivileged):
		return problem{status: http.StatusForbidden, code: "staff_privileged", message: "审核、运维、审计角色的工作人员须由系统管理员通过命令行（authsvc staff add）创建和重置，控制台只管理客服"}
	case errors.Is(err, errStaffSelf):
		return problem{status: http.StatusForbidden, code: "staff_self", message: "不能修改自己的角色、停用或重置自己的账号"}
	case errors.Is(err, ErrNoSuchStaff):
		return problem{status: http.StatusNotFound, code: "staff_not_found", message: "没有该工作人员"}
	case errors.Is(err, ErrStaffExists):
		return problem{status: http.StatusConflict, code: "staff_exists", message: "该用户名已被使用", fields: map[string]string{"username": "该用户名已被使用"}}
	case errors.Is(err, errStaffUsage) || errors.Is(err, errStaffBadRole):
		return problem{status: http.StatusBadRequest, code: "staff_invalid", message: "请填写用户名（2-32 位字母、数字或 . _ -，以字母开头）、姓名，并至少选择一个角色"}
	case errors.Is(err, errUnmaskField):
		return problem{status: http.StatusBadRequest, code: "unmask_field", message: "请选择要查看的字段", fields: map[string]string{"field": "请选择要查看的字段"}}
	case errors.Is(err, errUnmaskLimit):
		return problem{status: http.StatusTooManyRequests, code: "unmask_limit", message: "一小时内查看明文的次数已达上限（20次），请稍后再试"}
	// console_proposal.go: four eyes.
	case errors.Is(err, errProposalNotFound):
		return problem{status: http.StatusNotFound, code: "proposal_not_found", message: "该申请或冲突不存在"}
	case errors.Is(err, errProposalStale):
		return problem{status: http.StatusConflict, code: "proposal_stale", message: "该申请已超过7天或提出人已停用，不能批准，请客服重新提出"}
	case errors.Is(err, errOwnProposal):
		return problem{status: http.StatusForbidden, code: "own_proposal", message: "不能审核自己提交的申请，须由另一位审核人员处理"}
	case errors.Is(err, errProposalDecided):
		return problem{status: http.StatusConflict, code: "proposal_decided", message: "该申请已被处理或已有新的申请，请刷新后重试"}
	case errors.Is(err, errEvidenceRequired):
		return problem{status: http.StatusBadRequest, code: "evidence_required", message: "请填写已核验材料的编号（2至200个字）", fields: map[string]string{"evidence": "请填写材料编号"}}
	case errors.Is(err, errChoiceRefused):
		return problem{status: http.StatusUnprocessableEntity, code: "choice_refused", message: "请选择该冲突可选的值（性别、出生日期只能确认为证件号码中的值）", fields: map[string]string{"choice": "不可选择该值"}}
	case errors.Is(err, errCaseRef):
		return problem{status: http.StatusNotFound, code: "case_expired", message: "该账号的查询已失效，请重新查询"}
	case errors.Is(err, errStaffNoSession):
		return problem{status: http.StatusUnauthorized, code: "staff_unauthenticated", message: "请先登录控制台"}
	case errors.Is(err, errNoSession):
		return problem{status: http.StatusUnauthorized, code: "unauthenticated", message: "登录已失效，请重新登录"}
	case errors.As(err, &step):
		msg := "请按顺序完成：" + stepLabel(step.Next)
		if step.Next == "" {
			msg = "账号信息已补充完成"
		}
		return problem{status: http.StatusConflict, code: "step_out_of_order", message: msg, next: step.Next}
	case errors.As(err, &rstep):
		return problem{status: http.StatusConflict, code: "recovery_step_out_of_order", message: "请按顺序完成：" + recoveryLabels[rstep.Next], next: schemas.Step(rstep.Next)}
	case errors.Is(err, errFaceRequired):
		return problem{status: http.StatusForbidden, code: "face_required", message: "请先完成人脸核验（核验结果5分钟内有效）"}
	case errors.As(err, &restricted):
		return problem{status: http.StatusForbidden, code: "completion_required", message: "请先完成账号信息补充：" + stepLabel(restricted.next), next: restricted.next}
	case errors.As(err, &pw):
		return problem{status: http.StatusUnprocessableEntity, code: pw.Code, message: pw.Message, fields: map[string]string{"password": pw.Message}}
	case errors.As(err, &fe):
		return problem{status: http.StatusUnprocessableEntity, code: "invalid_input", message: "请检查填写的信息", fields: fe}
	case errors.Is(err, errCAUnknown):
		return problem{status: http.StatusNotFound, code: "ca_unknown", message: "CA 认证请求不存在或已失效，请返回法人登录重新进行 CA 认证登录"}
	case errors.Is(err, errCALogin):
		return problem{status: http.StatusUnauthorized, code: "ca_login_failed", message: caLoginFailedMessage}
	case errors.Is(err, errLegalLoginFailed):
		return problem{status: http.StatusUnauthorized, code: "login_failed", message: "登录失败：统一社会信用代码（或用户名）或验证信息不正确，或账号暂时无法登录。密码连续输错多次后密码登录将暂时锁定，届时可使用手机验证码登录。"}
	case errors.Is(err, errLoginFailed):
		return problem{status: http.StatusUnauthorized, code: "login_failed", message: "登录失败：证件号码或验证信息不正确，或账号暂时无法登录。密码连续输错多次后密码登录将暂时锁定，届时可使用短信验证码或刷脸登录。"}
	case errors.Is(err, errAccountLocked):
		return problem{status: http.StatusLocked, code: "account_locked", message: "验证码或人脸识别失败次数过多，账号暂时锁定，请稍后再试"}
	case errors.Is(err, errCodeWrong):
		return problem{status: http.StatusUnprocessableEntity, code: "code_wrong", message: "验证码错误或已失效", fields: map[string]string{"code": "验证码错误或已失效"}}
	case errors.As(err, &ce) && ce.wrong:
		return problem{status: http.StatusUnprocessableEntity, code: "captcha_wrong", message: "图形验证码错误或已失效", captcha: &ce.fresh}
	case errors.As(err, &ce):
		return problem{status: http.StatusPreconditionRequired, code: "captcha_required", message: "请输入图形验证码", captcha: &ce.fresh}
	case errors.Is(err, errCaptchaUnknown):
		return problem{status: http.StatusNotFound, code: "captcha_unknown", message: "图形验证码不存在或已失效"}
	case errors.Is(err, errCodeTooSoon):
		return problem{status: http.StatusTooManyRequests, code: "code_too_soon", message: "验证码发送过于频繁，请60秒后再试"}
	case errors.Is(err, errCodeDayCap):
		return problem{status: http.StatusTooManyRequests, code: "code_day_cap", message: "该手机号今日获取验证码次数已达上限"}
	case errors.Is(err, errCodeIPCap), errors.Is(err, errRateLimited):
		return problem{status: http.StatusTooManyRequests, code: "rate_limited", message: "操作过于频繁，请稍后再试"}
	case errors.Is(err, errCrossOrigin):
		return problem{status: http.StatusForbidden, code: "cross_origin", message: "请求来源不被允许"}
	case errors.Is(err, errOIDCRequest):
		return problem{status: http.StatusBadRequest, code: "oidc_request_invalid", message: "登录请求无效或已过期，请返回业务系统重新登录"}
	case errors.Is(err, errConsentUnknown):
		return problem{status: http.StatusNotFound, code: "consent_unknown", message: "该授权不存在或已撤销"}
	case errors.Is(err, errSystemUnknown):
		return problem{status: http.StatusNotFound, code: "system_unknown", message: "您未登录该业务系统或已退出"}
	case errors.Is(err, errTooLarge):
		return problem{status: http.StatusRequestEntityTooLarge, code: "request_too_large", message: "提交的内容过大"}
	case errors.Is(err, errBadRequest):
		return problem{status: http.StatusBadRequest, code: "bad_request", message: "请求格式不正确"}
	case errors.Is(err, errOldPassword):
		return problem{status: http.StatusUnprocessableEntity, code: "old_password_wrong", message: "原密码不正确。密码连续输错多次后将暂时锁定，届时可使用短信验证码或刷脸登录。",
			fields: map[string]string{"old_password": "原密码不正确"}}
	case errors.Is(err, errAgentLink):
		return problem{status: http.StatusGone, code: "agent_link_invalid", message: "授权链接无效、已过期或已处理，如需授权请联系企业重新发起"}
	case errors.Is(err, errAgentNotYours):
		return problem{status: http.StatusForbidden, code: "agent_link_other_account", message: "该授权不是发给当前登录账号的，请退出后使用被授权人本人的个人账号登录"}
	case errors.Is(err, errIdentityUnavailable):
		return problem{status: http.StatusForbidden, code: "identity_unavailable", message: "该身份不可用，请重新选择登录身份"}
	case errors.Is(err, errActingIdentity):
		return problem{status: http.StatusForbidden, code: "acting_identity", message: "请切换至个人身份后查看企业授权"}
	case errors.Is(err, errImmutable):
		return problem{status: http.StatusForbidden, code: "immutable", message: "用户名和证件号码一经注册不可修改"}
	case errors.Is(err, errAddressUnknown):
		return problem{status: http.StatusNotFound, code: "address_unknown", message: "该邮寄地址不存在"}
	case errors.Is(err, account.ErrTooManyAddresses):
		return problem{status: http.StatusConflict, code: "too_many_addresses", message: "最多可保存10个邮寄地址，请先删除不用的地址"}
	case errors.Is(err, errFaceUnknown):
		return problem{status: http.StatusNotFound, code: "face_unknown", message: "人脸识别请求不存在或已失效，请重新扫码"}
	case errors.Is(err, errFaceExpired):
		return problem{status: http.StatusGone, code: "face_expired", message: "二维码已过期，请刷新后重新扫码"}
	case errors.Is(err, errFaceAnswered):
		return problem{status: http.StatusConflict, code: "face_answered", message: "该二维码已使用"}
	case errors.Is(err, errNoRepresentative):
		return problem{status: http.StatusConflict, code: "no_representative", message: noRepresentativeMessage}
	case errors.Is(err, errFacePerson), errors.Is(err, errFaceFailed):
		return problem{status: http.StatusForbidden, code: "face_refused", message: "人脸识别未通过：须由账号使用人本人进行人脸识别"}
	case errors.Is(err, errLicenceUnknown), errors.Is(err, errLicenceRep), errors.Is(err, errLicenceFailed):
		return problem{status: http.StatusForbidden, code: "licence_refused", message: "电子营业执照认证未通过：须由登记的法定代表人本人扫码确认"}
	case errors.Is(err, ErrCallbackSignature), errors.Is(err, ErrCallbackStale), errors.Is(err, ErrCallbackMalformed), errors.Is(err, ErrCallbackResult):
		return problem{status: http.StatusUnauthorized, code: "face_callback_refused", message: "回调被拒绝"}
	case errors.Is(err, errUpstreamFailed):
		return problem{status: http.StatusUnauthorized, code: "login_failed", message: "第三方平台登录未成功：身份信息无法核验或账号暂时无法登录，请重新登录或使用其他方式登录"}
	case errors.Is(err, errUpstreamUnknown), errors.Is(err, errUpstreamNotLinked):
		return problem{status: http.StatusNotFound, code: "not_found", message: "未找到该第三方平台"}
	case errors.Is(err, errUpstreamUnavailable):
		return problem{status: http.StatusServiceUnavailable, code: "upstream_unavailable", message: "该第三方平台暂时无法使用，请稍后再试或使用其他方式登录"}
	case errors.Is(err, errUpstreamRegistration):
		return problem{status: http.StatusGone, code: "upstream_registration_expired", message: "注册已失效，请重新使用第三方平台登录"}
	case errors.Is(err, errUpstreamRegistered):
		return problem{status: http.StatusConflict, code: "account_exists", message: "该证件号码已有账号，请重新登录"}
	case database.Unavailable(err):
		return problem{status: http.StatusServiceUnavailable, code: "service_unavailable", message: "服务暂时不可用，请稍后再试", retryAfter: retryAfterOutage}
	}
	return problem{status: http.StatusInternalServerError, code: "internal", message: "服务暂时不可用，请稍后再试"}
}

// fail answers a request with err: JSON for the API, a redirect or an
// error page for the pages.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	switch {
	case p.code == "service_unavailable":
		s.outage.refuse(r.URL.Path, err)
	case p.status == http.StatusInternalServerError:
		s.cfg.Logger.Error("request_failed", slog.String("path", r.URL.Path), errAttr(err))
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	if wantsJSON(r) {
		body := map[string]any{"error": p.code, "message": p.message}
		if p.status == http.StatusConflict || p.status == http.StatusForbidden {
			if p.code == "step_out_of_order" || p.code == "completion_required" || p.code == "recovery_step_out_of_order" {
				body["next_step"] = string(p.next)
			}
		}
		if len(p.fields) > 0 {
			body["fields"] = p.fields
		}
		if p.captcha != nil {
			body["captcha_id"], body["captcha_url"], body["audio_url"] = p.captcha.ID, p.captcha.URL, p.captcha.AudioURL
		}
		if p.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		writeJSON(w, p.status, body)
		return
	}
	switch p.code {
	case "reauth_required":
		clearCookie(w)
	case "unauthenticated":
		clearCookie(w)
		to := "/login"
		if r.Method == http.MethodGet && r.URL.Path != "/login" {
			to += "?return_to=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	case "staff_unauthenticated":
		// The staff cookie only: a citizen's session in the same browser
		// is none of the console's business.
		clearStaffCookie(w)
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	case "step_out_of_order", "completion_required":
		to := stepPath(p.next)
		if p.nextPath != "" {
			to = p.nextPath
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.render(w, r, "error.html", pageData{Title: "出错了", Error: p.message})
}

// fieldErrors are input errors by field, in Chinese.
type fieldErrors map[string]string

func (f fieldErrors) Error() string { return "invalid input" }
