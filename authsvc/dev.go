package authsvc

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
)

// The development providers: the SMS outbox page and the face simulator.
// Their routes exist only with Config.Dev.

// devOutbox lists the development SMS outbox.
func (s *Server) devOutbox(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pool.Query(r.Context(), `SELECT phone_hint, body, created_at FROM sms_outbox ORDER BY id DESC LIMIT 50`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rows.Close()
	var msgs []outboxMessage
	for rows.Next() {
		var m outboxMessage
		var at time.Time
		if err := rows.Scan(&m.Phone, &m.Body, &at); err != nil {
			s.fail(w, r, err)
			return
		}
		m.At = at.In(shanghai).Format("2006-01-02 15:04:05")
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "outbox.html", pageData{Title: "开发环境短信发件箱", Messages: msgs})
}

// devInbox lists the newest messages of the service's inbox (the mobile
// app's channel), as /dev/sms the SMS: the account by its masked name and
// phone.
func (s *Server) devInbox(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pool.Query(r.Context(), `SELECT a.name, coalesce(a.phone_hint, ''), m.body, coalesce(m.link, ''), m.created_at
		FROM inbox_message m JOIN account a ON a.id = m.account_id ORDER BY m.id DESC LIMIT 50`)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (inboxEntry, error) {
		var m inboxEntry
		var at time.Time
		err := row.Scan(&m.To, &m.Phone, &m.Body, &m.Link, &at)
		m.To, m.At = pii.MaskPersonName(m.To), at.In(shanghai).Format("2006-01-02 15:04:05")
		return m, err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "inbox.html", pageData{Title: "开发环境站内消息", Inbox: msgs})
}

// inboxEntry is a message of the development inbox page.
type inboxEntry struct{ To, Phone, Body, Link, At string }

type outboxMessage struct{ Phone, Body, At string }

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// devFacePage is the face simulator: it plays the province's app for a
// challenge.
func (s *Server) devFacePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "simulator.html", pageData{Title: "人脸识别模拟器（开发环境）", FaceID: r.PathValue("id")})
}

// devFaceAnswer signs a result as the provider would and delivers it to
// the callback over HTTP, as the provider does.
func (s *Server) devFaceAnswer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	idNumber := account.NormalizeID(r.PostFormValue("id_number"))
	result := FacePass
	switch r.PostFormValue("verdict") {
	case "reject":
		result = FaceFail
	case "other":
		idNumber = "110101199003070000" // someone else's face
	}
	status, err := s.SimulateFace(r.Context(), id, idNumber, result)
	d := pageData{Title: "人脸识别模拟器（开发环境）", FaceID: id}
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Notice = fmt.Sprintf("已回调：HTTP %d", status)
	}
	s.render(w, r, "simulator.html", d)
}

// simulator is the face simulator when it is the face provider, else nil.
func (s *Server) simulator() *FaceSimulator {
	sim, _ := s.cfg.Face.(*FaceSimulator)
	return sim
}

// SimulateFace signs a face result with the simulator's key and posts it
// to this service's callback, returning the HTTP status it got. For the
// simulator page and tests; only when the simulator is the face provider
// (Config.Dev).
func (s *Server) SimulateFace(ctx context.Context, challenge, idNumber, result string) (int, error) {
	sim := s.simulator()
	if sim == nil {
		return 0, fmt.Errorf("the face simulator is not the face provider")
	}
	body, err := SignFaceResult(sim.key, FaceResult{Challenge: challenge, IDNumber: idNumber, Result: result,
		IssuedAt: s.cfg.Now().Unix(), Nonce: NewFaceNonce()})
	if err != nil {
		return 0, err
	}
	return s.postCallback(ctx, "/api/v1/face/callback", body)
}

// postCallback posts a simulator's signed body to this service's callback
// at path, as the provider would, and returns the HTTP status it got.
func (s *Server) postCallback(ctx context.Context, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// devRoutes: the SMS outbox (with --dev) and the face simulator's pages
// (only with --dev: see validate).
func (s *Server) devRoutes() []route {
	var out []route
	if s.cfg.Dev {
		out = append(out, route{"GET /dev/sms", s.devOutbox}, route{"GET /dev/inbox", s.devInbox})
	}
	if s.simulator() != nil {
		out = append(out, route{"GET /dev/face/{id}", s.devFacePage}, route{"POST /dev/face/{id}", s.devFaceAnswer})
	}
	return out
}
