package authsvc

import (
	"errors"
	"net/http"
)

// Pages of the change of phone (phone.go).

// phonePage is GET /settings/phone: the face verification of ① (its QR
// code, polled by reloading) until it passes, then the form of ②.
func (s *Server) phonePage(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.freshFace(r.Context(), s.pool, sess); err == nil {
		s.phoneForm(w, r, sess, pageData{})
		return
	} else if !errors.Is(err, errFaceRequired) {
		s.fail(w, r, err)
		return
	}
	id, err := s.phoneFace(r.Context(), r, sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, err := s.phoneFaceStatus(r.Context(), r, sess, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if status == "used" {
		http.Redirect(w, r, "/settings/phone", http.StatusSeeOther)
		return
	}
	d := s.faceData("修改手机号", id, status, "/settings/phone")
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Completion = &c
	s.render(w, r, "face.html", d)
}

// phoneForm renders ②.
func (s *Server) phoneForm(w http.ResponseWriter, r *http.Request, sess *session, d pageData) {
	_, c, err := s.completionOf(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Title, d.Completion = "修改手机号", &c
	if d.Captcha == nil {
		d.Captcha = s.formCaptcha(r, true)
	}
	s.render(w, r, "phone.html", d)
}

// phoneFormError re-renders ② with the error; without a fresh face, back
// to ①.
func (s *Server) phoneFormError(w http.ResponseWriter, r *http.Request, sess *session, err error, d pageData) {
	p := problemOf(err)
	if errors.Is(err, errFaceRequired) {
		http.Redirect(w, r, "/settings/phone", http.StatusSeeOther)
		return
	}
	if p.status >= http.StatusInternalServerError || p.code == "unauthenticated" {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields, d.Captcha = p.message, p.fields, p.captcha
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.phoneForm(w, r, sess, d)
}

func (s *Server) phoneSMSForm(w http.ResponseWriter, r *http.Request, sess *session) {
	d := pageData{Phone: r.PostFormValue("phone")}
	if err := s.phoneSend(r.Context(), r, sess, d.Phone, captchaInput{ID: r.PostFormValue("captcha_id"), Answer: r.PostFormValue("captcha")}); err != nil {
		s.phoneFormError(w, r, sess, err, d)
		return
	}
	d.Notice = "验证码已发送，5分钟内有效"
	s.phoneForm(w, r, sess, d)
}

func (s *Server) phoneCaptchaForm(w http.ResponseWriter, r *http.Request, sess *session) {
	s.phoneForm(w, r, sess, pageData{Phone: r.PostFormValue("phone")})
}

func (s *Server) phoneChangeForm(w http.ResponseWriter, r *http.Request, sess *session) {
	d := pageData{Phone: r.PostFormValue("phone")}
	if err := s.changePhone(r.Context(), r, sess, d.Phone, r.PostFormValue("code")); err != nil {
		s.phoneFormError(w, r, sess, err, d)
		return
	}
	http.Redirect(w, r, "/center", http.StatusSeeOther)
}

// phonePageRoutes are the pages of phoneRoutes.
func (s *Server) phonePageRoutes() []route {
	return []route{
		{"GET /settings/phone", s.full(s.phonePage)},
		{"POST /settings/phone/sms", s.limited(s.full(s.phoneSMSForm))},
		{"POST /settings/phone/captcha", s.full(s.phoneCaptchaForm)},
		{"POST /settings/phone", s.limited(s.full(s.phoneChangeForm))},
	}
}
