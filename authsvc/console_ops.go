package authsvc

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// The console's operations views (运维 only): the import runs and their
// files (internal/report's queries, what `fusion runs` prints), the
// departments' feedback workbooks of a run to download (from
// Config.FeedbackDir), the departments with their last successful runs,
// the business systems (register, rotate the secret, disable: the same
// functions as `authsvc client`) and the signing keys (rotate). Every
// action is audited in its transaction (admin_client_add, _rotate,
// _disable, admin_key_rotate, admin_feedback_download).

// opsRuns is how many runs the runs page lists, newest first.
const opsRuns = 50

var (
	// errOpsNotFound: no such run, client or feedback file.
	errOpsNotFound = errors.New("ops: not found")
	// errClientExists: a client of that id is registered already.
	errClientExists = errors.New("client id taken")
	// errFeedbackOff: Config.FeedbackDir is not set.
	errFeedbackOff = errors.New("feedback folder not configured")
)

// clientInvalidError: a registration the rules refuse, with the reason.
type clientInvalidError struct{ err error }

func (e *clientInvalidError) Error() string { return "client invalid: " + e.err.Error() }

// opsView is an operations page's data.
type opsView struct {
	Runs []report.Run
	Run  *report.RunDetail
	// FeedbackOn says Config.FeedbackDir is set; Feedback are the run's
	// workbooks found there.
	FeedbackOn  bool
	Feedback    []string
	Departments []deptLast
	Clients     []Client
	// Secret is a client secret just made: shown once.
	Secret   *shownSecret
	Keys     []keyInfo
	NewKeyID string
	// Conflicts are the open merge conflicts (fusion conflicts), masked,
	// of OpenConflicts of them.
	Conflicts     []report.Conflict
	OpenConflicts int64
}

// shownSecret is a client's secret as the page that made it shows it.
type shownSecret struct {
	ClientID string `json:"client_id"`
	Secret   string `json:"client_secret"`
}

func (s *Server) opsPage(w http.ResponseWriter, r *http.Request, c *staffCall, page, title string, v *opsView) {
	v.FeedbackOn = s.cfg.FeedbackDir != ""
	s.render(w, r, page, pageData{Title: title, Staff: c.staffMember, Ops: v})
}

// opsFail answers a page's form with err on its page (a refusal such as a
// missing reason), or as fail does.
func (s *Server) opsFail(w http.ResponseWriter, r *http.Request, c *staffCall, page, title string, v *opsView, err error) {
	p := problemOf(err)
	if wantsJSON(r) || p.status >= http.StatusInternalServerError {
		s.fail(w, r, err)
		return
	}
	v.FeedbackOn = s.cfg.FeedbackDir != ""
	w.WriteHeader(p.status)
	s.render(w, r, page, pageData{Title: title, Staff: c.staffMember, Ops: v, Error: p.message, Fields: p.fields})
}

// Import runs.

func (s *Server) opsRunList(w http.ResponseWriter, r *http.Request, c *staffCall) {
	runs, err := report.Runs(r.Context(), s.pool, opsRuns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if runs == nil {
		runs = []report.Run{}
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
		return
	}
	s.opsPage(w, r, c, "admin_ops_runs.html", "导入批次", &opsView{Runs: runs})
}

// runOf is the run of the request's {run}, errOpsNotFound if none.
func (s *Server) runOf(r *http.Request) (*report.RunDetail, error) {
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errOpsNotFound
	}
	d, err := report.RunByID(r.Context(), s.pool, id)
	if errors.Is(err, database.ErrNotFound) {
		return nil, errOpsNotFound
	}
	if err != nil {
		return nil, err
	}
	if d.FileLedgers == nil {
		d.FileLedgers = []report.RunFile{}
	}
	return &d, nil
}

func (s *Server) opsRun(w http.ResponseWriter, r *http.Request, c *staffCall) {
	d, err := s.runOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.feedbackFiles(d)
	if err != nil && !errors.Is(err, errFeedbackOff) {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"run": d, "feedback_configured": s.cfg.FeedbackDir != "", "feedback": files})
		return
	}
	s.opsPage(w, r, c, "admin_ops_run.html", "导入批次详情", &opsView{Run: d, Feedback: files})
}

// Feedback workbooks. A run's are in FeedbackDir/run-<id>/ (the
// scheduler's archive layout, inbox/archive/run-<id>/): each department's
// workbook and the CSVs of what its detail sheets leave out. The names
// come from the run's departments in the database and what the folder
// holds; a download names one of them, and is opened under the folder as
// an os.Root, so neither "..", an absolute path nor a symlink leads out.

// feedbackName is internal/feedback's Name (the workbook of dept); the
// test checks they agree (authsvc does not link the workbook writer).
func feedbackName(dept string) string { return dept + "-feedback.xlsx" }

// isFeedbackOf says whether name is one of dept's feedback files: its
// workbook or a CSV beside it (dept-feedback-<sheet>.csv).
func isFeedbackOf(name, dept string) bool {
	if name == feedbackName(dept) {
		return true
	}
	rest, ok := strings.CutPrefix(name, dept+"-feedback-")
	return ok && strings.HasSuffix(rest, ".csv") && !strings.ContainsAny(rest, `/\`)
}

// feedbackFiles lists d's feedback files in the feedback folder, by name
// (errFeedbackOff without the folder; none when it has no run-<id>/).
func (s *Server) feedbackFiles(d *report.RunDetail) ([]string, error) {
	files := []string{}
	if s.cfg.FeedbackDir == "" {
		return files, errFeedbackOff
	}
	root, err := os.OpenRoot(s.cfg.FeedbackDir)
	if err != nil {
		return files, err
	}
	defer root.Close()
	dir, err := root.Open(runFolder(d.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return files, err
	}
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return files, err
	}
	var depts []string
	for _, f := range d.FileLedgers {
		depts = append(depts, f.Dept)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // a symlink or folder is never offered
		}
		if slices.ContainsFunc(depts, func(dept string) bool { return isFeedbackOf(e.Name(), dept) }) {
			files = append(files, e.Name())
		}
	}
	slices.Sort(files)
	return files, nil
}

func runFolder(id int64) string { return "run-" + strconv.FormatInt(id, 10) }

// opsFeedback sends one of a run's feedback files, audited with the run
// and the file.
func (s *Server) opsFeedback(w http.ResponseWriter, r *http.Request, c *staffCall) {
	// The departments' rejected rows: a download takes a reason, as an
	// unmasking does.
	reason, err := staffReason(r.PostFormValue("reason"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.runOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.feedbackFiles(d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if !slices.Contains(files, name) || !filepath.IsLocal(name) {
		s.fail(w, r, errOpsNotFound)
		return
	}
	root, err := os.OpenRoot(filepath.Join(s.cfg.FeedbackDir, runFolder(d.ID)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		s.fail(w, r, errOpsNotFound)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		s.fail(w, r, errOpsNotFound)
		return
	}
	if err := s.staffAuditIn(r.Context(), s.pool, r, c, staffAction{action: "feedback_download", target: "run " + strconv.FormatInt(d.ID, 10),
		reason: reason, detail: "file=" + auditText(name)}); err != nil {
		s.fail(w, r, err)
		return
	}
	ctype := "text/csv; charset=utf-8"
	if strings.HasSuffix(name, ".xlsx") {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	io.Copy(w, f)
}

// Departments: the schedule's departments are in the database (the
// department table every import registers its department in, with each
// run's files in import_file), not in a file of the service's: each with
// its last successful run, scheduled or by hand.

// deptLast is a department and its last successful runs.
type deptLast struct {
	Code          string     `json:"code"`
	Name          string     `json:"name"`
	LastRun       *int64     `json:"last_run_id"`
	LastAt        *time.Time `json:"last_run_finished_at"`
	LastScheduled *time.Time `json:"last_scheduled_finished_at"`
}

func (s *Server) departments(ctx context.Context) ([]deptLast, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.code, d.name, last.id, last.finished_at,
		       (SELECT max(r.finished_at) FROM import_run r JOIN import_file f ON f.run_id = r.id WHERE f.dept = d.code AND r.trigger = 'schedule')
		FROM department d
		LEFT JOIN LATERAL (SELECT r.id, r.finished_at FROM import_run r JOIN import_file f ON f.run_id = r.id
		    WHERE f.dept = d.code ORDER BY r.id DESC LIMIT 1) last ON true
		ORDER BY d.code`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (deptLast, error) {
		var d deptLast
		err := row.Scan(&d.Code, &d.Name, &d.LastRun, &d.LastAt, &d.LastScheduled)
		return d, err
	})
}

func (s *Server) opsDepartments(w http.ResponseWriter, r *http.Request, c *staffCall) {
	depts, err := s.departments(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"departments": depts})
		return
	}
	s.opsPage(w, r, c, "admin_ops_departments.html", "部门与导入计划", &opsView{Departments: depts})
}

// maxConflictsShown bounds the conflicts view (oldest first, as fusion
// conflicts lists them).
const maxConflictsShown = 200

// opsConflicts is what `fusion conflicts` prints, masked: the open merge
// conflicts, oldest first, optionally of one field. Resolving one is
// 客服's, on the account found by the lookup (four eyes).
func (s *Server) opsConflicts(w http.ResponseWriter, r *http.Request, c *staffCall) {
	field := r.URL.Query().Get("field")
	switch field {
	case "", string(schemas.FieldName), string(schemas.FieldGender), string(schemas.FieldBirthDate), string(schemas.FieldRepName):
	default:
		s.fail(w, r, errOpsNotFound)
		return
	}
	list, total, err := report.OpenConflicts(r.Context(), s.pool, report.ConflictFilter{Field: field, Limit: maxConflictsShown})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range list {
		maskConflict(&list[i])
	}
	if list == nil {
		list = []report.Conflict{}
	}
	if err := s.staffAuditIn(r.Context(), s.pool, r, c, staffAction{action: "conflicts_list",
		detail: "field=" + auditText(field) + "; shown=" + strconv.Itoa(len(list))}); err != nil {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"total": total, "conflicts": list})
		return
	}
	s.opsPage(w, r, c, "admin_ops_conflicts.html", "待处理冲突", &opsView{Conflicts: list, OpenConflicts: total})
}

// maskConflict masks a conflict as the list shows it: the person's name
// and a name's candidates (an enterprise's name is public), a birth
// date's month and day (the part of the ID number its mask hides); a
// gender stays.
func maskConflict(c *report.Conflict) {
	if c.Kind != string(schemas.KindLegal) {
		c.Name = pii.MaskPersonName(c.Name)
	}
	for i := range c.Candidates {
		switch v := c.Candidates[i].Value; c.Field {
		case string(schemas.FieldName), string(schemas.FieldRepName):
			c.Candidates[i].Value = pii.MaskPersonName(v)
		case string(schemas.FieldBirthDate):
			if len(v) >= 4 {
				c.Candidates[i].Value = v[:4] + "-**-**"
			}
		}
	}
	c.AccountID = 0 // the account is reached by the lookup only
}

// Business systems (OIDC clients).

// clientRequest registers a client from the console.
type clientRequest struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	Scopes                 []string `json:"scopes"`
	RequireFace            bool     `json:"require_face"`
	PKCEOptional           bool     `json:"pkce_optional"`
	EmailClaim             string   `json:"email_claim"`
	Reason                 string   `json:"reason"`
}

func (s *Server) clientsView(ctx context.Context) (*opsView, error) {
	clients, err := ListClients(ctx, s.pool)
	if clients == nil {
		clients = []Client{}
	}
	return &opsView{Clients: clients}, err
}

func (s *Server) opsClients(w http.ResponseWriter, r *http.Request, c *staffCall) {
	v, err := s.clientsView(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"clients": v.Clients})
		return
	}
	s.opsPage(w, r, c, "admin_ops_clients.html", "业务系统", v)
}

// clientAction is an action on a client: its audit action, and what it
// does in the transaction (a secret to show once, or "").
type clientAction struct {
	action string
	reason string
	target string
	do     func(ctx context.Context, tx pgx.Tx) (secret, detail string, err error)
}

// clientActed runs a client action with its audit row in one transaction.
func (s *Server) clientActed(r *http.Request, c *staffCall, a clientAction) (string, error) {
	reason, err := staffReason(a.reason)
	if err != nil {
		return "", err
	}
	var secret string
	err = database.Transact(r.Context(), s.pool, func(tx pgx.Tx) error {
		var detail string
		var err error
		if secret, detail, err = a.do(r.Context(), tx); err != nil {
			return err
		}
		return s.staffAuditIn(r.Context(), tx, r, c, staffAction{action: a.action, target: a.target, reason: reason, detail: auditText(detail)})
	})
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return "", errClientExists
	}
	if errors.Is(err, database.ErrNotFound) {
		return "", errOpsNotFound
	}
	return secret, err
}

func (s *Server) addClient(r *http.Request, c *staffCall, in clientRequest) (string, error) {
	cl := Client{ID: strings.TrimSpace(in.ID), Name: strings.TrimSpace(in.Name), RedirectURIs: in.RedirectURIs,
		PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, Public: in.Public, Scopes: in.Scopes, RequireFace: in.RequireFace,
		PKCEOptional: in.PKCEOptional, EmailClaim: in.EmailClaim}
	return s.clientActed(r, c, clientAction{action: "client_add", reason: in.Reason, target: cl.ID,
		do: func(ctx context.Context, tx pgx.Tx) (string, string, error) {
			secret, detail, err := registerClientIn(ctx, tx, cl)
			var pe *pgconn.PgError
			if err != nil && !errors.As(err, &pe) && !errors.Is(err, context.Canceled) {
				err = &clientInvalidError{err}
			}
			return secret, detail, err
		}})
}

func (s *Server) rotateClient(r *http.Request, c *staffCall, reason string) (string, error) {
	id := r.PathValue("client")
	return s.clientActed(r, c, clientAction{action: "client_rotate", reason: reason, target: id,
		do: func(ctx context.Context, tx pgx.Tx) (string, string, error) {
			secret, err := rotateClientSecretIn(ctx, tx, id)
			return secret, "", err
		}})
}

func (s *Server) disableClient(r *http.Request, c *staffCall, reason string) error {
	id := r.PathValue("client")
	_, err := s.clientActed(r, c, clientAction{action: "client_disable", reason: reason, target: id,
		do: func(ctx context.Context, tx pgx.Tx) (string, string, error) {
			return "", "", disableClientIn(ctx, tx, id, s.cfg.Now())
		}})
	return err
}

func (s *Server) apiClientAdd(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in clientRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	secret, err := s.addClient(r, c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, shownSecret{ClientID: strings.TrimSpace(in.ID), Secret: secret})
}

func (s *Server) apiClientRotate(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in reasonRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	secret, err := s.rotateClient(r, c, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, shownSecret{ClientID: r.PathValue("client"), Secret: secret})
}

func (s *Server) apiClientDisable(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in reasonRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.disableClient(r, c, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"client_id": r.PathValue("client"), "status": "disabled"})
}

// fields splits a form's list (one a line or space separated).
func fields(s string) []string { return strings.Fields(s) }

// clientFormDone shows the clients page after an action: the secret, once.
func (s *Server) clientFormDone(w http.ResponseWriter, r *http.Request, c *staffCall, id, secret string, err error) {
	v, lerr := s.clientsView(r.Context())
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	if err != nil {
		s.opsFail(w, r, c, "admin_ops_clients.html", "业务系统", v, err)
		return
	}
	if secret != "" {
		v.Secret = &shownSecret{ClientID: id, Secret: secret}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.opsPage(w, r, c, "admin_ops_clients.html", "业务系统", v)
}

func (s *Server) formClientAdd(w http.ResponseWriter, r *http.Request, c *staffCall) {
	in := clientRequest{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"), RedirectURIs: fields(r.PostFormValue("redirect_uris")),
		PostLogoutRedirectURIs: fields(r.PostFormValue("post_logout_redirect_uris")), Public: r.PostFormValue("public") != "",
		Scopes: fields(r.PostFormValue("scopes")), RequireFace: r.PostFormValue("require_face") != "",
		PKCEOptional: r.PostFormValue("pkce_optional") != "", EmailClaim: r.PostFormValue("email_claim"), Reason: r.PostFormValue("reason")}
	secret, err := s.addClient(r, c, in)
	s.clientFormDone(w, r, c, strings.TrimSpace(in.ID), secret, err)
}

func (s *Server) formClientRotate(w http.ResponseWriter, r *http.Request, c *staffCall) {
	secret, err := s.rotateClient(r, c, r.PostFormValue("reason"))
	s.clientFormDone(w, r, c, r.PathValue("client"), secret, err)
}

func (s *Server) formClientDisable(w http.ResponseWriter, r *http.Request, c *staffCall) {
	err := s.disableClient(r, c, r.PostFormValue("reason"))
	s.clientFormDone(w, r, c, r.PathValue("client"), "", err)
}

// Signing keys.

func (s *Server) opsKeys(w http.ResponseWriter, r *http.Request, c *staffCall) {
	keys, err := s.keysView(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
		return
	}
	s.opsPage(w, r, c, "admin_ops_keys.html", "签名密钥", &opsView{Keys: keys})
}

func (s *Server) keysView(ctx context.Context) ([]keyInfo, error) {
	if _, err := s.activeSigningKey(ctx); err != nil { // the first key, as the JWKS would make it
		return nil, err
	}
	return s.signingKeys(ctx)
}

// rotateKey rotates the signing key with its audit row: the new kid.
func (s *Server) rotateKey(r *http.Request, c *staffCall, reason string) (string, error) {
	reason, err := staffReason(reason)
	if err != nil {
		return "", err
	}
	var kid string
	err = database.Transact(r.Context(), s.pool, func(tx pgx.Tx) error {
		if kid, err = s.rotateSigningKeyIn(r.Context(), tx); err != nil {
			return err
		}
		return s.staffAuditIn(r.Context(), tx, r, c, staffAction{action: "key_rotate", target: kid, reason: reason})
	})
	return kid, err
}

func (s *Server) apiKeyRotate(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in reasonRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	kid, err := s.rotateKey(r, c, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"kid": kid})
}

func (s *Server) formKeyRotate(w http.ResponseWriter, r *http.Request, c *staffCall) {
	kid, err := s.rotateKey(r, c, r.PostFormValue("reason"))
	keys, lerr := s.keysView(r.Context())
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	if err != nil {
		s.opsFail(w, r, c, "admin_ops_keys.html", "签名密钥", &opsView{Keys: keys}, err)
		return
	}
	s.opsPage(w, r, c, "admin_ops_keys.html", "签名密钥", &opsView{Keys: keys, NewKeyID: kid})
}

// opsRoutes: the operations views and actions, 运维's only.
func (s *Server) opsRoutes() []staffRoute {
	ops := []string{roleYunwei}
	return []staffRoute{
		{"GET /admin/ops/runs", ops, s.opsRunList},
		{"GET /admin/ops/runs/{run}", ops, s.opsRun},
		{"POST /admin/ops/runs/{run}/feedback/{name}", ops, s.opsFeedback},
		{"GET /admin/ops/departments", ops, s.opsDepartments},
		{"GET /admin/ops/conflicts", ops, s.opsConflicts},
		{"GET /admin/ops/clients", ops, s.opsClients},
		{"POST /admin/ops/clients", ops, s.formClientAdd},
		{"POST /admin/ops/clients/{client}/rotate", ops, s.formClientRotate},
		{"POST /admin/ops/clients/{client}/disable", ops, s.formClientDisable},
		{"GET /admin/ops/keys", ops, s.opsKeys},
		{"POST /admin/ops/keys/rotate", ops, s.formKeyRotate},
		{"GET /api/v1/admin/ops/runs", ops, s.opsRunList},
		{"GET /api/v1/admin/ops/runs/{run}", ops, s.opsRun},
		{"GET /api/v1/admin/ops/departments", ops, s.opsDepartments},
		{"GET /api/v1/admin/ops/conflicts", ops, s.opsConflicts},
		{"GET /api/v1/admin/ops/clients", ops, s.opsClients},
		{"POST /api/v1/admin/ops/clients", ops, s.apiClientAdd},
		{"POST /api/v1/admin/ops/clients/{client}/rotate", ops, s.apiClientRotate},
		{"POST /api/v1/admin/ops/clients/{client}/disable", ops, s.apiClientDisable},
		{"GET /api/v1/admin/ops/keys", ops, s.opsKeys},
		{"POST /api/v1/admin/ops/keys/rotate", ops, s.apiKeyRotate},
	}
}
