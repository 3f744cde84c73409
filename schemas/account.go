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

// AccountKind says whose account it is (account.kind).
type AccountKind string

// The account kinds. A legal account is found by the blind index of its
// credit code (FieldCreditCode's domain), a natural one by the ID number's.
const (
	KindNatural AccountKind = "natural" // a citizen (自然人)
	KindLegal   AccountKind = "legal"   // a legal person (法人)
)

// IDTypeUSCC is the id_type of a legal account: its "ID" is the unified
// social credit code (统一社会信用代码, GB 32100-2015).
const IDTypeUSCC = "uscc"

// LegalType is the kind of legal person (法人类型).
type LegalType string

// The legal person types of the seed's registration form.
const (
	LegalEnterprise  LegalType = "enterprise"  // 企业
	LegalSocialOrg   LegalType = "social_org"  // 社会团体
	LegalInstitution LegalType = "institution" // 机关事业单位
)

// LegalTypes lists the legal person types in the order pages offer them.
var LegalTypes = []LegalType{LegalEnterprise, LegalSocialOrg, LegalInstitution}

// Label is the type as the pages name it.
func (t LegalType) Label() string {
	switch t {
	case LegalEnterprise:
		return "企业"
	case LegalSocialOrg:
		return "社会团体"
	case LegalInstitution:
		return "机关事业单位"
	}
	return string(t)
}

// DefaultLegalTypes maps the legal person type values departments
// commonly send; a mapping adds its own (legal_types).
var DefaultLegalTypes = map[string]LegalType{
	"企业": LegalEnterprise, "企业法人": LegalEnterprise, "公司": LegalEnterprise, "1": LegalEnterprise,
	"社会团体": LegalSocialOrg, "社会组织": LegalSocialOrg, "社团": LegalSocialOrg, "民办非企业单位": LegalSocialOrg, "2": LegalSocialOrg,
	"机关事业单位": LegalInstitution, "机关": LegalInstitution, "事业单位": LegalInstitution, "机关法人": LegalInstitution, "3": LegalInstitution,
	"enterprise": LegalEnterprise, "social_org": LegalSocialOrg, "institution": LegalInstitution,
}

// RealnameStatus is a legal account's real-name status (account.realname_status):
// the national enterprise interface's last verdict.
type RealnameStatus string

// The real-name states of a legal account.
const (
	RealnameUnverified RealnameStatus = "unverified" // 未实名用户
	RealnameVerified   RealnameStatus = "verified"   // 实名用户
)

// Label is the status as the pages name it.
func (s RealnameStatus) Label() string {
	if s == RealnameVerified {
		return "实名用户"
	}
	return "未实名用户"
}
