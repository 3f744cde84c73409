package schemas

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Format is the file format of a department's export.
type Format string

// The file formats ingest reads.
const (
	FormatCSV     Format = "csv"
	FormatXLSX    Format = "xlsx"
	FormatXLS     Format = "xls" // legacy Excel 97-2003 workbook (BIFF8)
	FormatParquet Format = "parquet"
	FormatArrow   Format = "arrow" // Arrow IPC file
)

// Encoding is the character encoding of a CSV export.
type Encoding string

// The encodings ingest decodes.
const (
	EncodingAuto    Encoding = "auto" // BOM, then UTF-8 if valid, else GB18030
	EncodingUTF8    Encoding = "utf-8"
	EncodingGBK     Encoding = "gbk"
	EncodingGB18030 Encoding = "gb18030"
	// EncodingUTF16 is UTF-16 in the byte order of the file's BOM,
	// little-endian without one (Excel's "Unicode text"). A file read in it
	// reports EncodingUTF16LE or EncodingUTF16BE.
	EncodingUTF16   Encoding = "utf-16"
	EncodingUTF16LE Encoding = "utf-16le"
	EncodingUTF16BE Encoding = "utf-16be"
)

// IsUTF16 reports whether e is one of the UTF-16 encodings.
func (e Encoding) IsUTF16() bool {
	return e == EncodingUTF16 || e == EncodingUTF16LE || e == EncodingUTF16BE
}

// Mapping is one department's mapping spec: how to read its exports and
// which of its columns hold which canonical field. One YAML file per
// department.
type Mapping struct {
	// Department identifies who sent the files.
	Department Department `yaml:"department" validate:"required"`
	// Priority is the department's trust rank for identity fields such as
	// the name: 1 is the most trusted. Required.
	Priority int `yaml:"priority" validate:"required,min=1,max=1000"`
	// Format of the exports. Default: from the file extension.
	Format Format `yaml:"format" validate:"omitempty,oneof=csv xlsx xls parquet arrow"`
	// Encoding of CSV exports. Default auto.
	Encoding Encoding `yaml:"encoding" validate:"omitempty,oneof=auto utf-8 gbk gb18030 utf-16 utf-16le utf-16be"`
	// Delimiter of CSV exports, one ASCII character other than a quote or
	// line break. Default ",", or for UTF-16 text what its header line
	// uses (a tab in Excel's "Unicode text").
	Delimiter string `yaml:"delimiter" validate:"omitempty,len=1,ascii,excludesall=\"\r\n"`
	// Sheet is the XLSX or XLS sheet name. Default: the first sheet.
	Sheet string `yaml:"sheet"`
	// HeaderRow is the 1-based row of the header in XLSX, XLS and CSV files;
	// rows above it are ignored. Default 1.
	HeaderRow int `yaml:"header_row" validate:"omitempty,min=1,max=1000"`
	// Entity is what the files hold: natural persons (the default) or
	// legal persons. It decides which fields Columns may map.
	Entity Entity `yaml:"entity" validate:"omitempty,oneof=natural legal"`
	// Columns maps canonical fields to the department's own header names:
	// the entity's fields (Entity.Fields), checked after decoding.
	Columns map[Field]string `yaml:"columns" validate:"required,min=1,dive,keys,required,endkeys,required"`
	// Required lists the canonical fields that must be non-empty in a row;
	// the entity's key field and name are always required.
	Required []Field `yaml:"required"`
	// DateFormats are the formats tried, in order, for birth dates: Go
	// layouts or the named formats of TimeFormatNames (unix, unix_ms,
	// excel_serial). Default: DefaultDateFormats.
	DateFormats []string `yaml:"date_formats"`
	// UpdatedAtFormats are the formats tried, in order, for the record's
	// update time: Go layouts, read in TimeZone, or the named formats of
	// TimeFormatNames, e.g. [unix, "2006-01-02 15:04:05"] for a file of
	// Unix seconds and text. Numbers are never guessed: a file of Unix
	// seconds needs unix declared. Default: DefaultTimeFormats.
	UpdatedAtFormats []string `yaml:"updated_at_formats"`
	// TimeZone of update times without an offset. Default Asia/Shanghai.
	TimeZone string `yaml:"time_zone"`
	// IDTypes maps the department's ID type values to canonical types,
	// added to DefaultIDTypes.
	IDTypes map[string]IDType `yaml:"id_types" validate:"dive,keys,required,endkeys,oneof=resident hmt_permit foreign_pr"`
	// LegalTypes maps the department's legal person type values to
	// canonical types, added to DefaultLegalTypes (entity: legal only).
	LegalTypes map[string]LegalType `yaml:"legal_types" validate:"dive,keys,required,endkeys,oneof=enterprise social_org institution"`

	// Path is the file the mapping was loaded from (not part of the YAML).
	Path string `yaml:"-"`
	loc  *time.Location
	// delimiterDeclared is whether the YAML set Delimiter.
	delimiterDeclared bool
}

// Department names who sends a set of exports.
type Department struct {
	// Code is a short stable identifier, lower-case ASCII, e.g. "gongan".
	Code string `yaml:"code" validate:"required,min=2,max=32,lowercase,alphanum"`
	// Name is the department's name as departments read it, e.g. "省公安厅".
	Name string `yaml:"name" validate:"required,max=100"`
}

// DefaultDateFormats are the birth date layouts departments commonly use.
var DefaultDateFormats = []string{
	"2006-01-02", "2006/01/02", "20060102", "2006.01.02", "2006年01月02日",
	"2006-1-2", "2006/1/2", "2006年1月2日", "2006-01-02 15:04:05", "2006/1/2 15:04:05",
}

// DefaultTimeFormats are the update time layouts departments commonly use.
var DefaultTimeFormats = []string{
	"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05", "20060102150405", "2006/1/2 15:04:05", "2006/1/2 15:04",
	"2006-01-02 15:04", "2006-01-02", "2006/01/02", "20060102",
}

// DefaultIDTypes maps the ID type values departments commonly send.
var DefaultIDTypes = map[string]IDType{
	"":               "", // inferred from the number
	"身份证":            IDResident,
	"居民身份证":          IDResident,
	"01":             IDResident,
	"1":              IDResident,
	"111":            IDResident,
	"港澳台居民居住证":       IDHMTPermit,
	"港澳居民居住证":        IDHMTPermit,
	"台湾居民居住证":        IDHMTPermit,
	"外国人永久居留身份证":     IDForeignPR,
	"外国人永久居留证":       IDForeignPR,
	"resident":       IDResident,
	"hmt_permit":     IDHMTPermit,
	"foreign_pr":     IDForeignPR,
	"中华人民共和国居民身份证":   IDResident,
	"港澳台居民居住证(内地)":   IDHMTPermit,
	"外国人永久居留身份证(新版)": IDForeignPR,
}

// MappingError says which mapping file and which field is wrong.
type MappingError struct {
	Path  string
	Field string // YAML path of the field, "" for the whole file
	Err   error
}

func (e *MappingError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("mapping %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("mapping %s: field %s: %v", e.Path, e.Field, e.Err)
}

func (e *MappingError) Unwrap() error { return e.Err }

// LoadMapping reads, defaults and validates one mapping file.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &MappingError{Path: path, Err: err}
	}
	return ParseMapping(path, b)
}

// ParseMapping parses, defaults and validates a mapping read from path.
func ParseMapping(path string, b []byte) (*Mapping, error) {
	var m Mapping
	if field, err := DecodeYAML(b, &m); err != nil {
		return nil, &MappingError{Path: path, Field: field, Err: err}
	}
	m.Path = path
	if m.Entity == "" {
		m.Entity = EntityNatural
	}
	if m.Entity != EntityLegal && len(m.LegalTypes) > 0 {
		return nil, &MappingError{Path: path, Field: "legal_types", Err: errors.New("is only for entity: legal")}
	}
	allowed := m.Entity.Fields()
	for _, f := range slices.Sorted(maps.Keys(m.Columns)) {
		if !slices.Contains(allowed, f) {
			return nil, &MappingError{Path: path, Field: "columns." + string(f), Err: fmt.Errorf("is not a field of entity %s (one of %s)", m.Entity, fieldList(allowed))}
		}
	}
	for i, f := range m.Required {
		if !slices.Contains(allowed, f) {
			return nil, &MappingError{Path: path, Field: fmt.Sprintf("required[%d]", i), Err: fmt.Errorf("%q is not a field of entity %s (one of %s)", f, m.Entity, fieldList(allowed))}
		}
	}
	if key := m.Entity.KeyField(); m.Columns[key] == "" {
		return nil, &MappingError{Path: path, Field: "columns." + string(key), Err: errors.New("is required")}
	}
	if m.Columns[FieldName] == "" {
		return nil, &MappingError{Path: path, Field: "columns.name", Err: errors.New("is required")}
	}
	for _, f := range m.Required {
		if m.Columns[f] == "" {
			return nil, &MappingError{Path: path, Field: "required", Err: fmt.Errorf("field %s is required but has no column", f)}
		}
	}
	seen := map[string]Field{}
	for f, col := range m.Columns {
		if other, dup := seen[col]; dup {
			return nil, &MappingError{Path: path, Field: "columns." + string(f), Err: fmt.Errorf("column %q is already mapped to %s", col, other)}
		}
		seen[col] = f
	}
	m.withDefaults()
	if err := checkTimeFormats(path, "date_formats", m.DateFormats); err != nil {
		return nil, err
	}
	if err := checkTimeFormats(path, "updated_at_formats", m.UpdatedAtFormats); err != nil {
		return nil, err
	}
	var err error
	if m.loc, err = time.LoadLocation(m.TimeZone); err != nil {
		return nil, &MappingError{Path: path, Field: "time_zone", Err: err}
	}
	return &m, nil
}

func (m *Mapping) withDefaults() {
	if m.Format == "" {
		m.Format = FormatFromPath("")
	}
	if m.Encoding == "" {
		m.Encoding = EncodingAuto
	}
	m.delimiterDeclared = m.Delimiter != ""
	if m.Delimiter == "" {
		m.Delimiter = ","
	}
	if m.HeaderRow == 0 {
		m.HeaderRow = 1
	}
	if len(m.DateFormats) == 0 {
		m.DateFormats = DefaultDateFormats
	}
	if len(m.UpdatedAtFormats) == 0 {
		m.UpdatedAtFormats = DefaultTimeFormats
	}
	if m.TimeZone == "" {
		m.TimeZone = "Asia/Shanghai"
	}
}

// DelimiterDeclared reports whether the mapping file set the delimiter,
// rather than leaving it to the default.
func (m *Mapping) DelimiterDeclared() bool { return m.delimiterDeclared }

func fieldList(fs []Field) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(f))
	}
	return b.String()
}

// IsRequired reports whether rows must have a non-empty f.
func (m *Mapping) IsRequired(f Field) bool {
	if f == m.Entity.KeyField() || f == FieldName {
		return true
	}
	for _, r := range m.Required {
		if r == f {
			return true
		}
	}
	return false
}

// IDTypeOf maps a department's ID type value to a canonical type; ok is
// false for a value neither the mapping nor the defaults know. An empty
// value maps to "" (infer from the number).
func (m *Mapping) IDTypeOf(v string) (t IDType, ok bool) {
	v = strings.TrimSpace(v)
	if t, ok = m.IDTypes[v]; ok {
		return t, true
	}
	t, ok = DefaultIDTypes[v]
	return t, ok
}

// LegalTypeOf maps a department's legal person type value to a canonical
// type; ok is false for a value neither the mapping nor the defaults know.
// An empty value maps to "" (not sent).
func (m *Mapping) LegalTypeOf(v string) (t LegalType, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	if t, ok = m.LegalTypes[v]; ok {
		return t, true
	}
	t, ok = DefaultLegalTypes[v]
	return t, ok
}

// FormatFromPath guesses the format from a file name's extension; "" when
// it cannot tell.
func FormatFromPath(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".txt":
		return FormatCSV
	case ".xlsx", ".xlsm":
		return FormatXLSX
	case ".xls":
		return FormatXLS
	case ".parquet", ".pq":
		return FormatParquet
	case ".arrow", ".feather", ".ipc":
		return FormatArrow
	}
	return ""
}

// LoadMappingDir loads every *.yaml/*.yml file of dir, keyed by department
// code; two files for one department are an error.
func LoadMappingDir(dir string) (map[string]*Mapping, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mapping dir: %w", err)
	}
	out := map[string]*Mapping{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		m, err := LoadMapping(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if prev, dup := out[m.Department.Code]; dup {
			return nil, &MappingError{Path: m.Path, Field: "department.code", Err: fmt.Errorf("department %q is also defined in %s", m.Department.Code, prev.Path)}
		}
		out[m.Department.Code] = m
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mapping dir %s: no *.yaml mapping files", dir)
	}
	return out, nil
}
