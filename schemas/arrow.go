package schemas

import "github.com/apache/arrow/go/v17/arrow"

// BatchRows is the default number of rows in one record batch.
const BatchRows = 64 * 1024

// Provenance columns lead every row-level schema, in this order.
var provenance = []arrow.Field{
	{Name: "dept", Type: arrow.BinaryTypes.String},
	{Name: "file_sha256", Type: arrow.BinaryTypes.String},
	{Name: "row", Type: arrow.PrimitiveTypes.Int64},
}

// Column indexes of the provenance columns, shared by every schema here.
const (
	ColDept = iota
	ColFile
	ColRow
)

// RawPerson is ingest's output: one row per data row of a file, every
// canonical field as the text the department sent (after decoding to UTF-8;
// "" where the file has no such column), plus what the reader noticed.
//
//   - id_numeric: the ID cell was stored as a number (XLSX number cell,
//     floating-point Parquet column), so its digits may be lost.
//   - defect, defect_field: a row-level problem found while reading
//     (ROW_FIELD_COUNT, ROW_MULTILINE, ROW_TRUNCATED, FIELD_UNDECODABLE);
//     "" when the row read cleanly.
var RawPerson = rawSchema(Fields)

// rawSchema is a raw schema: provenance, the fields as text, then
// id_numeric, defect and defect_field.
func rawSchema(fields []Field) *arrow.Schema {
	fs := append([]arrow.Field{}, provenance...)
	for _, f := range fields {
		fs = append(fs, arrow.Field{Name: string(f), Type: arrow.BinaryTypes.String})
	}
	fs = append(fs,
		arrow.Field{Name: "id_numeric", Type: arrow.FixedWidthTypes.Boolean},
		arrow.Field{Name: "defect", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "defect_field", Type: arrow.BinaryTypes.String})
	return arrow.NewSchema(fs, nil)
}

// Column indexes of RawPerson. The canonical fields follow Fields order.
const (
	RawName = iota + 3
	RawIDType
	RawIDNumber
	RawGender
	RawBirthDate
	RawPhone
	RawAddress
	RawUpdatedAt
	RawSourceKey
	RawIDNumeric
	RawDefect
	RawDefectField
)

// CleanPerson is cleanse's output: accepted rows with normalized values.
//   - id_number: normalized (18 chars, upper-case X; old foreigner cards 15).
//   - gender: "M" or "F", derived from the ID where the ID carries it.
//   - birth_date: from the ID where it carries one, else the department's.
//   - phone: an 11-digit mainland mobile, or "" when absent or invalid.
//   - updated_at: the record's own update time, null when unknown.
//   - priority: the department's trust priority (lower is more trusted).
var CleanPerson = arrow.NewSchema(append(append([]arrow.Field{}, provenance...),
	arrow.Field{Name: string(FieldSourceKey), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldIDType), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldIDNumber), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldName), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldGender), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldBirthDate), Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	arrow.Field{Name: string(FieldPhone), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldAddress), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: string(FieldUpdatedAt), Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	arrow.Field{Name: "priority", Type: arrow.PrimitiveTypes.Int32},
), nil)

// Column indexes of CleanPerson.
const (
	CleanSourceKey = iota + 3
	CleanIDType
	CleanIDNumber
	CleanName
	CleanGender
	CleanBirthDate
	CleanPhone
	CleanAddress
	CleanUpdatedAt
	CleanPriority
)

// Finding is a reject or a warning about one row: the code, the field it is
// about ("" for the whole row) and the value as the department sent it.
// A rejected row has exactly one reject finding (the first problem found);
// warnings are about rows that were kept.
var Finding = arrow.NewSchema(append(append([]arrow.Field{}, provenance...),
	arrow.Field{Name: string(FieldSourceKey), Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "severity", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "code", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "field", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "value", Type: arrow.BinaryTypes.String},
), nil)

// Column indexes of Finding.
const (
	FindSourceKey = iota + 3
	FindSeverity
	FindCode
	FindField
	FindValue
)
