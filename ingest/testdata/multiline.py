"""Writes the multi-line cell fixtures (see README.md): python3 multiline.py
with Debian's python3-openpyxl and python3-xlsxwriter, in this directory."""
import csv, openpyxl, xlsxwriter
ID = "11010519491231002X"
rows = [
    ["编号", "姓名", "身份证号", "手机号", "地址"],
    ["A1", "张三", ID, "13912349071", "北京市海淀区中关村大街1号\n3单元501室"],  # Alt+Enter
    ["A2", "李四", ID, "", "海南省三亚市\r\n天涯区"],  # a CRLF pasted into the cell
    ["A3", "王五", ID, "13912349073", "海口市龙华路1号"],
    ["A4", "赵六", ID, "", "Flat 3, Block B\nKowloon, Hong Kong"],
]
# Excel's "CSV UTF-8": BOM, CRLF after each record, quotes only where needed.
with open("multiline_excel.csv", "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, dialect="excel").writerows(rows)
wb = openpyxl.Workbook()
ws = wb.active
for r in rows:
    ws.append(r)
wb.save("multiline_openpyxl.xlsx")
wb = xlsxwriter.Workbook("multiline_xlsxwriter.xlsx")
ws = wb.add_worksheet()
for i, r in enumerate(rows):
    ws.write_row(i, 0, r)
wb.close()
