package schemas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goodMapping = `
department: {code: renshe, name: 省人社厅}
priority: 2
encoding: gbk
columns:
  id_number: 证件号码
  name: 姓名
  phone: 手机号
`

func TestParseMappingDefaults(t *testing.T) {
	t.Parallel()
	m, err := ParseMapping("renshe.yaml", []byte(goodMapping))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{m.Encoding, m.Delimiter, m.HeaderRow, m.TimeZone, m.IsRequired(FieldName), m.IsRequired(FieldPhone), len(m.DateFormats) > 0}
	want := []any{EncodingGBK, ",", 1, "Asia/Shanghai", true, false, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		in   string
		want IDType
		ok   bool
	}{{"居民身份证", IDResident, true}, {" 01 ", IDResident, true}, {"", "", true}, {"军官证", "", false}} {
		if got, ok := m.IDTypeOf(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("IDTypeOf(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestParseMappingErrors: every error names the file and the field.
func TestParseMappingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, field string
	}{
		{"no_department", "priority: 1\ncolumns: {id_number: a, name: b}\n", "department"},
		{"bad_code", "department: {code: 公安, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\n", "department.code"},
		{"no_priority", "department: {code: ga, name: x}\ncolumns: {id_number: a, name: b}\n", "priority"},
		{"bad_encoding", "department: {code: ga, name: x}\npriority: 1\nencoding: big5\ncolumns: {id_number: a, name: b}\n", "encoding"},
		{"unknown_field", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b, email: c}\n", "columns"},
		{"no_id_column", "department: {code: ga, name: x}\npriority: 1\ncolumns: {name: b}\n", "columns.id_number"},
		{"dup_column", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: a}\n", "columns."},
		{"required_unmapped", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nrequired: [phone]\n", "required"},
		{"bad_tz", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\ntime_zone: Mars/Base\n", "time_zone"},
		{"unknown_time_format", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nupdated_at_formats: [unix, unix_s]\n", "updated_at_formats[1]"},
		{"name_that_go_could_read", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nupdated_at_formats: [unix_ms2]\n", "updated_at_formats[0]"},
		{"layout_without_elements", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nupdated_at_formats: [\"2006-01-02\", \"yyyy-MM-dd\"]\n", "updated_at_formats[1]"},
		{"empty_format", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nupdated_at_formats: [\"\"]\n", "updated_at_formats[0]"},
		{"unknown_date_format", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\ndate_formats: [excel]\n", "date_formats[0]"},
		{"unknown_key", "department: {code: ga, name: x}\npriority: 1\ncolumns: {id_number: a, name: b}\nsheeet: x\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseMapping("dept.yaml", []byte(tt.yaml))
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("ParseMapping() error = %v, want a MappingError", err)
			}
			if !strings.Contains(err.Error(), "dept.yaml") || !strings.HasPrefix(me.Field, tt.field) {
				t.Errorf("error %q: field %q, want the file and field %q", err, me.Field, tt.field)
			}
		})
	}
}

func TestLoadMappingDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("renshe.yaml", goodMapping)
	write("README.txt", "not a mapping")
	ms, err := LoadMappingDir(dir)
	if err != nil || len(ms) != 1 || ms["renshe"] == nil {
		t.Fatalf("LoadMappingDir() = %v, %v", ms, err)
	}
	write("renshe2.yml", goodMapping)
	if _, err := LoadMappingDir(dir); err == nil || !strings.Contains(err.Error(), "department.code") {
		t.Errorf("duplicate department: error = %v", err)
	}
}

func TestLoadManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := LoadManifest(write("run.yaml", "mapping_dir: mappings\nfiles:\n  - {path: in/公安导出.csv, dept: gongan}\n  - {path: /abs/renshe_users.csv}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{MappingDir: filepath.Join(dir, "mappings"), Path: filepath.Join(dir, "run.yaml"),
		Files: []ManifestFile{{Path: filepath.Join(dir, "in/公安导出.csv"), Dept: "gongan"}, {Path: "/abs/renshe_users.csv"}}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for name, body := range map[string]string{
		"no_files.yaml": "mapping_dir: m\n",
		"bad_dept.yaml": "mapping_dir: m\nfiles: [{path: a.csv, dept: 公安}]\n",
		"no_path.yaml":  "mapping_dir: m\nfiles: [{dept: gongan}]\n",
	} {
		_, err := LoadManifest(write(name, body))
		var me *MappingError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), name) || me.Field == "" {
			t.Errorf("%s: error %v, want one naming the file and the field", name, err)
		}
	}
}

// TestParseMappingTimeFormats: named formats and Go layouts mix, in order.
func TestParseMappingTimeFormats(t *testing.T) {
	t.Parallel()
	y := goodMapping + "updated_at_formats: [unix, unix_ms, excel_serial, \"2006-01-02 15:04:05\", \"2006年1月2日\"]\ndate_formats: [excel_serial, \"20060102\"]\n"
	m, err := ParseMapping("renshe.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"unix", "unix_ms", "excel_serial", "2006-01-02 15:04:05", "2006年1月2日"}
	if diff := cmp.Diff(want, m.UpdatedAtFormats); diff != "" {
		t.Errorf("UpdatedAtFormats mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"excel_serial", "20060102"}, m.DateFormats); diff != "" {
		t.Errorf("DateFormats mismatch (-want +got):\n%s", diff)
	}
}

const legalMapping = `
department: {code: scjg, name: 省市场监管局}
priority: 1
entity: legal
columns:
  credit_code: 统一社会信用代码
  name: 企业名称
  legal_type: 法人类型
  rep_name: 法定代表人
  rep_id_type: 法人证件类型
  rep_id_number: 法人证件号码
  rep_id_end: 证件有效期止
  phone: 联系电话
legal_types: {有限责任公司: enterprise, 基金会: social_org}
id_types: {护照: foreign_pr}
`

func TestParseMappingLegal(t *testing.T) {
	t.Parallel()
	m, err := ParseMapping("scjg.yaml", []byte(legalMapping))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{m.Entity, m.IsRequired(FieldCreditCode), m.IsRequired(FieldName), m.IsRequired(FieldIDNumber), m.IsRequired(FieldRepIDNumber)}
	want := []any{EntityLegal, true, true, false, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		in   string
		want LegalType
		ok   bool
	}{{"有限责任公司", LegalEnterprise, true}, {" 基金会 ", LegalSocialOrg, true}, {"事业单位", LegalInstitution, true}, {"", "", true}, {"个体户", "", false}} {
		if got, ok := m.LegalTypeOf(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("LegalTypeOf(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if typ, ok := m.IDTypeOf("护照"); !ok || typ != IDForeignPR {
		t.Errorf("IDTypeOf(护照) = %q, %v: a legal mapping's id_types are the representative's", typ, ok)
	}
	nat, err := ParseMapping("renshe.yaml", []byte(goodMapping))
	if err != nil {
		t.Fatal(err)
	}
	if nat.Entity != EntityNatural || !nat.IsRequired(FieldIDNumber) || nat.IsRequired(FieldCreditCode) {
		t.Errorf("natural default: entity %q, id required %v, credit code required %v", nat.Entity, nat.IsRequired(FieldIDNumber), nat.IsRequired(FieldCreditCode))
	}
}

// TestParseMappingLegalErrors: a mapping may map only its entity's fields;
// each error names the file and the field.
func TestParseMappingLegalErrors(t *testing.T) {
	t.Parallel()
	const head = "department: {code: scjg, name: x}\npriority: 1\n"
	tests := []struct {
		name, yaml, field string
	}{
		{"bad_entity", head + "entity: company\ncolumns: {credit_code: a, name: b}\n", "entity"},
		{"legal_no_credit_code", head + "entity: legal\ncolumns: {name: b, rep_name: c}\n", "columns.credit_code"},
		{"legal_no_name", head + "entity: legal\ncolumns: {credit_code: a}\n", "columns.name"},
		{"legal_person_field", head + "entity: legal\ncolumns: {credit_code: a, name: b, id_number: c}\n", "columns.id_number"},
		{"legal_gender", head + "entity: legal\ncolumns: {credit_code: a, name: b, gender: c}\n", "columns.gender"},
		{"natural_legal_field", head + "columns: {id_number: a, name: b, credit_code: c}\n", "columns.credit_code"},
		{"natural_rep_field", head + "entity: natural\ncolumns: {id_number: a, name: b, rep_name: c}\n", "columns.rep_name"},
		{"legal_required_person_field", head + "entity: legal\ncolumns: {credit_code: a, name: b}\nrequired: [birth_date]\n", "required[0]"},
		{"legal_required_unmapped", head + "entity: legal\ncolumns: {credit_code: a, name: b}\nrequired: [rep_name]\n", "required"},
		{"bad_legal_type", head + "entity: legal\ncolumns: {credit_code: a, name: b}\nlegal_types: {公司: company}\n", "legal_types"},
		{"legal_types_natural", head + "columns: {id_number: a, name: b}\nlegal_types: {公司: enterprise}\n", "legal_types"},
		{"legal_dup_column", head + "entity: legal\ncolumns: {credit_code: a, name: b, rep_name: b}\n", "columns."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseMapping("dept.yaml", []byte(tt.yaml))
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("ParseMapping() error = %v, want a MappingError", err)
			}
			if !strings.Contains(err.Error(), "dept.yaml") || !strings.HasPrefix(me.Field, tt.field) {
				t.Errorf("error %q: field %q, want the file and field %q", err, me.Field, tt.field)
			}
		})
	}
}
