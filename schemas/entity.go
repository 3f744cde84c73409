package schemas

import "github.com/apache/arrow/go/v17/arrow"

// Entity is the kind of record a department's files hold: persons
// (natural, the default) or legal persons (legal). Both go through the
// same stages — ingest reads the entity's fields, cleanse applies its
// rules, merge groups by the blind index of its key (the ID number or the
// credit code) — into the same account table.
type Entity string

// The entities a mapping may declare.
const (
	EntityNatural Entity = "natural"
	EntityLegal   Entity = "legal"
)

// LegalFields lists every canonical field of a legal person's record, in
// RawLegal column order. The name is the legal person's name; the phone,
// address and contact name are its contact's.
var LegalFields = []Field{
	FieldName, FieldCreditCode, FieldLegalType, FieldRepName, FieldRepIDType, FieldRepIDNumber,
	FieldRepNationality, FieldRepIDStart, FieldRepIDEnd, FieldContactName, FieldPhone, FieldAddress,
	FieldUpdatedAt, FieldSourceKey,
}

// Fields are the canonical fields of the entity's records, in its raw
// schema's column order.
func (e Entity) Fields() []Field {
	if e == EntityLegal {
		return LegalFields
	}
	return Fields
}

// Raw is ingest's output schema for the entity: provenance, the fields
// (from column RawFirstField), then id_numeric, defect and defect_field
// (RawTail).
func (e Entity) Raw() *arrow.Schema {
	if e == EntityLegal {
		return RawLegal
	}
	return RawPerson
}

// Clean is cleanse's output schema for the entity.
func (e Entity) Clean() *arrow.Schema {
	if e == EntityLegal {
		return CleanLegal
	}
	return CleanPerson
}

// RawFirstField is the column of the first field in either raw schema.
const RawFirstField = 3

// RawTail is the column of id_numeric in the entity's raw schema;
// defect and defect_field follow it. For a legal person, id_numeric is
// about the representative's ID number.
func (e Entity) RawTail() int { return RawFirstField + len(e.Fields()) }

// KeyField is the field whose blind index keys the entity's accounts.
func (e Entity) KeyField() Field {
	if e == EntityLegal {
		return FieldCreditCode
	}
	return FieldIDNumber
}

// RawLegal is ingest's output for a legal person's file: like RawPerson,
// with LegalFields.
var RawLegal = rawSchema(LegalFields)

// CleanLegal is cleanse's output for legal persons: accepted rows with
// normalized values.
//   - credit_code: the canonical 18 characters (cleanse.ValidUSCC).
//   - legal_type: a LegalType, "" when the department sent none.
//   - rep_id_number: normalized like a person's ID number, "" when the
//     row names no representative; rep_id_type its IDType.
//   - rep_id_start, rep_id_end: the validity of the representative's ID,
//     null when unknown; rep_id_end 9999-12-31 is 长期有效.
var CleanLegal = arrow.NewSchema(append(append([]arrow.Field{}, provenance...),
	arrow.Field{Name: string(FieldSourceKey), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldCreditCode), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldName), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldLegalType), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldRepName), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldRepIDType), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldRepIDNumber), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldRepNationality), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldRepIDStart), Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	arrow.Field{Name: string(FieldRepIDEnd), Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	arrow.Field{Name: string(FieldContactName), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldPhone), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldAddress), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldUpdatedAt), Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	arrow.Field{Name: "priority", Type: arrow.PrimitiveTypes.Int32},
), nil)

// Column indexes of CleanLegal.
const (
	LegalSourceKey = iota + 3
	LegalCreditCode
	LegalName
	LegalTypeCol
	LegalRepName
	LegalRepIDType
	LegalRepIDNumber
	LegalRepNationality
	LegalRepIDStart
	LegalRepIDEnd
	LegalContactName
	LegalPhone
	LegalAddress
	LegalUpdatedAt
	LegalPriority
)
