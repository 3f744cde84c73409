package cleanse

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

// legalIn is one raw legal person's row; fields not set are "".
type legalIn map[schemas.Field]string

func rawLegalRecord(t *testing.T, rows []legalIn, numeric bool) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.RawLegal)
	defer b.Release()
	s := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	tail := schemas.EntityLegal.RawTail()
	for i, r := range rows {
		s(schemas.ColDept).Append("scjg")
		s(schemas.ColFile).Append("sha")
		b.Field(schemas.ColRow).(*array.Int64Builder).Append(int64(i + 2))
		for j, f := range schemas.LegalFields {
			v := r[f]
			if f == schemas.FieldSourceKey && v == "" {
				v = "k"
			}
			s(schemas.RawFirstField + j).Append(v)
		}
		b.Field(tail).(*array.BooleanBuilder).Append(numeric)
		s(tail + 1).Append(r["defect"])
		s(tail + 2).Append(r["defect_field"])
	}
	return b.NewRecord()
}

// TestUSCCLetters: the five letters GB 32100-2015 leaves out are never
// valid, whatever the check character; the other letters are.
func TestUSCCLetters(t *testing.T) {
	t.Parallel()
	for _, l := range "IOZSV" {
		first := "91350100M00010" + string(l) + "Y4"
		for _, check := range usccCharset {
			if _, c := ValidUSCC(first + string(check)); c != schemas.USCCBadChars {
				t.Errorf("ValidUSCC(%s%c) = %q, want USCC_BAD_CHARS", first, check, c)
			}
		}
	}
	for _, l := range "ABCDEFGHJKLMNPQRTUWXY" {
		first := "9135010" + string(l) + "M000100Y4"
		code := first + string(USCCCheckChar(first))
		if got, c := ValidUSCC(strings.ToLower(code)); c != "" || got != code {
			t.Errorf("ValidUSCC(%q) = %q, %q; want %q", strings.ToLower(code), got, c, code)
		}
	}
}

func TestNormalizeOrgName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, want string
		code      schemas.Code
	}{
		{"北京某某科技有限公司", "北京某某科技有限公司", ""},
		{"  北京 某某 科技有限公司（分公司） ", "北京某某科技有限公司(分公司)", ""},
		{"ＡＢＣ  (China)\tCo., Ltd.", "ABC (China) Co., Ltd.", ""},
		{"第3中学", "第3中学", ""},
		{"某某\u200b公司", "某某公司", ""},
		{"", "", schemas.OrgNameEmpty},
		{" \u3000 ", "", schemas.OrgNameEmpty},
		{"某某\x07公司", "", schemas.OrgNameInvalid},
		{"某某\uFFFD公司", "", schemas.OrgNameInvalid},
		{"某某\uE000公司", "", schemas.OrgNameInvalid},
		{"12345", "", schemas.OrgNameInvalid},
		{strings.Repeat("某", MaxOrgName), strings.Repeat("某", MaxOrgName), ""},
		{strings.Repeat("某", MaxOrgName+1), "", schemas.OrgNameInvalid},
	}
	for _, tt := range tests {
		got, code := NormalizeOrgName(tt.raw)
		if got != tt.want || code != tt.code {
			t.Errorf("NormalizeOrgName(%q) = %q, %q; want %q, %q", tt.raw, got, code, tt.want, tt.code)
		}
	}
}

// TestStageLegalDecisions: a legal mapping's rows get the legal rules.
func TestStageLegalDecisions(t *testing.T) {
	t.Parallel()
	const code = "91350100M000100Y43"
	const rep = "11010519491231002X"
	base := func(kv ...string) legalIn {
		r := legalIn{schemas.FieldCreditCode: code, schemas.FieldName: "某某科技有限公司"}
		for i := 0; i+1 < len(kv); i += 2 {
			r[schemas.Field(kv[i])] = kv[i+1]
		}
		return r
	}
	tests := []struct {
		name    string
		row     legalIn
		numeric bool
		// credit_code, name, legal_type, rep_name, rep_id_type, rep_id, nationality, start, end, contact, phone, updated
		clean []string
		finds []string
	}{
		{"clean", base("legal_type", "企业", "rep_name", "张三", "rep_id_number", rep, "rep_id_start", "2010-01-02",
			"rep_id_end", "2030-01-02", "contact_name", " 李四 ", "phone", "139 1234 9071", "updated_at", "2024-03-01 08:00:00"),
			false, []string{code, "某某科技有限公司", "enterprise", "张三", "resident", rep, "CHN", "2010-01-02", "2030-01-02", "李四", "13912349071", "2024-03-01 00:00:00Z"}, nil},
		{"code_dirty", base("credit_code", " ９１３５ 0100m000100y43"),
			false, []string{code, "某某科技有限公司", "", "", "", "", "", "(null)", "(null)", "", "", "(null)"}, nil},
		{"code_letter_O", base("credit_code", "9135010OM000100Y43"), false, nil, []string{"reject USCC_BAD_CHARS credit_code"}},
		{"code_short", base("credit_code", "91350100M000100Y4"), false, nil, []string{"reject USCC_BAD_LENGTH credit_code"}},
		{"code_empty", base("credit_code", ""), false, nil, []string{"reject USCC_BAD_LENGTH credit_code"}},
		{"code_check", base("credit_code", "91350100M000100Y42"), false, nil, []string{"reject USCC_BAD_CHECKSUM credit_code"}},
		{"defect_first", base("defect", "ROW_FIELD_COUNT"), false, nil, []string{"reject ROW_FIELD_COUNT "}},
		{"undecodable_rep", base("rep_name", "王\uFFFD", "defect", "FIELD_UNDECODABLE", "defect_field", "rep_name"), false, nil, []string{"reject FIELD_UNDECODABLE rep_name"}},
		{"org_name_empty", base("name", " "), false, nil, []string{"reject ORG_NAME_EMPTY name"}},
		{"org_name_digits_ok", base("name", "第3建筑公司(北京)"),
			false, []string{code, "第3建筑公司(北京)", "", "", "", "", "", "(null)", "(null)", "", "", "(null)"}, nil},
		{"legal_type_unknown", base("legal_type", "个体户"), false, nil, []string{"reject LEGAL_TYPE_UNKNOWN legal_type"}},
		{"legal_type_mapped", base("legal_type", "基金会"),
			false, []string{code, "某某科技有限公司", "social_org", "", "", "", "", "(null)", "(null)", "", "", "(null)"}, nil},
		{"rep_id_bad", base("rep_name", "张三", "rep_id_number", "110105194912310021"), false, nil, []string{"reject ID_BAD_CHECKSUM rep_id_number"}},
		{"rep_id_numeric", base("rep_name", "张三", "rep_id_number", "110105194912310000"), true, nil, []string{"reject ID_SCIENTIFIC_NOTATION rep_id_number"}},
		{"rep_id_type_unknown", base("rep_name", "张三", "rep_id_type", "军官证", "rep_id_number", rep), false, nil, []string{"reject ID_TYPE_UNKNOWN rep_id_type"}},
		{"rep_id_type_mismatch", base("rep_name", "张三", "rep_id_type", "外国人永久居留身份证", "rep_id_number", rep), false, nil, []string{"reject ID_TYPE_MISMATCH rep_id_number"}},
		{"rep_name_bad", base("rep_name", "张3", "rep_id_number", rep), false, nil, []string{"reject NAME_BAD_CHARS rep_name"}},
		{"rep_foreign", base("rep_name", "JOHN SMITH", "rep_id_type", "外国人永久居留身份证", "rep_id_number", foreign2023, "rep_nationality", "usa", "rep_id_end", "长期"),
			false, []string{code, "某某科技有限公司", "", "JOHN SMITH", "foreign_pr", foreign2023, "USA", "(null)", "9999-12-31", "", "", "(null)"}, nil},
		{"long_term", base("rep_name", "张三", "rep_id_number", rep, "rep_id_end", " 长期有效 "),
			false, []string{code, "某某科技有限公司", "", "张三", "resident", rep, "CHN", "(null)", "9999-12-31", "", "", "(null)"}, nil},
		{"long_term_9999", base("rep_id_end", "9999-12-31"),
			false, []string{code, "某某科技有限公司", "", "", "", "", "", "(null)", "9999-12-31", "", "", "(null)"}, nil},
		{"warnings_keep_row", base("rep_name", "张三", "rep_id_number", "110105491231002", "rep_id_start", "soon", "phone", "12345", "updated_at", "later"),
			false, []string{code, "某某科技有限公司", "", "张三", "resident", rep, "CHN", "(null)", "(null)", "", "", "(null)"},
			[]string{"warning ID_LEGACY_15 rep_id_number", "warning REP_ID_DATE_INVALID rep_id_start", "warning PHONE_INVALID phone", "warning UPDATED_AT_INVALID updated_at"}},
		{"end_before_start", base("rep_id_start", "2020-01-01", "rep_id_end", "2019-12-31"),
			false, []string{code, "某某科技有限公司", "", "", "", "", "", "(null)", "(null)", "", "", "(null)"},
			[]string{"warning REP_ID_PERIOD_INVALID rep_id_end"}},
		{"required_missing", base("rep_id_number", rep), false, nil, []string{"reject REQUIRED_MISSING contact_name"}},
	}
	m, err := schemas.ParseMapping("t.yaml", []byte(`department: {code: scjg, name: x}
priority: 2
entity: legal
columns: {credit_code: a, name: b, legal_type: c, rep_name: d, rep_id_type: e, rep_id_number: f, rep_nationality: g,
  rep_id_start: h, rep_id_end: i, contact_name: j, phone: k, address: l, updated_at: m, source_key: n}
legal_types: {基金会: social_org}
`))
	if err != nil {
		t.Fatal(err)
	}
	req := *m
	req.Required = []schemas.Field{schemas.FieldContactName}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mm := m
			if tt.name == "required_missing" {
				mm = &req
			}
			st := NewStage(mm, nil)
			defer st.Release()
			raw := rawLegalRecord(t, []legalIn{tt.row}, tt.numeric)
			defer raw.Release()
			clean, finds := st.Process(raw)
			defer clean.Release()
			defer finds.Release()
			if !clean.Schema().Equal(schemas.CleanLegal) {
				t.Fatalf("clean schema %v, want CleanLegal", clean.Schema())
			}
			var gotClean []string
			if clean.NumRows() == 1 {
				for _, c := range []int{schemas.LegalCreditCode, schemas.LegalName, schemas.LegalTypeCol, schemas.LegalRepName, schemas.LegalRepIDType,
					schemas.LegalRepIDNumber, schemas.LegalRepNationality, schemas.LegalRepIDStart, schemas.LegalRepIDEnd,
					schemas.LegalContactName, schemas.LegalPhone, schemas.LegalUpdatedAt} {
					gotClean = append(gotClean, clean.Column(c).ValueStr(0))
				}
				if p := clean.Column(schemas.LegalPriority).(*array.Int32).Value(0); p != 2 {
					t.Errorf("priority = %d, want 2", p)
				}
				if k := clean.Column(schemas.LegalSourceKey).ValueStr(0); k != "k" {
					t.Errorf("source key = %q", k)
				}
			}
			var gotFinds []string
			for i := 0; i < int(finds.NumRows()); i++ {
				gotFinds = append(gotFinds, finds.Column(schemas.FindSeverity).ValueStr(i)+" "+
					finds.Column(schemas.FindCode).ValueStr(i)+" "+finds.Column(schemas.FindField).ValueStr(i))
				if k := finds.Column(schemas.FindSourceKey).ValueStr(i); k != "k" {
					t.Errorf("finding source key = %q", k)
				}
			}
			if diff := cmp.Diff(tt.clean, gotClean); diff != "" {
				t.Errorf("clean row mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.finds, gotFinds); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzNormalizeOrgName checks that the organization name rule never
// panics, is idempotent, and never returns a control character or U+FFFD.
func FuzzNormalizeOrgName(f *testing.F) {
	for _, s := range []string{"北京某某科技有限公司", "  北京 某某 科技（分公司） ", "ＡＢＣ  (China)\tCo., Ltd.", "某\x07", "\xff", "", "12345", "ǅ ﬃ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, code := NormalizeOrgName(raw)
		if code != "" {
			if n != "" {
				t.Fatalf("NormalizeOrgName(%q) rejected with %s but returned %q", raw, code, n)
			}
			return
		}
		if again, c := NormalizeOrgName(n); again != n || c != "" {
			t.Fatalf("NormalizeOrgName not idempotent: %q -> %q -> %q, %q", raw, n, again, c)
		}
		if strings.ContainsFunc(n, func(r rune) bool { return r == '\uFFFD' || r < ' ' || r == 0x7f }) {
			t.Fatalf("NormalizeOrgName(%q) = %q", raw, n)
		}
	})
}
