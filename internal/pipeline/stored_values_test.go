package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/internal/dbtest"
	"github.com/idfusion/idfusion/schemas"
)

// TestStoredValuesAcrossFormats: what reaches the account is the exact
// value the department typed, whichever way its software wrote the file:
// a rare character beyond the BMP in the name (GB18030's four-byte form in
// a CSV, UTF-16 surrogates in XLSX) and an address with an Alt+Enter line
// break (inside a quoted CSV field of CRLF records, or an XLSX cell) are
// stored as the same text, the line break as LF.
func TestStoredValuesAcrossFormats(t *testing.T) {
	t.Parallel()
	const name, address = "王𠮷", "海口市美兰区\n海甸岛五西路 8 号"
	id := validID("460106", "19800101", 100)
	m, err := schemas.ParseMapping("gongan.yaml", []byte(`
department: {code: gongan, name: 省公安厅}
priority: 1
columns: {source_key: 编号, name: 姓名, id_number: 身份证号, address: 地址}
`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Excel's CSV: CRLF after each record, the cell's own break as it was
	// typed (CRLF here), quoted; encoded GB18030 as legacy systems write.
	csv := "编号,姓名,身份证号,地址\r\nK1," + name + "," + id + ",\"海口市美兰区\r\n海甸岛五西路 8 号\"\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(csv)
	if err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, "gongan.csv")
	if err := os.WriteFile(csvPath, []byte(gb), 0o644); err != nil {
		t.Fatal(err)
	}
	xlsxPath := filepath.Join(dir, "gongan.xlsx")
	f := excelize.NewFile()
	for i, v := range []string{"编号", "姓名", "身份证号", "地址", "K1", name, id, address} {
		cell, _ := excelize.CoordinatesToCellName(i%4+1, i/4+1)
		if err := f.SetCellStr("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(xlsxPath); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{csvPath, xlsxPath} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			t.Parallel()
			pool := dbtest.New(t)
			res, err := Import(context.Background(), pool, []Input{{path, m}}, ImportConfig{Keyring: testKeyring(t), OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if fl := res.Files[0]; fl.Accepted != 1 || fl.Rejected != 0 {
				t.Fatalf("file summary %+v: want the row accepted", fl)
			}
			var gotName, gotAddress string
			if err := pool.QueryRow(context.Background(), `SELECT name, address FROM account`).Scan(&gotName, &gotAddress); err != nil {
				t.Fatal(err)
			}
			if gotName != name || gotAddress != address {
				t.Errorf("stored name %q, address %q; want %q, %q", gotName, gotAddress, name, address)
			}
		})
	}
}
