package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/idfusion/idfusion/internal/pii"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

// conflictFields are the fields merge records conflicts for.
var conflictFields = []schemas.Field{schemas.FieldName, schemas.FieldGender, schemas.FieldBirthDate, schemas.FieldRepName}

func runConflicts(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("conflicts", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	asJSON := fs.Bool("json", false, "print as JSON")
	field := fs.String("field", "", "only the conflicts of this field: name, gender, birth_date or rep_name (a legal person's representative)")
	limit := fs.Int("limit", 50, "most conflicts listed, oldest first (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion conflicts [--json] [--field name|gender|birth_date|rep_name] [--limit N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if fs.NArg() > 0 || *limit < 0 {
		fs.Usage()
		return exitUsage, nil
	}
	if *field != "" && !isConflictField(*field) {
		return 0, usagef("--field %q: want name, gender, birth_date or rep_name", *field)
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))

	list, total, err := report.OpenConflicts(ctx, pool, report.ConflictFilter{Field: *field, Limit: *limit})
	if err != nil {
		return 0, err
	}
	for i := range list {
		redactConflict(&list[i])
	}
	if *asJSON {
		if list == nil {
			list = []report.Conflict{}
		}
		return exitOK, printJSON(e.stdout, struct {
			Total     int64             `json:"total"`
			Conflicts []report.Conflict `json:"conflicts"`
		}{total, list})
	}
	printConflicts(e.stdout, list, total)
	return exitOK, nil
}

func isConflictField(s string) bool { return slices.Contains(conflictFields, schemas.Field(s)) }

// redactConflict masks anything in a conflict's department text that
// could be an ID number or a phone (see redact). The ID hint is masked
// already.
func redactConflict(c *report.Conflict) {
	c.Name = pii.Redact(c.Name)
	for i := range c.Candidates {
		c.Candidates[i].Value = pii.Redact(c.Candidates[i].Value)
	}
}

func printConflicts(w io.Writer, list []report.Conflict, total int64) {
	if total == 0 {
		fmt.Fprintln(w, "no open conflicts")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "conflict\taccount\tid\tname\tfield\tcandidates")
	for _, c := range list {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", c.ID, c.AccountID, cell(c.IDHint), cell(c.Name), conflictField(c), candidatesText(c.Candidates))
	}
	tw.Flush()
	if int64(len(list)) < total {
		fmt.Fprintf(w, "\n%d open conflicts, %d shown (--limit 0 lists all)\n", total, len(list))
	} else {
		fmt.Fprintf(w, "\n%d open conflicts\n", total)
	}
}

// candidatesText renders candidates on one line: "张三 ← gongan row 12;
// 张叁 ← renshe row 7, weijian row 3", and "← ID number" for the value the
// ID number encodes.
func candidatesText(cs []report.Candidate) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString("; ")
		}
		v := printable(c.Value)
		if v == "" {
			v = `""`
		}
		b.WriteString(v)
		b.WriteString(" ← ")
		switch {
		case c.Source == string(schemas.FieldIDNumber):
			b.WriteString("ID number")
		case c.Source != "":
			b.WriteString(printable(c.Source))
		}
		for j, s := range c.Sources {
			if j > 0 || c.Source != "" {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s row %d", printable(s.Dept), s.Row)
		}
	}
	return b.String()
}

// conflictField is a conflict's field with its Chinese label, a legal
// person's marked as such: "name 姓名", "name 法人名称", "rep_name 法定代表人".
func conflictField(c report.Conflict) string {
	label := schemas.Field(c.Field).Label()
	if c.Kind == string(schemas.KindLegal) && c.Field == string(schemas.FieldName) {
		label = "法人名称"
	}
	return c.Field + " " + label
}
