package schemas

// AccountStatus is the state of a unified account.
type AccountStatus string

// The account states. A fused account starts pending completion; the login
// service moves it to active when its holder has done every required step.
const (
	StatusPendingCompletion AccountStatus = "pending_completion"
	StatusActive            AccountStatus = "active"
	StatusLocked            AccountStatus = "locked"
	StatusDisabled          AccountStatus = "disabled"
)

// AccountOrigin says how an account came to exist.
type AccountOrigin string

// The account origins.
const (
	OriginFused      AccountOrigin = "fused"      // created by an import
	OriginRegistered AccountOrigin = "registered" // the citizen registered
)

// Step is a first-login completion step.
type Step string

// The completion steps, in the order the server enforces.
const (
	StepInfo     Step = "info"     // ① supplement personal info
	StepPassword Step = "password" // ② set a password
	StepFace     Step = "face"     // ③ face verification
)

// FusedAccountSteps are the steps every new fused account must complete.
var FusedAccountSteps = []Step{StepInfo, StepPassword, StepFace}
