package authsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/schemas"
)

// The completion of a fused account, enforced here and nowhere else. It is
// one flow, bound to the restricted session that a first factor started
// (signIn creates it with the account's required steps):
//
//	restricted session ─① info─▶ ─② password─▶ ─③ face─▶ account active, session rotated
//	   (flow: steps left,         (kept in the flow)    (one transaction applies what ① and ②
//	    values collected)                                collected, activates, ends every flow)
//
// A step is done by removing it from the front of the flow's steps with a
// conditional UPDATE, so two tabs submitting the same step cannot both
// succeed and no step can be skipped or taken out of order. Nothing of ①
// and ② touches the account before ③, the face check of the account's own
// ID number in this very flow, succeeds: a session that proved only a
// phone (perhaps a recycled number a department still lists) cannot leave
// a password or a phone behind for the real citizen's face to activate.
// A flow started elsewhere starts again from ①.

// completionStep is how a step of the completion appears: its number on
// the pages, its label, the path and template of its page. The redirects,
// the next-step answers and the pages' progress bar all derive from
// completionSteps, in order; the step after the last is done (完成, the
// personal center).
type completionStep struct {
	step     schemas.Step
	number   int
	label    string
	path     string
	template string
}

var completionSteps = []completionStep{
	{schemas.StepInfo, 1, "补充个人信息", "/complete/info", "info.html"},
	{schemas.StepPassword, 2, "设置密码", "/complete/password", "password.html"},
	{schemas.StepFace, 3, "身份认证", "/complete/face", "face.html"},
}

// stepDone is where a completion ends.
var stepDone = completionStep{number: len(completionSteps) + 1, label: "完成", path: "/center"}

// stepOf returns step's entry; stepDone for "" or a step it does not know.
func stepOf(step schemas.Step) completionStep {
	for _, c := range completionSteps {
		if c.step == step {
			return c
		}
	}
	return stepDone
}

// stepLabel names a step as the pages do.
func stepLabel(s schemas.Step) string { return stepOf(s).label }

// stepPath is the page of a step; "" (nothing left) is the personal
// center.
func stepPath(s schemas.Step) string { return stepOf(s).path }

// stepLabels are the labels of the pages' progress bar, done included.
func stepLabels() []string {
	out := make([]string, 0, len(completionSteps)+1)
	for _, c := range completionSteps {
		out = append(out, c.label)
	}
	return append(out, stepDone.label)
}

// StepError refuses a step that is not the next one. Next is the step to
// do instead ("" when every step is done).
type StepError struct {
	Tried schemas.Step
	Next  schemas.Step
}

func (e *StepError) Error() string {
	if e.Next == "" {
		return fmt.Sprintf("step %s: nothing left to complete", e.Tried)
	}
	return fmt.Sprintf("step %s: the next step is %s", e.Tried, e.Next)
}

// completionFlow is a session's completion as stored.
type completionFlow struct {
	steps []schemas.Step // still to do, in order
	// phoneProvedBidx is the phone on record that the session's login code
	// went to; nil after a face login.
	phoneProvedBidx []byte
	// A new phone proved at ①.
	phoneSealed, phoneBidx []byte
	phoneHint              *string
	address                *string
	passwordHash           *string
	contactName            *string // a legal account's contact person (①)
}

// flowColumns are read by scanFlow.
const flowColumns = `steps, phone_proved_bidx, phone_sealed, phone_bidx, phone_hint, address, password_hash, contact_name`

func scanFlow(row pgx.Row) (*completionFlow, error) {
	var f completionFlow
	var steps []string
	if err := row.Scan(&steps, &f.phoneProvedBidx, &f.phoneSealed, &f.phoneBidx, &f.phoneHint, &f.address, &f.passwordHash, &f.contactName); err != nil {
		return nil, database.Translate(err)
	}
	for _, s := range steps {
		f.steps = append(f.steps, schemas.Step(s))
	}
	return &f, nil
}

// flowOf reads the session's flow. A restricted session without one (its
// account was completed by another session, which ended every flow) has
// nothing it may do: errNoSession.
func (s *Server) flowOf(ctx context.Context, q querier, sess *session) (*completionFlow, error) {
	f, err := scanFlow(q.QueryRow(ctx, `SELECT `+flowColumns+` FROM completion_flow WHERE session_hash = $1`, sess.hash))
	if errors.Is(err, database.ErrNotFound) {
		return nil, errNoSession
	}
	return f, err
}

// nextStep is the step the flow must do now for the account; "" when none
// (the account is no longer pending: another session completed it, or an
// operator changed it).
func nextStep(a *account.Account, f *completionFlow) schemas.Step {
	if a.Status != schemas.StatusPendingCompletion || f == nil || len(f.steps) == 0 {
		return ""
	}
	return f.steps[0]
}

// flowUpdate is what a step keeps in the flow: SQL assignments of the
// columns and their arguments ($3 onwards).
type flowUpdate struct {
	set  string
	args []any
	// username: a username the step holds for its flow until the flow
	// ends (registration ①: registration_username), "" for none.
	username string
}

// advance marks step done in the session's flow when it is the next one,
// keeping what the step collected. It returns a *StepError naming the
// next step when step is not it (or a parallel request did it first).
func (s *Server) advance(ctx context.Context, q querier, sess *session, step schemas.Step, u flowUpdate) error {
	set := "steps = steps[2:]"
	if u.set != "" {
		set += ", " + u.set
	}
	tag, err := q.Exec(ctx, `UPDATE completion_flow SET `+set+` WHERE session_hash = $1 AND steps[1] = $2`,
		append([]any{sess.hash, string(step)}, u.args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.stepRefused(ctx, q, sess, step)
}

// stepRefused is the *StepError of a step that lost: it names the step to
// do instead, as the session's flow and account now say.
func (s *Server) stepRefused(ctx context.Context, q querier, sess *session, step schemas.Step) error {
	f, err := s.flowOf(ctx, q, sess)
	if err != nil {
		return err
	}
	a, err := account.ByID(ctx, q, sess.accountID, false)
	if err != nil {
		return err
	}
	return &StepError{Tried: step, Next: nextStep(a, f)}
}

// activate ends the session's flow at its last step, ③: in tx, it applies
// what ① and ② collected to the account and makes it active, and ends
// every other flow of the account. The flow must be at ③ and the account
// still pending; otherwise a *StepError (another session won the race, or
// an operator locked the account meanwhile).
func (s *Server) activate(ctx context.Context, tx pgx.Tx, sess *session) error {
	// The account's row first: sessions finishing at once queue here
	// rather than deadlock on each other's flows.
	if _, err := account.ByID(ctx, tx, sess.accountID, true); err != nil {
		return err
	}
	f, err := scanFlow(tx.QueryRow(ctx, `DELETE FROM completion_flow WHERE session_hash = $1 AND steps = $2
		RETURNING `+flowColumns, sess.hash, []string{string(schemas.StepFace)}))
	if errors.Is(err, database.ErrNotFound) {
		return s.stepRefused(ctx, tx, sess, schemas.StepFace)
	}
	if err != nil {
		return err
	}
	done, err := account.Complete(ctx, tx, sess.accountID, account.Completion{PhoneSealed: f.phoneSealed, PhoneBidx: f.phoneBidx,
		PhoneHint: f.phoneHint, PhoneProvedBidx: f.phoneProvedBidx, Address: f.address, PasswordHash: f.passwordHash, ContactName: f.contactName})
	if err != nil {
		return err
	}
	if !done {
		return &StepError{Tried: schemas.StepFace}
	}
	// The other sessions' flows are void: their values never apply, and
	// their restricted sessions have nothing left to do.
	if _, err := tx.Exec(ctx, `DELETE FROM completion_flow WHERE account_id = $1`, sess.accountID); err != nil {
		return fmt.Errorf("end other flows: %w", err)
	}
	return nil
}
