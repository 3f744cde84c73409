package authsvc

import (
	"errors"
	"mime"
	"net/http"
)

// maxRequestBody is the largest request body the service reads, on every
// route (the OpenID endpoints included). Some read less: the JSON API
// (maxJSONBody) and the face provider's callback (MaxFaceCallbackSize).
const maxRequestBody = 64 << 10

// maxJSONBody is the largest body of a JSON API request.
const maxJSONBody = 16 << 10

// errTooLarge refuses a request body over its limit.
var errTooLarge = errors.New("request body too large")

// limitBody limits every request's body to maxRequestBody. A body declared
// longer (Content-Length) is refused at once, unread, with 413; one sent
// without a length is cut at the limit (http.MaxBytesReader). A form post
// is parsed here, so that an oversized form is refused with 413 and a
// malformed one with 400 before any handler runs: the handlers' FormValue
// and PostFormValue ignore errors, and would take what they got for an
// empty form.
func (s *Server) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxRequestBody {
			// The body stays unread: the connection cannot be reused.
			w.Header().Set("Connection", "close")
			s.fail(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		if isFormPost(r) {
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, bodyError(err))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// isFormPost reports whether r carries a URL-encoded form in its body.
func isFormPost(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && ct == "application/x-www-form-urlencoded"
}

// bodyError is errTooLarge for a body cut at its limit, errBadRequest for
// any other failure to read or parse it.
func bodyError(err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return errTooLarge
	}
	return errBadRequest
}
