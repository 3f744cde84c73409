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
	case "":
		return "整行"
	}
	return string(f)
}

// Sensitive reports whether values of f are sensitive personal information
// that must be masked outside a department's own feedback.
func (f Field) Sensitive() bool { return f == FieldIDNumber || f == FieldPhone }

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
