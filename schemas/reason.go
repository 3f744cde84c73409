package schemas

import "sort"

// Code is a stable reason code for a rejected row or a warning. Codes are
// part of the contract with departments: they appear in feedback workbooks
// and reports, so they are never renamed.
type Code string

// Severity says what a code does to its row.
type Severity string

const (
	// Reject drops the row; it is reported back to the department.
	Reject Severity = "reject"
	// Warning keeps the row (possibly without the offending field).
	Warning Severity = "warning"
)

// Row-level codes found while reading a file.
const (
	RowFieldCount   Code = "ROW_FIELD_COUNT"
	RowMultiline    Code = "ROW_MULTILINE"
	RowTruncated    Code = "ROW_TRUNCATED"
	FieldUndecoded  Code = "FIELD_UNDECODABLE"
	RequiredMissing Code = "REQUIRED_MISSING"
)

// Identity number codes.
const (
	IDEmpty              Code = "ID_EMPTY"
	IDBadLength          Code = "ID_BAD_LENGTH"
	IDBadChars           Code = "ID_BAD_CHARS"
	IDBadChecksum        Code = "ID_BAD_CHECKSUM"
	IDBadBirthDate       Code = "ID_BAD_BIRTH_DATE"
	IDBadProvince        Code = "ID_BAD_PROVINCE"
	IDBadNationality     Code = "ID_BAD_NATIONALITY"
	IDScientificNotation Code = "ID_SCIENTIFIC_NOTATION"
	IDTypeUnknown        Code = "ID_TYPE_UNKNOWN"
	IDTypeMismatch       Code = "ID_TYPE_MISMATCH"
	IDUnknownCounty      Code = "ID_UNKNOWN_COUNTY"
	IDLegacy15           Code = "ID_LEGACY_15"
)

// Unified Social Credit Code (GB 32100-2015) codes, for legal persons.
const (
	USCCBadLength   Code = "USCC_BAD_LENGTH"
	USCCBadChars    Code = "USCC_BAD_CHARS"
	USCCBadChecksum Code = "USCC_BAD_CHECKSUM"
)

// Other codes of legal persons' rows.
const (
	OrgNameEmpty       Code = "ORG_NAME_EMPTY"
	OrgNameInvalid     Code = "ORG_NAME_INVALID"
	LegalTypeUnknown   Code = "LEGAL_TYPE_UNKNOWN"
	RepIDDateInvalid   Code = "REP_ID_DATE_INVALID"
	RepIDPeriodInvalid Code = "REP_ID_PERIOD_INVALID"
)

// Other field codes.
const (
	NameEmpty         Code = "NAME_EMPTY"
	NameBadChars      Code = "NAME_BAD_CHARS"
	PhoneInvalid      Code = "PHONE_INVALID"
	GenderInvalid     Code = "GENDER_INVALID"
	GenderMismatch    Code = "GENDER_MISMATCH"
	BirthDateInvalid  Code = "BIRTH_DATE_INVALID"
	BirthDateMismatch Code = "BIRTH_DATE_MISMATCH"
	UpdatedAtInvalid  Code = "UPDATED_AT_INVALID"
)

// Reason describes a code: what it does and what the department reads.
type Reason struct {
	Code     Code
	Severity Severity
	// Message is the Chinese explanation shown to the department.
	Message string
}

var reasons = map[Code]Reason{}

func def(c Code, s Severity, msg string) Code {
	reasons[c] = Reason{Code: c, Severity: s, Message: msg}
	return c
}

func init() {
	def(RowFieldCount, Reject, "该行列数与表头不一致，无法确定各列含义")
	def(RowMultiline, Reject, "该行某个以引号开头的字段跨越多行，把其后若干行的内容并入了本行（疑似多余或未闭合的引号），请检查该行的引号后重新导出")
	def(RowTruncated, Reject, "文件在该行中途结束（引号内的字段没有结束），疑似传输或复制不完整，请重新导出完整文件")
	def(FieldUndecoded, Reject, "字段含有无法识别的字符（可能为生僻字或编码错误），请核对后以 UTF-8 或 GB18030 编码重新导出")
	def(RequiredMissing, Reject, "必填字段为空")
	def(IDEmpty, Reject, "证件号码为空")
	def(IDBadLength, Reject, "证件号码位数不正确")
	def(IDBadChars, Reject, "证件号码含有非法字符")
	def(IDBadChecksum, Reject, "证件号码校验位错误")
	def(IDBadBirthDate, Reject, "证件号码中的出生日期不存在")
	def(IDBadProvince, Reject, "证件号码中的省份代码不存在，或不能用于该类证件")
	def(IDBadNationality, Reject, "外国人永久居留身份证号码中的国籍代码不存在")
	def(IDScientificNotation, Reject, "证件号码被表格软件按数字保存（科学计数法或末尾补零），已丢失位数，请将该列设为文本后重新导出")
	def(IDTypeUnknown, Reject, "证件类型无法识别")
	def(IDTypeMismatch, Reject, "证件号码与证件类型不符")
	def(IDUnknownCounty, Warning, "证件号码中的区县代码不在现行行政区划代码表中（可能为已撤销的旧代码），已保留")
	def(IDLegacy15, Warning, "15 位旧证件号码已按国家标准升位为 18 位")
	def(USCCBadLength, Reject, "统一社会信用代码位数不正确，应为 18 位")
	def(USCCBadChars, Reject, "统一社会信用代码含有非法字符（不使用 I、O、Z、S、V）")
	def(USCCBadChecksum, Reject, "统一社会信用代码校验位错误")
	def(OrgNameEmpty, Reject, "法人名称为空")
	def(OrgNameInvalid, Reject, "法人名称含有控制字符或无法识别的字符，或超过 200 个字符")
	def(LegalTypeUnknown, Reject, "法人类型无法识别（应为企业、社会团体或机关事业单位）")
	def(RepIDDateInvalid, Warning, "法定代表人证件有效日期格式无法识别，已忽略该字段")
	def(RepIDPeriodInvalid, Warning, "法定代表人证件有效结束日期早于开始日期，已忽略证件有效期")
	def(NameEmpty, Reject, "姓名为空")
	def(NameBadChars, Reject, "姓名含有非法字符")
	def(PhoneInvalid, Warning, "手机号码格式不正确，已忽略该字段")
	def(GenderInvalid, Warning, "性别取值无法识别，已按证件号码推导")
	def(GenderMismatch, Warning, "性别与证件号码不一致，以证件号码为准")
	def(BirthDateInvalid, Warning, "出生日期格式无法识别，已按证件号码推导")
	def(BirthDateMismatch, Warning, "出生日期与证件号码不一致，以证件号码为准")
	def(UpdatedAtInvalid, Warning, "更新时间格式无法识别，已忽略该字段")
}

// ReasonOf returns the description of c; ok is false for an unknown code.
func ReasonOf(c Code) (r Reason, ok bool) {
	r, ok = reasons[c]
	return r, ok
}

// Message returns the Chinese message of c, or the code itself if unknown.
func (c Code) Message() string {
	if r, ok := reasons[c]; ok {
		return r.Message
	}
	return string(c)
}

// Severity returns the severity of c; unknown codes reject.
func (c Code) Severity() Severity {
	if r, ok := reasons[c]; ok {
		return r.Severity
	}
	return Reject
}

// Codes lists every defined code, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(reasons))
	for c := range reasons {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
