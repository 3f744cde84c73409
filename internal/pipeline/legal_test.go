package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/sample"
	"github.com/idfusion/idfusion/schemas"
)

const legalCSVMapping = `
department: {code: swj, name: 省税务局}
priority: 2
entity: legal
encoding: gbk
columns:
  source_key: 纳税人编号
  credit_code: 统一社会信用代码
  name: 纳税人名称
  legal_type: 单位类型
  rep_name: 法定代表人
  rep_id_number: 法定代表人身份证号
  rep_id_end: 证件有效期至
  contact_name: 办税人
  phone: 办税人手机
legal_types: {有限责任公司: enterprise}
`

// TestCheckLegal: fusion check on a legal mapping reads a GBK file of
// legal persons with the legal rules, and the department's workbook names
// the legal fields in Chinese.
func TestCheckLegal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := schemas.ParseMapping("swj.yaml", []byte(legalCSVMapping))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"纳税人编号,统一社会信用代码,纳税人名称,单位类型,法定代表人,法定代表人身份证号,证件有效期至,办税人,办税人手机",
		"S1,91350100m000100y43,某某科技有限公司,有限责任公司,张三,11010519491231002X,长期,李四,13912349071",
		"S2,９１３５０１００Ｍ０００１００Ｙ４３,某某贸易有限公司,企业,,,,,",
		"S3,91350100M000100I43,某某商店,企业,,,,,",
		"S4,91350100M000100Y42,某某协会,社会团体,,,,,",
		"S5,91350100M000100Y43,某某个体户,个体工商户,,,,,",
		"S6,91350100M000100Y43,某某学校,事业单位,王五,110105194912310021,,,",
		"S7,91350100M000100Y43,某某医院,机关事业单位,赵六,11010519491231002X,2030-13-45,,12345",
	}
	enc, err := simplifiedchinese.GBK.NewEncoder().String(strings.Join(lines, "\r\n") + "\r\n")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "swj_2026.csv")
	if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Check(context.Background(), []Input{{Path: path, Mapping: m}}, filepath.Join(dir, "out"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Files[0]
	if f.Error != "" || f.Read != 7 || f.Accepted != 3 || f.Rejected != 4 {
		t.Fatalf("file summary %+v: want 7 read, 3 accepted, 4 rejected", f)
	}
	wantRejects := map[schemas.Code]int64{schemas.USCCBadChars: 1, schemas.USCCBadChecksum: 1, schemas.LegalTypeUnknown: 1, schemas.IDBadChecksum: 1}
	if diff := cmp.Diff(wantRejects, f.Rejects); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
	wb, err := excelize.OpenFile(res.Feedback[0])
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("拒收明细")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[2]+" "+r[3]+" "+r[5])
	}
	want := []string{"S3 统一社会信用代码 USCC_BAD_CHARS", "S4 统一社会信用代码 USCC_BAD_CHECKSUM", "S5 法人类型 LEGAL_TYPE_UNKNOWN", "S6 法人证件号码 ID_BAD_CHECKSUM"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("workbook rejects (-want +got):\n%s", diff)
	}
	warns, err := wb.GetRows("警告明细")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range warns[1:] {
		got = append(got, r[2]+" "+r[3]+" "+r[5])
	}
	want = []string{"S7 手机号码 PHONE_INVALID", "S7 证件有效结束日期 REP_ID_DATE_INVALID"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("workbook warnings (-want +got):\n%s", diff)
	}
}

// TestMaskValueRepID: the representative's ID is masked like a person's.
func TestMaskValueRepID(t *testing.T) {
	t.Parallel()
	// Rejected values are not always ID-shaped (a passport number, a
	// typo): masked as the field's value, never left to Redact.
	for _, id := range []string{"11010519491231002X", "E1234567", "1101"} {
		if got, want := MaskValue(schemas.FieldRepIDNumber, id), pii.MaskID(id); got != want || got == id {
			t.Errorf("MaskValue(rep_id_number, %q) = %q, want %q as for id_number", id, got, want)
		}
	}
}

// TestCheckGeneratedLegal: fusion gen's legal exports (an XLSX and a GBK
// CSV with dirty codes, letters the standard leaves out, unknown types,
// bad representative IDs, 长期) come out of check exactly as the truth
// says, and generating legal persons leaves the persons' files unchanged.
func TestCheckGeneratedLegal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, withLegal := t.TempDir(), t.TempDir()
	if _, err := sample.Generate(ctx, sample.Config{Dir: plain, Rows: 3000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	truth, err := sample.Generate(ctx, sample.Config{Dir: withLegal, Rows: 3000, Seed: 3, Legal: 600})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"exports/gongan_users.csv", "exports/renshe_users.csv", "exports/minzheng_users.parquet", "truth_accounts.csv"} {
		a, err := os.ReadFile(filepath.Join(plain, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(withLegal, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs when legal persons are generated", name)
		}
	}
	if truth.Legal == 0 || truth.LegalRepsPersons == 0 || truth.LegalRepsPersons == truth.Legal {
		t.Errorf("truth: %d legal persons, %d represented by a person: want some of each", truth.Legal, truth.LegalRepsPersons)
	}
	ms, err := schemas.LoadMappingDir(filepath.Join(withLegal, "mappings"))
	if err != nil {
		t.Fatal(err)
	}
	var in []Input
	want := map[string]sample.TruthFile{}
	for _, f := range truth.Files {
		if ms[f.Dept].Entity != schemas.EntityLegal {
			continue
		}
		in = append(in, Input{Path: filepath.Join(withLegal, f.Path), Mapping: ms[f.Dept]})
		want[f.Dept] = f
	}
	if len(in) != 2 {
		t.Fatalf("legal files %v, want scjg and swj", in)
	}
	res, err := Check(ctx, in, filepath.Join(withLegal, "out"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]sample.TruthFile{}
	for _, f := range res.Files {
		if f.Error != "" {
			t.Fatalf("%s: %s", f.Path, f.Error)
		}
		got[f.Dept] = sample.TruthFile{Dept: f.Dept, Path: want[f.Dept].Path, Rows: f.Read, Accepted: f.Accepted, Rejected: f.Rejected,
			Warnings: f.Warnings, Rejects: f.Rejects, WarningCodes: f.WarningCodes}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("check vs truth (-want +got):\n%s", diff)
	}
	for _, c := range []schemas.Code{schemas.USCCBadChecksum, schemas.USCCBadChars, schemas.LegalTypeUnknown, schemas.IDBadChecksum} {
		if want["scjg"].Rejects[c]+want["swj"].Rejects[c] == 0 {
			t.Errorf("no row rejected with %s: the generator should make each kind of dirt", c)
		}
	}
	lines, err := os.ReadFile(filepath.Join(withLegal, "truth_legal.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(lines), "\n") - 1; int64(n) != truth.Legal {
		t.Errorf("truth_legal.csv has %d rows, truth says %d", n, truth.Legal)
	}
	// A representative marked a person is one with an account in the
	// persons' truth, and one not marked has none.
	accounts, err := os.ReadFile(filepath.Join(withLegal, "truth_accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, l := range strings.Split(string(accounts), "\n")[1:] {
		if id, _, ok := strings.Cut(l, ","); ok {
			ids[id] = true
		}
	}
	var linked int64
	for _, l := range strings.Split(strings.TrimSpace(string(lines)), "\n")[1:] {
		f := strings.Split(l, ",")
		if (f[5] == "1") != ids[f[4]] {
			t.Errorf("truth_legal.csv %q: rep_is_person %s, but the representative has an account: %v", l, f[5], ids[f[4]])
		}
		if f[5] == "1" {
			linked++
		}
	}
	if linked != truth.LegalRepsPersons {
		t.Errorf("%d linked representatives in truth_legal.csv, truth says %d", linked, truth.LegalRepsPersons)
	}
}
