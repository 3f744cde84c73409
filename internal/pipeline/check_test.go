package pipeline

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/schemas"
)

func TestFileProblem(t *testing.T) {
	t.Parallel()
	sheetErr := &ingest.XLSXError{Path: "a.xlsx", Sheet: "数据", Part: "xl/worksheets/sheet1.xml", Row: 17, Column: 3, Header: "手机号", Err: ingest.ErrSharedString}
	unknown := &ingest.FormatError{Path: "a.csv", What: "a PDF document"}
	mapped := &ingest.FormatError{Path: "a.csv", Content: schemas.FormatXLSX, What: "an XLSX workbook (ZIP)", Said: schemas.FormatCSV, By: ingest.SaidByMapping, Mapping: "m.yaml"}
	named := &ingest.FormatError{Path: "a.xlsx", Content: schemas.FormatCSV, What: "text", Said: schemas.FormatXLSX, By: ingest.SaidByName, Mapping: "m.yaml"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"cell", sheetErr,
			"文件无法读取（工作表“数据”第17行C17单元格（“手机号”列）：单元格引用了不存在的文本，文件已损坏，请重新导出），整个文件未处理（" + sheetErr.Error() + "）"},
		{"between rows", &ingest.XLSXError{Path: "a.xlsx", Sheet: "数据", After: 9, Err: ingest.ErrTruncatedXML},
			`文件无法读取（工作表“数据”第9行之后：内容中途截断，文件不完整，请重新导出），整个文件未处理（a.xlsx: sheet "数据": after row 9: unexpected end of the XML）`},
		{"row without a cell", &ingest.XLSXError{Path: "a.xlsx", Sheet: "数据", Row: 4, Err: ingest.ErrBadCellRef},
			`文件无法读取（工作表“数据”第4行：单元格位置错误，文件已损坏，请重新导出），整个文件未处理（a.xlsx: sheet "数据": row 4: bad cell reference）`},
		{"the package", &ingest.XLSXError{Path: "a.xlsx", Err: ingest.ErrDamagedZip},
			"文件无法读取（文件已损坏或不完整，可能未完整复制，请重新复制或重新导出），整个文件未处理（a.xlsx: damaged zip package）"},
		{"unknown content", unknown,
			"文件无法读取（文件内容不是可读取的表格，本系统可读取CSV或制表符分隔的文本、XLSX、XLS、Parquet和Arrow文件），整个文件未处理（" + unknown.Error() + "）"},
		{"mapping says another format", mapped,
			"文件无法读取（文件内容是XLSX工作簿，与约定的格式（CSV或制表符分隔的文本）不符：请按约定格式导出，或联系管理员修改映射），整个文件未处理（" + mapped.Error() + "）"},
		{"text under a workbook's name", named,
			"文件无法读取（文件内容是CSV或制表符分隔的文本，与扩展名（.xlsx）不符：可能是网页或改了扩展名的文件，请另存为真正的表格文件），整个文件未处理（" + named.Error() + "）"},
		{"a password on an .xls", &ingest.XLSXError{Path: "a.xls", Err: ingest.ErrXLSEncrypted},
			"文件无法读取（工作簿设置了打开密码，请去掉密码后另存为.xlsx），整个文件未处理（a.xls: password-protected .xls workbook）"},
		{"an .xlsx named .xls", &ingest.XLSXError{Path: "a.xls", Err: ingest.ErrNotXLS},
			"文件无法读取（不是Excel 97-2003（.xls）工作簿：可能是改了扩展名的.xlsx、CSV或网页表格，请另存为.xlsx），整个文件未处理（a.xls: not an Excel 97-2003 (.xls) workbook）"},
		{"a damaged .xls", &ingest.XLSXError{Path: "a.xls", Sheet: "Sheet1", Row: 3, Err: ingest.ErrDamagedXLS},
			"文件无法读取（工作表“Sheet1”第3行：文件已损坏或不完整，可能未完整复制，请重新复制或重新导出），整个文件未处理（a.xls: sheet \"Sheet1\": row 3: damaged .xls workbook）"},
		{"other", errors.New("a.csv: boom"), "文件无法读取，整个文件未处理（a.csv: boom）"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, FileProblem(tt.err)); diff != "" {
			t.Errorf("%s: FileProblem mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
