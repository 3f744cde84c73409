package schemas

// Field is a canonical person field that a department's column maps onto.
type Field string

// The canonical fields, in the column order of RawPerson.
const (
	FieldName      Field = "name"
	FieldIDType    Field = "id_type"
	FieldIDNumber  Field = "id_number"
	FieldGender    Field = "gender"
	FieldBirthDate Field = "birth_date"
	FieldPhone     Field = "phone"
	FieldAddress   Field = "address"
	FieldUpdatedAt Field = "updated_at"
	FieldSourceKey Field = "source_key"
)

// The fields of a legal person's record (entity: legal). The name, phone,
// address, update time and source key are shared with persons: the legal
// person's name, its contact phone and address.
const (
	FieldCreditCode     Field = "credit_code"
	FieldLegalType      Field = "legal_type"
	FieldRepName        Field = "rep_name"
	FieldRepIDType      Field = "rep_id_type"
	FieldRepIDNumber    Field = "rep_id_number"
	FieldRepNationality Field = "rep_nationality"
	FieldRepIDStart     Field = "rep_id_start"
	FieldRepIDEnd       Field = "rep_id_end"
	FieldContactName    Field = "contact_name"
)

// Fields lists every canonical field in RawPerson column order.
var Fields = []Field{
	FieldName, FieldIDType, FieldIDNumber, FieldGender, FieldBirthDate,
	FieldPhone, FieldAddress, FieldUpdatedAt, FieldSourceKey,
}

// Label is the field's Chinese label, used in the feedback workbook.
func (f Field) Label() string {
	switch f {
	case FieldName:
		return "姓名"
	case FieldIDType:
		return "证件类型"
	case FieldIDNumber:
		return "证件号码"
	case FieldGender:
		return "性别"
	case FieldBirthDate:
		return "出生日期"
	case FieldPhone:
		return "手机号码"
	case FieldAddress:
		return "地址"
	case FieldUpdatedAt:
		return "更新时间"
	case FieldSourceKey:
		return "源系统编号"
	case FieldCreditCode:
		return "统一社会信用代码"
	case FieldLegalType:
		return "法人类型"
	case FieldRepName:
		return "法定代表人"
	case FieldRepIDType:
		return "法人证件类型"
	case FieldRepIDNumber:
		return "法人证件号码"
	case FieldRepNationality:
		return "国籍"
	case FieldRepIDStart:
		return "证件有效开始日期"
	case FieldRepIDEnd:
		return "证件有效结束日期"
	case FieldContactName:
		return "联系人"
	case "":
		return "整行"
	}
	return string(f)
}

// Sensitive reports whether values of f are sensitive personal information
// that must be masked outside a department's own feedback.
func (f Field) Sensitive() bool {
	return f == FieldIDNumber || f == FieldPhone || f == FieldRepIDNumber
}

// IDType is the canonical kind of identity document.
type IDType string

// The identity document kinds the cleanse stage recognizes.
const (
	// IDResident is the mainland resident identity card (GB 11643-1999).
	IDResident IDType = "resident"
	// IDHMTPermit is the residence permit for Hong Kong, Macau and Taiwan
	// residents (prefix 810000, 820000, 830000; same checksum).
	IDHMTPermit IDType = "hmt_permit"
	// IDForeignPR is the foreigner permanent residence card: the 2023 18-char
	// card (first digit 9, same checksum) or the old 15-char card (3 letters +
	// 12 digits).
	IDForeignPR IDType = "foreign_pr"
)
