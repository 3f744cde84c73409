package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/account"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// demoCitizensCmd is `authsvc demo citizens`: for `make demo`, the sample
// citizens who can still do a first login (their fused account is pending
// completion), and how many of them are done already.
func demoCitizensCmd(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc demo citizens", flag.ContinueOnError)
	truth := fs.String("truth", "sample/truth_accounts.csv", "the sample's truth_accounts.csv (id_number,name,phone)")
	legalTruth := fs.String("legal-truth", "", "the sample's truth_legal.csv, to print legal persons too")
	n := fs.Int("n", 3, "how many pending citizens (and legal persons) to print")
	return admin(ctx, fs, args, func(pool *pgxpool.Pool) error {
		f, err := os.Open(*truth)
		if err != nil {
			return err
		}
		defer f.Close()
		keys, err := keyring(fs.Lookup("data-dir").Value.String(), slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		if err := demoCitizens(ctx, pool, keys, f, out, *n); err != nil || *legalTruth == "" {
			return err
		}
		lf, err := os.Open(*legalTruth)
		if err != nil {
			return err
		}
		defer lf.Close()
		return demoLegal(ctx, pool, keys, lf, out, *n)
	})
}

// demoCitizens prints up to n citizens of the truth file (with a phone)
// whose accounts are pending completion, then says how many are done.
func demoCitizens(ctx context.Context, q account.Querier, keys *pii.Keyring, truth io.Reader, out io.Writer, n int) error {
	r := csv.NewReader(truth)
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil { // the header
		return fmt.Errorf("truth file: %w", err)
	}
	shown, done := 0, 0
	for shown < n {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("truth file: %w", err)
		}
		if len(rec) < 3 || rec[2] == "" {
			continue
		}
		a, err := account.ByIDIndex(ctx, q, account.IDIndex(keys, account.NormalizeID(rec[0])))
		if err != nil {
			return err
		}
		switch {
		case a == nil:
		case a.Status == schemas.StatusPendingCompletion:
			if shown == 0 {
				fmt.Fprintln(out, "Fused citizens still to do their first login (ID number, name, phone on record):")
			}
			fmt.Fprintf(out, "  %s  %s  %s\n", rec[0], rec[1], rec[2])
			shown++
		default:
			done++
		}
	}
	switch {
	case shown == 0 && done == 0:
		fmt.Fprintln(out, "No fused citizen with a phone found: was the sample imported?")
	case shown == 0:
		fmt.Fprintf(out, "All sample citizens looked at (%d) have completed their first login: log in with their ID number and the password you set, or run `make clean demo` for fresh data.\n", done)
	case done > 0:
		fmt.Fprintf(out, "(%d citizen(s) before them have completed their first login already and are not shown.)\n", done)
	}
	return nil
}

// demoLegal prints up to n legal persons of truth_legal.csv (with a
// contact phone) whose fused accounts are pending completion: the credit
// code and the contact phone to log in with on the 法人登录 tab, and the
// representative whose face step ③ asks for.
func demoLegal(ctx context.Context, q account.Querier, keys *pii.Keyring, truth io.Reader, out io.Writer, n int) error {
	r := csv.NewReader(truth)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("legal truth file: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range []string{"credit_code", "name", "rep_name", "rep_id_number", "phone"} {
		if _, ok := col[h]; !ok {
			return fmt.Errorf("legal truth file: no %s column", h)
		}
	}
	shown := 0
	for shown < n {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("legal truth file: %w", err)
		}
		code, phone := rec[col["credit_code"]], rec[col["phone"]]
		if phone == "" || rec[col["rep_id_number"]] == "" {
			continue
		}
		a, err := account.ByIDIndex(ctx, q, account.CreditCodeIndex(keys, code))
		if err != nil {
			return err
		}
		if a == nil || a.Status != schemas.StatusPendingCompletion {
			continue
		}
		if shown == 0 {
			fmt.Fprintln(out, "Fused legal persons still to do their first login on the 法人登录 tab (credit code, name, contact phone; representative for the face step):")
		}
		fmt.Fprintf(out, "  %s  %s  %s  (法定代表人 %s %s)\n", code, rec[col["name"]], phone, rec[col["rep_name"]], rec[col["rep_id_number"]])
		shown++
	}
	if shown == 0 {
		fmt.Fprintln(out, "No fused legal person pending completion found.")
	}
	return nil
}
