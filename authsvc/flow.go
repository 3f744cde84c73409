package authsvc

import (
	"context"
	"fmt"

	"github.com/idfusion/idfusion/schemas"
)

// The completion of a fused account, enforced here and nowhere else:
//
//	pending_completion ─① info─▶ ─② password─▶ ─③ face─▶ active
//	 (restricted session: completion status and the next step only)   (the session is rotated into a full one)
//
// account.required_steps holds the steps still to do, in order; a step
// is done by removing it from the front with a conditional UPDATE, so two
// tabs submitting the same step cannot both succeed and no step can be
// skipped or taken out of order.

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

// nextStep is the step an account must do now; "" when none.
func nextStep(a *account) schemas.Step {
	if a.status != schemas.StatusPendingCompletion || len(a.steps) == 0 {
		return ""
	}
	return a.steps[0]
}

// completeStep marks step done for the account when it is the next one,
// and activates the account after the last. It returns the steps left, or
// a *StepError naming the next step when step is not it.
func completeStep(ctx context.Context, q querier, accountID int64, step schemas.Step) ([]schemas.Step, error) {
	var left []string
	err := q.QueryRow(ctx, `UPDATE account SET
			required_steps = required_steps[2:],
			status = CASE WHEN cardinality(required_steps) = 1 THEN 'active' ELSE status END,
			updated_at = now()
		WHERE id = $1 AND status = 'pending_completion' AND required_steps[1] = $2
		RETURNING required_steps`, accountID, string(step)).Scan(&left)
	if err == nil {
		out := make([]schemas.Step, len(left))
		for i, s := range left {
			out[i] = schemas.Step(s)
		}
		return out, nil
	}
	// Not the next step (or a race lost): say which is.
	var steps []string
	var status string
	if err := q.QueryRow(ctx, `SELECT status, required_steps FROM account WHERE id = $1`, accountID).Scan(&status, &steps); err != nil {
		return nil, err
	}
	next := schemas.Step("")
	if status == string(schemas.StatusPendingCompletion) && len(steps) > 0 {
		next = schemas.Step(steps[0])
	}
	return nil, &StepError{Tried: step, Next: next}
}
