package feedback

import (
	"fmt"
	"strings"

	"github.com/idfusion/idfusion/schemas"
)

// Folded is one warning found in (nearly) every accepted row of a file:
// the mapping, not the rows, is what is wrong, so the workbook says it once
// for the file instead of listing each row. Its rows are still counted.
type Folded struct {
	Code  schemas.Code
	Field schemas.Field
	// Rows is how many rows have the warning, of Accepted rows of the file
	// (0 < Rows <= Accepted).
	Rows     int64
	Accepted int64
	// Example is the value of the first such row, as the department sent it.
	Example string
}

// Text says in Chinese what the finding is and what to check, e.g.
// 更新时间在 100% 的行中出现同一问题（已接收 1000 行中的 1000 行，例如“1700000000”）：
// 更新时间格式无法识别，已忽略该字段。逐行明细从略，请检查映射的格式（updated_at_formats…）
func (f Folded) Text() string {
	pct := f.Rows * 100 / f.Accepted // floored: 100% only when every row has it
	msg := strings.TrimRight(f.Code.Message(), "。")
	return fmt.Sprintf("%s在 %d%% 的行中出现同一问题（已接收 %d 行中的 %d 行，例如“%s”）：%s。逐行明细从略，%s",
		f.Field.Label(), pct, f.Accepted, f.Rows, f.Example, msg, mappingHint(f.Field))
}

// mappingHint says which part of the mapping to check for a field that
// fails in every row.
func mappingHint(f schemas.Field) string {
	switch f {
	case schemas.FieldUpdatedAt:
		return "请检查映射的格式（updated_at_formats：日期格式，或数字时间 " + strings.Join(schemas.TimeFormatNames, "、") + "）"
	case schemas.FieldBirthDate:
		return "请检查映射的格式（date_formats：日期格式，或 excel_serial）"
	}
	return "多为映射与文件不符，请检查映射中该字段对应的列（columns）"
}
