#!/usr/bin/env python3
"""Writes the .xls fixtures of ingest/testdata (see its README): xlwt directly,
LibreOffice from an openpyxl workbook. Needs Debian's python3-xlwt,
python3-openpyxl and LibreOffice Calc (soffice)."""
import datetime, os, shutil, subprocess, tempfile
import xlwt, openpyxl

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ingest", "testdata"))

LONG = "长地址" * 1500          # 4500 CJK chars = 9000 bytes of UTF-16: crosses the first CONTINUE
HDR = ["编号", "姓名", "身份证号", "手机号", "出生日期", "地址"]

def xlwt_book(path, d1904):
    wb = xlwt.Workbook(encoding="utf-8")
    wb.dates_1904 = d1904
    ws = wb.add_sheet("人员")
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    stamp = xlwt.easyxf(num_format_str="yyyy/m/d h:mm:ss")
    for c, h in enumerate(HDR):
        ws.write(0, c, h)
    ws.write(1, 0, "A1"); ws.write(1, 1, "张三"); ws.write(1, 2, "11010519491231002X")
    ws.write(1, 3, 13912345678); ws.write(1, 4, datetime.date(1949, 12, 31), date); ws.write(1, 5, "北京市朝阳区")
    # row 3 left empty
    ws.write(3, 0, "A2"); ws.write(3, 1, "李四"); ws.write(3, 2, 110105194912310021)
    ws.write(3, 3, "13800000000"); ws.write(3, 4, datetime.datetime(2024, 3, 5, 8, 30, 15), stamp); ws.write(3, 5, LONG)
    ws.write(4, 0, "A3"); ws.write(4, 1, "王五"); ws.write(4, 2, 110105491231002)
    ws.write(4, 3, -7); ws.write(4, 4, 1.5); ws.write(4, 5, True)
    wb.save(path)

xlwt_book("xlwt.xls", False)
xlwt_book("xlwt-1904.xls", True)

tmp = tempfile.mkdtemp()
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "说明"
ws["A1"] = "本表为导出说明"
ws2 = wb.create_sheet("数据")
ws2.append(HDR)
ws2.append(["B1", "赵六", "11010519491231002X", 13912345678, datetime.date(2000, 2, 29), LONG + "尾"])
ws2.append([])
ws2.append(["B2", '=CONCATENATE("钱","七")', 110105194912310021, "=3/4", datetime.datetime(1900, 1, 1), "=1=1"])
ws2["E2"].number_format = "yyyy/m/d"
ws2["E4"].number_format = "yyyy-mm-dd hh:mm"
ws2.append(["B3", "孙八", "=\"11010519491231002X\"", 0.1, "=1/0", ""])
src = os.path.join(tmp, "libreoffice.xlsx")
wb.save(src)
subprocess.run(["soffice", "--headless", "--convert-to", "xls", "--outdir", tmp, src], check=True, capture_output=True)
shutil.copy(os.path.join(tmp, "libreoffice.xls"), "libreoffice.xls")
shutil.rmtree(tmp)
