package authsvc

import (
	"errors"
	"net/http"
)

// Pages of the recovery (recovery.go). Titles: 找回密码.

// recoveryPage renders the page of tab (a step, or "done").
func (s *Server) recoveryPage(w http.ResponseWriter, r *http.Request, tab string, d pageData) {
	d.Title, d.Tab = "找回密码", tab
	d.LegalForm = r.URL.Query().Get("type") == "legal" || r.PostFormValue("account_type") == "legal"
	if tab == recoveryIdentify && d.Captcha == nil {
		c, err := s.newCaptcha(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Captcha = &c
	}
	s.render(w, r, "recovery.html", d)
}

// recoveryFormError re-renders a step's page with the error, or sends
// the citizen to the step to do.
func (s *Server) recoveryFormError(w http.ResponseWriter, r *http.Request, tab string, err error, d pageData) {
	var step *RecoveryStepError
	if errors.As(err, &step) {
		http.Redirect(w, r, recoveryPaths[step.Next], http.StatusSeeOther)
		return
	}
	p := problemOf(err)
	if p.status >= http.StatusInternalServerError {
		s.fail(w, r, err)
		return
	}
	d.Error, d.Fields, d.Captcha = p.message, p.fields, p.captcha
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.status)
	s.recoveryPage(w, r, tab, d)
}

// recoveryAt renders the page of step (② or ③) when it is the flow's next one.
func (s *Server) recoveryAt(step string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, f, err := s.expectRecovery(r.Context(), r, step)
		if err != nil {
			s.recoveryFormError(w, r, step, err, pageData{})
			return
		}
		d := pageData{}
		if f != nil {
			d.Phone = f.phoneHint
		}
		s.recoveryPage(w, r, step, d)
	}
}

func (s *Server) recoveryStartForm(w http.ResponseWriter, r *http.Request) {
	in := recoveryInput{AccountType: r.PostFormValue("account_type"), IDType: r.PostFormValue("id_type"), IDNumber: r.PostFormValue("id_number"),
		CreditCode: r.PostFormValue("credit_code"), CaptchaID: r.PostFormValue("captcha_id"), Captcha: r.PostFormValue("captcha")}
	if _, err := s.startRecovery(r.Context(), w, r, in); err != nil {
		typed := in.IDNumber
		if in.AccountType == "legal" {
			typed = in.CreditCode
		}
		s.recoveryFormError(w, r, recoveryIdentify, err, pageData{IDNumber: typed})
		return
	}
	http.Redirect(w, r, recoveryPaths[recoveryCode], http.StatusSeeOther)
}

func (s *Server) recoveryCaptchaForm(w http.ResponseWriter, r *http.Request) {
	typed := r.PostFormValue("id_number")
	if r.PostFormValue("account_type") == "legal" {
		typed = r.PostFormValue("credit_code")
	}
	s.recoveryPage(w, r, recoveryIdentify, pageData{IDNumber: typed})
}

func (s *Server) recoveryCodeForm(w http.ResponseWriter, r *http.Request) {
	if err := s.recoveryCodeStep(r.Context(), r, r.PostFormValue("code")); err != nil {
		d := pageData{}
		if sess, serr := s.session(r.Context(), r); serr == nil {
			if f, ferr := s.recoveryOf(r.Context(), sess); ferr == nil && f != nil {
				d.Phone = f.phoneHint
			}
		}
		s.recoveryFormError(w, r, recoveryCode, err, d)
		return
	}
	http.Redirect(w, r, recoveryPaths[recoveryPassword], http.StatusSeeOther)
}

func (s *Server) recoveryPasswordForm(w http.ResponseWriter, r *http.Request) {
	if err := s.recoveryPasswordStep(r.Context(), r, r.PostFormValue("password"), r.PostFormValue("confirm")); err != nil {
		s.recoveryFormError(w, r, recoveryPassword, err, pageData{})
		return
	}
	s.recoveryPage(w, r, "done", pageData{Notice: recoveryDone})
}

// recoveryPageRoutes are the pages of recoveryRoutes.
func (s *Server) recoveryPageRoutes() []route {
	return []route{
		{"GET /recovery", func(w http.ResponseWriter, r *http.Request) { s.recoveryPage(w, r, recoveryIdentify, pageData{}) }},
		{"POST /recovery", s.limited(s.recoveryStartForm)},
		{"POST /recovery/captcha", s.recoveryCaptchaForm},
		{"GET /recovery/code", s.recoveryAt(recoveryCode)},
		{"POST /recovery/code", s.limited(s.recoveryCodeForm)},
		{"GET /recovery/password", s.recoveryAt(recoveryPassword)},
		{"POST /recovery/password", s.limited(s.hashing(s.recoveryPasswordForm))},
	}
}
