package authsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// Four eyes (issue 20, point 3): a phone change after the holder's mailed
// documents, and the surviving value of a merge conflict, are proposed by
// 客服 (kefu) and take effect only when a different staff member with 审核
// (shenhe) approves them; 审核 may reject them instead. A proposal waits
// in staff_proposal (migration 042), at most one pending of a kind per
// account (a new one supersedes it). Deciding is exactly-once: the
// decision updates the row only while it is pending, so of two approvers
// at once one wins and the other is told it was decided.
//
// Approving a phone change binds the phone as the CLI's `authsvc admin
// set-phone` does (operatorSetPhoneIn), ends the account's sessions and
// tells the old and the new phone. Approving a conflict's resolution sets
// the account's name to the value chosen and pins it (account.name_pinned:
// it ranks as the citizen's, so no later import replaces it); a gender or
// birth date conflict is resolved by confirming the ID number's value, the
// only choice offered for them.
//
// Lock order as the rest of the service (see signIn): the audit row (the
// chain's head) first, then the proposal's row, then the account's.

// Proposal kinds and statuses.
const (
	proposalPhone    = "phone"
	proposalConflict = "conflict"
	proposalPending  = "pending"
)

var proposalKindNames = map[string]string{proposalPhone: "更换手机号", proposalConflict: "冲突处理"}

var conflictFieldNames = map[string]string{
	string(schemas.FieldName):      "姓名",
	string(schemas.FieldGender):    "性别",
	string(schemas.FieldBirthDate): "出生日期",
	string(schemas.FieldRepName):   "法定代表人",
}

var (
	// errProposalNotFound: no such proposal (or conflict).
	errProposalNotFound = errors.New("no such proposal")
	// errOwnProposal: the approver proposed it (four eyes).
	errOwnProposal = errors.New("a proposal is decided by another staff member")
	// errProposalDecided: the proposal is no longer pending, or what it
	// acts on changed meanwhile (the conflict was resolved).
	errProposalDecided = errors.New("the proposal was decided already")
	// errEvidenceRequired: a phone change names the documents checked.
	errEvidenceRequired = errors.New("the evidence reference is required")
	// errChoiceRefused: not one of the choices the conflict offers.
	errChoiceRefused = errors.New("not a choice of the conflict")
)

// proposalView is a proposal as the console shows it: masked.
type proposalView struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	KindName    string    `json:"kind_name"`
	AccountName string    `json:"account_name"`
	AccountID   string    `json:"account_id_hint"`
	PhoneHint   string    `json:"phone_hint,omitempty"`
	Field       string    `json:"field,omitempty"`
	FieldName   string    `json:"field_name,omitempty"`
	Value       string    `json:"value,omitempty"`
	Evidence    string    `json:"evidence,omitempty"`
	Reason      string    `json:"reason"`
	ProposedBy  string    `json:"proposed_by"`
	ProposedAt  time.Time `json:"proposed_at"`
	Status      string    `json:"status"`
}

// conflictChoices is an open conflict of an account with the choices 客服
// may propose (by index).
type conflictChoices struct {
	ID        int64              `json:"id"`
	Field     string             `json:"field"`
	FieldName string             `json:"field_name"`
	Choices   []choiceView       `json:"choices"`
	Pending   *proposalView      `json:"pending,omitempty"`
	raw       []report.Candidate `json:"-"` // as merge stores them (report reads them)
	// reps are a conflict of representatives' candidates' sealed rows
	// (account.ConflictRep; "" for none), by index.
	reps []string
}

// decodeCandidates reads a conflict's candidates and, for a conflict of
// representatives, their sealed rows (merge_conflict.reps; NULL: none),
// one per candidate ("" for none).
func decodeCandidates(id int64, cands, sealed []byte) ([]report.Candidate, []string, error) {
	var raw []report.Candidate
	if err := json.Unmarshal(cands, &raw); err != nil {
		return nil, nil, fmt.Errorf("conflict %d: %w", id, err)
	}
	reps := make([]string, len(raw))
	if sealed != nil {
		var rs []string
		if err := json.Unmarshal(sealed, &rs); err != nil || len(rs) != len(raw) {
			return nil, nil, fmt.Errorf("conflict %d: its representatives do not match its candidates (%v)", id, err)
		}
		reps = rs
	}
	return raw, reps, nil
}

// choiceView is a candidate of a conflict, masked, with where it came
// from; Allowed: it may be chosen.
type choiceView struct {
	Index   int    `json:"index"`
	Value   string `json:"value"`
	From    string `json:"from"`
	Allowed bool   `json:"allowed"`
}

// proposalBlock is the account page's 四眼审核 block: its open conflicts,
// its pending proposals and whether the name is pinned.
type proposalBlock struct {
	Ref        string            `json:"-"`
	NamePinned bool              `json:"name_pinned"`
	Conflicts  []conflictChoices `json:"conflicts"`
	Pending    []proposalView    `json:"pending"`
	// Shown is a proposed phone 审核 unmasked, shown once (the queue).
	Shown *shownProposal `json:"-"`
}

// shownProposal is a pending phone change's new number in clear.
type shownProposal struct {
	ID    int64  `json:"proposal"`
	Phone string `json:"phone"`
}

// maskValue masks a proposed value as the console shows it.
func maskValue(field, v string) string {
	if field == string(schemas.FieldName) || field == string(schemas.FieldRepName) {
		return pii.MaskPersonName(v)
	}
	return v
}

// choices are the candidates of a conflict as choices: a gender or birth
// date may only be confirmed as the ID number's; a representative is the
// account's own (kept and pinned) or a department row's whose values the
// conflict carries sealed (reps).
func choices(field string, cs []report.Candidate, reps []string) []choiceView {
	out := make([]choiceView, 0, len(cs))
	for i, c := range cs {
		from := c.Source
		switch {
		case from == "citizen":
			from = "本人"
		case from == "staff":
			from = "工作人员核定"
		case from == "id_number":
			from = "证件号码"
		case from == "stored":
			from = "已存储"
		case len(c.Sources) > 0:
			from = c.Sources[0].Dept
		}
		allowed := c.Value != ""
		switch field {
		case string(schemas.FieldGender), string(schemas.FieldBirthDate):
			allowed = allowed && c.Source == "id_number"
		case string(schemas.FieldRepName):
			allowed = allowed && (reps[i] != "" || slices.Contains([]string{"stored", "citizen", "staff"}, c.Source))
		}
		out = append(out, choiceView{Index: i, Value: maskValue(field, c.Value), From: from, Allowed: allowed})
	}
	return out
}

// openConflicts are the account's open conflicts.
func openConflicts(ctx context.Context, q querier, bidx []byte) ([]conflictChoices, error) {
	rows, err := q.Query(ctx, `SELECT id, field, candidates, reps FROM merge_conflict WHERE account_bidx = $1 AND status = 'open' ORDER BY id`, bidx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []conflictChoices{}
	for rows.Next() {
		var v conflictChoices
		var cands, sealed []byte
		if err := rows.Scan(&v.ID, &v.Field, &cands, &sealed); err != nil {
			return nil, err
		}
		if v.raw, v.reps, err = decodeCandidates(v.ID, cands, sealed); err != nil {
			return nil, err
		}
		v.FieldName = conflictFieldNames[v.Field]
		v.Choices = choices(v.Field, v.raw, v.reps)
		out = append(out, v)
	}
	return out, rows.Err()
}

const proposalColumns = `p.id, p.kind, coalesce(p.phone_hint, ''), coalesce(p.field, ''), coalesce(p.value, ''), p.evidence, p.reason,
	s.username, p.proposed_at, p.status, a.name, a.id_hint, a.kind`

// scanProposals reads proposalColumns rows as views.
func scanProposals(rows pgx.Rows) ([]proposalView, error) {
	defer rows.Close()
	out := []proposalView{}
	for rows.Next() {
		var v proposalView
		var name string
		var kind schemas.AccountKind
		if err := rows.Scan(&v.ID, &v.Kind, &v.PhoneHint, &v.Field, &v.Value, &v.Evidence, &v.Reason,
			&v.ProposedBy, &v.ProposedAt, &v.Status, &name, &v.AccountID, &kind); err != nil {
			return nil, err
		}
		v.KindName, v.FieldName = proposalKindNames[v.Kind], conflictFieldNames[v.Field]
		v.Value = maskValue(v.Field, v.Value)
		v.AccountName = name
		if kind != schemas.KindLegal {
			v.AccountName = pii.MaskPersonName(name)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// proposalBlockOf is the 四眼审核 block of a, the account of the
// request's case reference.
func (s *Server) proposalBlockOf(r *http.Request, a *account.Account) (*proposalBlock, error) {
	ctx := r.Context()
	var err error
	b := &proposalBlock{Ref: r.PathValue("ref")}
	if err := s.pool.QueryRow(ctx, `SELECT name_pinned FROM account WHERE id_bidx = $1`, a.IDBidx).Scan(&b.NamePinned); err != nil {
		return nil, err
	}
	if b.Conflicts, err = openConflicts(ctx, s.pool, a.IDBidx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+proposalColumns+`, coalesce(p.conflict_id, 0)
		FROM staff_proposal p JOIN staff s ON s.id = p.proposed_by JOIN account a ON a.id_bidx = p.account_bidx
		WHERE p.account_bidx = $1 AND p.status = 'pending' ORDER BY p.id`, a.IDBidx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v proposalView
		var name string
		var kind schemas.AccountKind
		var conflict int64
		if err := rows.Scan(&v.ID, &v.Kind, &v.PhoneHint, &v.Field, &v.Value, &v.Evidence, &v.Reason,
			&v.ProposedBy, &v.ProposedAt, &v.Status, &name, &v.AccountID, &kind, &conflict); err != nil {
			return nil, err
		}
		v.KindName, v.FieldName = proposalKindNames[v.Kind], conflictFieldNames[v.Field]
		v.Value = maskValue(v.Field, v.Value)
		b.Pending = append(b.Pending, v)
		for i := range b.Conflicts {
			if b.Conflicts[i].ID == conflict {
				b.Conflicts[i].Pending = &b.Pending[len(b.Pending)-1]
			}
		}
	}
	if b.Pending == nil {
		b.Pending = []proposalView{}
	}
	return b, rows.Err()
}

// phoneChangeRequest is 客服's phone change: the new phone, the reference
// of the documents checked and the reason.
type phoneChangeRequest struct {
	Phone    string `json:"phone"`
	Evidence string `json:"evidence"`
	Reason   string `json:"reason"`
}

// conflictRequest is 客服's resolution of a conflict: the index of the
// candidate chosen and the reason.
type conflictRequest struct {
	Choice int    `json:"choice"`
	Reason string `json:"reason"`
}

// proposalLifetime is how long a proposal may be approved.
const proposalLifetime = 7 * 24 * time.Hour

// errProposalStale: the proposal is older than proposalLifetime, or its
// proposer has been disabled since.
var errProposalStale = errors.New("proposal: stale")

// propose stores a pending proposal of the account of ref, superseding
// the pending one of its kind, with its audit row, in one transaction.
// fill checks the proposal against the account (in the transaction) and
// returns the columns to insert and the audit's target and detail.
func (s *Server) propose(ctx context.Context, r *http.Request, c *staffCall, kind, action, reason string,
	fill func(tx pgx.Tx, a *account.Account) (cols map[string]any, target, detail string, err error)) (int64, error) {
	var id int64
	var acc *account.Account
	err := database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		a, err := s.caseAccount(ctx, tx, c, r.PathValue("ref"))
		if err != nil {
			return err
		}
		acc = a
		cols, target, detail, err := fill(tx, a)
		if err != nil {
			return err
		}
		// The pending proposal this one replaces: the account's phone
		// change, or the same conflict's resolution (each conflict has its
		// own).
		var conflict int64
		if v, ok := cols["conflict_id"].(int64); ok {
			conflict = v
		}
		var superseded int64
		err = tx.QueryRow(ctx, `SELECT id FROM staff_proposal WHERE account_bidx = $1 AND kind = $2 AND coalesce(conflict_id, 0) = $3 AND status = 'pending'`,
			a.IDBidx, kind, conflict).Scan(&superseded)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if superseded != 0 {
			detail += "; supersedes=" + strconv.FormatInt(superseded, 10)
		}
		// The audit row first (the chain's head), then the proposal's.
		if err := s.staffAuditIn(ctx, tx, r, c, staffAction{action: action, account: a.ID, bidx: a.IDBidx, target: target, reason: reason, detail: detail}); err != nil {
			return err
		}
		if superseded != 0 {
			tag, err := tx.Exec(ctx, `UPDATE staff_proposal SET status = 'superseded', decided_by = $3, decided_at = $4, decision_reason = 'superseded'
				WHERE account_bidx = $1 AND id = $2 AND status = 'pending'`, a.IDBidx, superseded, c.ID, s.cfg.Now())
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				// Decided meanwhile: this proposal was made against a
				// state that no longer holds.
				return errProposalDecided
			}
		}
		names := []string{"account_bidx", "account_id", "kind", "reason", "proposed_by", "proposed_at"}
		args := []any{a.IDBidx, a.ID, kind, reason, c.ID, s.cfg.Now()}
		for k, v := range cols {
			names = append(names, k)
			args = append(args, v)
		}
		ph := make([]string, len(args))
		for i := range ph {
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		err = tx.QueryRow(ctx, `INSERT INTO staff_proposal (`+strings.Join(names, ", ")+`) VALUES (`+strings.Join(ph, ", ")+`) RETURNING id`, args...).Scan(&id)
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
			return errProposalDecided // another proposal of the kind came in meanwhile
		}
		return err
	})
	if errors.Is(err, errPhoneBound) || errors.Is(err, errChoiceRefused) {
		// A refusal is on record too: else "is this phone someone's
		// verified phone?" could be asked unseen.
		if aerr := s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: action, outcome: "refused", account: acc.ID,
			bidx: acc.IDBidx, target: acc.IDHint, reason: reason, detail: "refused=" + problemOf(err).code}); aerr != nil {
			return 0, aerr
		}
	}
	return id, err
}

// proposePhone is 客服's phone change, pending 审核's approval.
func (s *Server) proposePhone(ctx context.Context, r *http.Request, c *staffCall, in phoneChangeRequest) (int64, error) {
	reason, err := staffReason(in.Reason)
	if err != nil {
		return 0, err
	}
	evidence := strings.TrimSpace(in.Evidence)
	if n := utf8.RuneCountInString(evidence); n < 2 || n > 200 {
		return 0, errEvidenceRequired
	}
	phone := account.NormalizePhone(in.Phone)
	if !account.ValidPhone(phone) {
		return 0, fieldErrors{"phone": "请输入有效的中国大陆手机号"}
	}
	k := s.cfg.Keyring
	bidx := account.PhoneIndex(k, phone)
	return s.propose(ctx, r, c, proposalPhone, "phone_propose", reason, func(tx pgx.Tx, a *account.Account) (map[string]any, string, string, error) {
		var bound bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account WHERE phone_bidx = $1 AND phone_verified AND id <> $2)`, bidx, a.ID).Scan(&bound); err != nil {
			return nil, "", "", err
		}
		if bound {
			return nil, "", "", errPhoneBound
		}
		cols := map[string]any{"phone_sealed": k.Seal([]byte(phone), []byte(schemas.FieldPhone)), "phone_bidx": bidx,
			"phone_hint": pii.MaskPhone(phone), "evidence": evidence}
		return cols, a.IDHint, "evidence=" + auditText(evidence) + "; new_phone=" + pii.MaskPhone(phone), nil
	})
}

// proposeConflict is 客服's resolution of a conflict of the account,
// pending 审核's approval.
func (s *Server) proposeConflict(ctx context.Context, r *http.Request, c *staffCall, in conflictRequest) (int64, error) {
	reason, err := staffReason(in.Reason)
	if err != nil {
		return 0, err
	}
	conflictID, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, errProposalNotFound
	}
	return s.propose(ctx, r, c, proposalConflict, "conflict_propose", reason, func(tx pgx.Tx, a *account.Account) (map[string]any, string, string, error) {
		cs, err := openConflicts(ctx, tx, a.IDBidx)
		if err != nil {
			return nil, "", "", err
		}
		for _, cv := range cs {
			if cv.ID != conflictID {
				continue
			}
			if in.Choice < 0 || in.Choice >= len(cv.Choices) || !cv.Choices[in.Choice].Allowed {
				return nil, "", "", errChoiceRefused
			}
			v := cv.raw[in.Choice].Value
			cols := map[string]any{"conflict_id": cv.ID, "field": cv.Field, "value": v, "choice": in.Choice}
			return cols, a.IDHint, fmt.Sprintf("conflict=%d; field=%s; value=%s", cv.ID, cv.Field, auditText(maskValue(cv.Field, v))), nil
		}
		return nil, "", "", errProposalNotFound
	})
}

// pendingProposals is 审核's queue: every pending proposal, oldest first.
func (s *Server) pendingProposals(ctx context.Context) ([]proposalView, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+proposalColumns+`
		FROM staff_proposal p JOIN staff s ON s.id = p.proposed_by JOIN account a ON a.id_bidx = p.account_bidx
		WHERE p.status = 'pending' ORDER BY p.proposed_at, p.id LIMIT 200`)
	if err != nil {
		return nil, err
	}
	return scanProposals(rows)
}

// decide approves or rejects the pending proposal id as 审核 c, with its
// audit row, in one transaction; an approved phone change then notifies
// the old and the new phone.
func (s *Server) decide(ctx context.Context, r *http.Request, c *staffCall, approve bool, reasonIn string) error {
	reason, err := staffReason(reasonIn)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errProposalNotFound
	}
	var p struct {
		bidx                   []byte
		account, proposedBy    int64
		kind, field, value     string
		evidence, hint, idHint string
		sealed                 []byte
		conflict               *int64
		choice                 int
		proposedAt             time.Time
		proposerActive         bool
	}
	err = s.pool.QueryRow(ctx, `SELECT p.account_bidx, p.account_id, p.proposed_by, p.kind, coalesce(p.field, ''), coalesce(p.value, ''),
			p.evidence, coalesce(p.phone_hint, ''), a.id_hint, p.phone_sealed, p.conflict_id, coalesce(p.choice, -1), p.proposed_at, st.status = 'active'
		FROM staff_proposal p JOIN account a ON a.id_bidx = p.account_bidx JOIN staff st ON st.id = p.proposed_by WHERE p.id = $1`, id).
		Scan(&p.bidx, &p.account, &p.proposedBy, &p.kind, &p.field, &p.value, &p.evidence, &p.hint, &p.idHint, &p.sealed, &p.conflict,
			&p.choice, &p.proposedAt, &p.proposerActive)
	if errors.Is(err, pgx.ErrNoRows) {
		return errProposalNotFound
	}
	if err != nil {
		return err
	}
	verb := "reject"
	if approve {
		verb = "approve"
	}
	action := p.kind + "_" + verb
	detail := "proposal=" + strconv.FormatInt(id, 10)
	if p.kind == proposalPhone {
		detail += "; evidence=" + auditText(p.evidence) + "; new_phone=" + p.hint
	} else {
		detail += fmt.Sprintf("; conflict=%d; field=%s; value=%s", *p.conflict, p.field, auditText(maskValue(p.field, p.value)))
	}
	if p.proposedBy == c.ID {
		// Four eyes: audited, outside any transaction.
		if err := s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: action, outcome: "refused", account: p.account, bidx: p.bidx,
			target: p.idHint, reason: reason, detail: detail + "; own proposal"}); err != nil {
			return err
		}
		return errOwnProposal
	}
	if approve && (!p.proposerActive || !s.cfg.Now().Before(p.proposedAt.Add(proposalLifetime))) {
		// Stale: the documents checked a week ago, or a proposer since
		// disabled, are not approved; 客服 proposes afresh.
		if err := s.staffAuditIn(context.WithoutCancel(ctx), s.pool, r, c, staffAction{action: action, outcome: "refused", account: p.account, bidx: p.bidx,
			target: p.idHint, reason: reason, detail: detail + "; stale"}); err != nil {
			return err
		}
		return errProposalStale
	}
	var old, phone string
	status := "rejected"
	if approve {
		status = "approved"
	}
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.staffAuditIn(ctx, tx, r, c, staffAction{action: action, account: p.account, bidx: p.bidx, target: p.idHint, reason: reason, detail: detail}); err != nil {
			return err
		}
		// Only while pending: of two deciding at once, one wins.
		tag, err := tx.Exec(ctx, `UPDATE staff_proposal SET status = $3, decided_by = $4, decided_at = $5, decision_reason = $6
			WHERE account_bidx = $1 AND id = $2 AND status = 'pending'`, p.bidx, id, status, c.ID, s.cfg.Now(), reason)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errProposalDecided
		}
		if !approve {
			return nil
		}
		switch p.kind {
		case proposalPhone:
			b, err := s.cfg.Keyring.Open(p.sealed, []byte(schemas.FieldPhone))
			if err != nil {
				return err
			}
			phone = string(b)
			old, _, err = operatorSetPhoneIn(ctx, tx, s.cfg.Keyring, p.account, phone, s.cfg.Now())
			if errors.Is(err, ErrPhoneBound) {
				return errPhoneBound
			}
			return err
		default:
			return s.resolveConflictIn(ctx, tx, c, p.bidx, p.account, *p.conflict, p.field, p.value, p.choice)
		}
	})
	if err != nil || phone == "" {
		return err
	}
	if err := phoneChangeNotice(context.WithoutCancel(ctx), s.cfg.SMS, old, phone); err != nil {
		s.cfg.Logger.Error("phone_change_notice", errAttr(err))
	}
	return nil
}

// resolveConflictIn applies an approved resolution in tx: the conflict
// resolved with who, when and the value; for a name the account's name
// set to it and pinned (工作人员核定), for a representative the candidate
// choice (resolveRepIn). A gender or birth date is the ID number's
// already: resolving confirms it. One name and one representative
// survive: the account's other open conflicts of the field are resolved
// with it, and their pending proposals superseded (approving one later
// would overwrite this decision unseen).
func (s *Server) resolveConflictIn(ctx context.Context, tx pgx.Tx, c *staffCall, bidx []byte, accountID, conflict int64, field, value string, choice int) error {
	now := s.cfg.Now()
	var cands, sealed []byte
	err := tx.QueryRow(ctx, `UPDATE merge_conflict SET status = 'resolved', resolved_by = $3, resolved_at = $4, resolved_value = $5
		WHERE account_bidx = $1 AND id = $2 AND status = 'open' RETURNING candidates, reps`, bidx, conflict, c.ID, now, value).Scan(&cands, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return errProposalDecided
	}
	if err != nil {
		return err
	}
	switch field {
	case string(schemas.FieldName):
		// The lineage keeps its source only when the value is that source's.
		if _, err = tx.Exec(ctx, `UPDATE account SET name = $3, name_pinned = true,
				name_source = CASE WHEN name = $3 THEN name_source END, updated_at = $4
			WHERE id_bidx = $1 AND id = $2`, bidx, accountID, value, now); err != nil {
			return err
		}
	case string(schemas.FieldRepName):
		if err := s.resolveRepIn(ctx, tx, bidx, accountID, conflict, cands, sealed, choice); err != nil {
			return err
		}
	default:
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE merge_conflict SET status = 'resolved', resolved_by = $2, resolved_at = $3, resolved_value = $4
		WHERE account_bidx = $1 AND field = $5 AND status = 'open'`, bidx, c.ID, now, value, field); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE staff_proposal SET status = 'superseded', decided_by = $2, decided_at = $3, decision_reason = 'superseded'
		WHERE account_bidx = $1 AND kind = 'conflict' AND field = $4 AND status = 'pending'`, bidx, c.ID, now, field)
	return err
}

// resolveRepIn sets the representative a conflict's candidate choice
// names and pins it: the account's own (stored, the enterprise's, or
// staff's) stays as it is; a department's is set from its sealed row —
// name, ID, nationality, validity — with its lineage row as the source.
// A representative of another ID is checked anew by the enterprise
// interface (which checks the representative): unverified, its check due
// now, the account's sessions stale.
func (s *Server) resolveRepIn(ctx context.Context, tx pgx.Tx, bidx []byte, accountID, conflict int64, cands, sealed []byte, choice int) error {
	now := s.cfg.Now()
	raw, reps, err := decodeCandidates(conflict, cands, sealed)
	if err != nil {
		return err
	}
	if choice < 0 || choice >= len(raw) {
		return errChoiceRefused // the proposal checked it against these candidates
	}
	var name, hint string
	var held []byte
	if err := tx.QueryRow(ctx, `SELECT coalesce(rep_name, ''), coalesce(rep_id_hint, ''), rep_id_bidx FROM account WHERE id_bidx = $1 FOR UPDATE`, bidx).
		Scan(&name, &hint, &held); err != nil {
		return err
	}
	if reps[choice] == "" {
		// The account's own, as the conflict showed it: a representative
		// the registrant set since is not pinned in its name.
		if account.RepCandidate(name, hint) != raw[choice].Value {
			return errProposalDecided
		}
		_, err := tx.Exec(ctx, `UPDATE account SET rep_pinned = true, updated_at = $3 WHERE id_bidx = $1 AND id = $2`, bidx, accountID, now)
		return err
	}
	k := s.cfg.Keyring
	rep, err := account.OpenConflictRep(k, reps[choice])
	if err != nil {
		return err
	}
	var source *int64
	if from := raw[choice].Sources; len(from) == 1 {
		err := tx.QueryRow(ctx, `SELECT l.id FROM account_lineage l JOIN source_file f ON f.id = l.file_id
			WHERE l.account_bidx = $1 AND f.dept = $2 AND f.sha256 = $3 AND l.row_num = $4`, bidx, from[0].Dept, from[0].SHA256, from[0].Row).Scan(&source)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	repBidx := account.IDIndex(k, rep.ID)
	changed := !bytes.Equal(held, repBidx)
	if _, err := tx.Exec(ctx, `UPDATE account SET rep_name = $3, rep_id_type = $4, rep_id_sealed = $5, rep_id_bidx = $6, rep_id_hint = $7,
			rep_nationality = $8, rep_id_valid_from = $9, rep_id_valid_to = $10, rep_source = $11, rep_pinned = true, updated_at = $12,
			realname_status = CASE WHEN $13 THEN 'unverified' ELSE realname_status END,
			realname_next_check_at = CASE WHEN $13 THEN $12 ELSE realname_next_check_at END,
			realname_attempts = CASE WHEN $13 THEN 0 ELSE realname_attempts END
		WHERE id_bidx = $1 AND id = $2`, bidx, accountID, rep.Name, rep.IDType, account.SealRepID(k, rep.ID), repBidx, pii.MaskID(rep.ID),
		rep.Nationality, account.DaysArg(rep.ValidFrom), account.DaysArg(rep.ValidTo), source, now, changed); err != nil {
		return err
	}
	if !changed {
		return nil
	}
	return markSessionsStale(ctx, tx, accountID, now)
}

// The pages and their JSON twins.

func (s *Server) proposalPhoneForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	_, err := s.proposePhone(r.Context(), r, c, phoneChangeRequest{Phone: r.PostFormValue("phone"), Evidence: r.PostFormValue("evidence"), Reason: r.PostFormValue("reason")})
	s.afterProposal(w, r, err)
}

func (s *Server) apiProposalPhone(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in phoneChangeRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.proposePhone(r.Context(), r, c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"proposal": id, "status": proposalPending})
}

func (s *Server) proposalConflictForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	choice, err := strconv.Atoi(r.PostFormValue("choice"))
	if err != nil {
		choice = -1
	}
	_, err = s.proposeConflict(r.Context(), r, c, conflictRequest{Choice: choice, Reason: r.PostFormValue("reason")})
	s.afterProposal(w, r, err)
}

func (s *Server) apiProposalConflict(w http.ResponseWriter, r *http.Request, c *staffCall) {
	in := conflictRequest{Choice: -1}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.proposeConflict(r.Context(), r, c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"proposal": id, "status": proposalPending})
}

// afterProposal answers a proposal's form: back to the account's page.
func (s *Server) afterProposal(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/accounts/"+r.PathValue("ref"), http.StatusSeeOther)
}

func (s *Server) apiProposalBlock(w http.ResponseWriter, r *http.Request, c *staffCall) {
	a, err := s.caseAccount(r.Context(), s.pool, c, r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.proposalBlockOf(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) proposalQueue(w http.ResponseWriter, r *http.Request, c *staffCall) {
	ps, err := s.pendingProposals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "admin_proposals.html", pageData{Title: "待审核", Staff: c.staffMember,
		Console: &consoleView{Proposals: &proposalBlock{Pending: ps}}})
}

// proposalPhoneShown shows 审核 the new number of a pending phone change, to
// check it against the mailed documents before approving: with a reason,
// once, audited as an unmasking (admin_unmask, field=proposed_phone) and
// counted in the member's unmask bound.
func (s *Server) proposalPhoneShown(ctx context.Context, r *http.Request, c *staffCall, reason string) (*shownProposal, error) {
	reason, err := staffReason(reason)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errProposalNotFound
	}
	var shown *shownProposal
	limited := false
	ctx = context.WithoutCancel(ctx)
	err = database.Transact(ctx, s.pool, func(tx pgx.Tx) error {
		var bidx, sealed []byte
		var accountID int64
		var idHint string
		err := tx.QueryRow(ctx, `SELECT p.account_bidx, p.account_id, a.id_hint, p.phone_sealed FROM staff_proposal p
			JOIN account a ON a.id_bidx = p.account_bidx WHERE p.id = $1 AND p.kind = 'phone' AND p.status = 'pending'`, id).
			Scan(&bidx, &accountID, &idHint, &sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			return errProposalNotFound
		}
		if err != nil {
			return err
		}
		within, err := s.withinQuota(ctx, tx, c, "admin_unmask", maxUnmaskPerHour)
		if err != nil {
			return err
		}
		act := staffAction{action: "unmask", account: accountID, bidx: bidx, target: idHint, reason: reason,
			detail: "field=proposed_phone; proposal=" + strconv.FormatInt(id, 10)}
		if limited = !within; limited {
			act.outcome, act.detail = "refused", act.detail+"; limit"
			return s.staffAuditIn(ctx, tx, r, c, act)
		}
		phone, err := s.cfg.Keyring.Open(sealed, []byte(schemas.FieldPhone))
		if err != nil {
			return err
		}
		shown = &shownProposal{ID: id, Phone: string(phone)}
		return s.staffAuditIn(ctx, tx, r, c, act)
	})
	if err == nil && limited {
		return nil, errUnmaskLimit
	}
	return shown, err
}

func (s *Server) shownPhoneForm(w http.ResponseWriter, r *http.Request, c *staffCall) {
	shown, err := s.proposalPhoneShown(r.Context(), r, c, r.PostFormValue("reason"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ps, err := s.pendingProposals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, "admin_proposals.html", pageData{Title: "待审核", Staff: c.staffMember,
		Console: &consoleView{Proposals: &proposalBlock{Pending: ps, Shown: shown}}})
}

func (s *Server) apiProposalPhoneShown(w http.ResponseWriter, r *http.Request, c *staffCall) {
	var in reasonRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	shown, err := s.proposalPhoneShown(r.Context(), r, c, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, shown)
}

func (s *Server) apiProposalQueue(w http.ResponseWriter, r *http.Request, c *staffCall) {
	ps, err := s.pendingProposals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposals": ps})
}

func (s *Server) decideForm(approve bool) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, c *staffCall) {
		if err := s.decide(r.Context(), r, c, approve, r.PostFormValue("reason")); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/proposals", http.StatusSeeOther)
	}
}

func (s *Server) apiDecide(approve bool) staffHandler {
	return func(w http.ResponseWriter, r *http.Request, c *staffCall) {
		var in reasonRequest
		if err := decodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.decide(r.Context(), r, c, approve, in.Reason); err != nil {
			s.fail(w, r, err)
			return
		}
		status := "rejected"
		if approve {
			status = "approved"
		}
		writeJSON(w, http.StatusOK, map[string]any{"proposal": r.PathValue("id"), "status": status})
	}
}

// proposalRoutes: 客服 proposes, 审核 decides (never their own proposal).
func (s *Server) proposalRoutes() []staffRoute {
	kefu, shenhe := []string{roleKefu}, []string{roleShenhe}
	return []staffRoute{
		{"POST /admin/accounts/{ref}/phone-change", kefu, s.proposalPhoneForm},
		{"POST /api/v1/admin/accounts/{ref}/phone-change", kefu, s.apiProposalPhone},
		{"POST /admin/accounts/{ref}/conflicts/{id}/resolve", kefu, s.proposalConflictForm},
		{"POST /api/v1/admin/accounts/{ref}/conflicts/{id}/resolve", kefu, s.apiProposalConflict},
		{"GET /api/v1/admin/accounts/{ref}/proposals", []string{roleKefu, roleShenhe}, s.apiProposalBlock},
		{"GET /admin/proposals", shenhe, s.proposalQueue},
		{"GET /api/v1/admin/proposals", shenhe, s.apiProposalQueue},
		{"POST /admin/proposals/{id}/approve", shenhe, s.decideForm(true)},
		{"POST /admin/proposals/{id}/phone", shenhe, s.shownPhoneForm},
		{"POST /api/v1/admin/proposals/{id}/phone", shenhe, s.apiProposalPhoneShown},
		{"POST /admin/proposals/{id}/reject", shenhe, s.decideForm(false)},
		{"POST /api/v1/admin/proposals/{id}/approve", shenhe, s.apiDecide(true)},
		{"POST /api/v1/admin/proposals/{id}/reject", shenhe, s.apiDecide(false)},
	}
}
