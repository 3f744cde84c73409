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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/authsvc"
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
	agentBase := fs.String("seed-agent", "", "with --legal-truth: the service's base URL; the first legal person printed authorizes the first citizen printed as its agent (经办人), and the link to accept is printed")
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
		citizen, err := demoCitizens(ctx, pool, keys, f, out, *n)
		if err != nil || *legalTruth == "" {
			return err
		}
		lf, err := os.Open(*legalTruth)
		if err != nil {
			return err
		}
		defer lf.Close()
		legal, err := demoLegal(ctx, pool, keys, lf, out, *n)
		if err != nil || *agentBase == "" || citizen == nil || legal == nil {
			return err
		}
		return demoAgent(ctx, pool, citizen, legal, *agentBase, out)
	})
}

// demoCitizens prints up to n citizens of the truth file (with a phone)
// whose accounts are pending completion, then says how many are done.
func demoCitizens(ctx context.Context, q account.Querier, keys *pii.Keyring, truth io.Reader, out io.Writer, n int) (first *demoAccount, err error) {
	r := csv.NewReader(truth)
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil { // the header
		return nil, fmt.Errorf("truth file: %w", err)
	}
	shown, done := 0, 0
	for shown < n {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("truth file: %w", err)
		}
		if len(rec) < 3 || rec[2] == "" {
			continue
		}
		a, err := account.ByIDIndex(ctx, q, account.IDIndex(keys, account.NormalizeID(rec[0])))
		if err != nil {
			return nil, err
		}
		switch {
		case a == nil:
		case a.Status == schemas.StatusPendingCompletion:
			if shown == 0 {
				fmt.Fprintln(out, "Fused citizens still to do their first login (ID number, name, phone on record):")
			}
			fmt.Fprintf(out, "  %s  %s  %s\n", rec[0], rec[1], rec[2])
			if first == nil {
				first = &demoAccount{id: a.ID, name: rec[1], key: rec[0]}
			}
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
	return first, nil
}

// demoLegal prints up to n legal persons of truth_legal.csv (with a
// contact phone) whose fused accounts are pending completion: the credit
// code and the contact phone to log in with on the 法人登录 tab, and the
// representative whose face step ③ asks for.
func demoLegal(ctx context.Context, q account.Querier, keys *pii.Keyring, truth io.Reader, out io.Writer, n int) (first *demoAccount, err error) {
	r := csv.NewReader(truth)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("legal truth file: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range []string{"credit_code", "name", "rep_name", "rep_id_number", "phone"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("legal truth file: no %s column", h)
		}
	}
	shown := 0
	for shown < n {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("legal truth file: %w", err)
		}
		code, phone := rec[col["credit_code"]], rec[col["phone"]]
		if phone == "" || rec[col["rep_id_number"]] == "" {
			continue
		}
		a, err := account.ByIDIndex(ctx, q, account.CreditCodeIndex(keys, code))
		if err != nil {
			return nil, err
		}
		if a == nil || a.Status != schemas.StatusPendingCompletion {
			continue
		}
		if shown == 0 {
			fmt.Fprintln(out, "Fused legal persons still to do their first login on the 法人登录 tab (credit code, name, contact phone; representative for the face step):")
		}
		fmt.Fprintf(out, "  %s  %s  %s  (法定代表人 %s %s)\n", code, rec[col["name"]], phone, rec[col["rep_name"]], rec[col["rep_id_number"]])
		if first == nil {
			first = &demoAccount{id: a.ID, name: rec[col["name"]], key: code}
		}
		shown++
	}
	if shown == 0 {
		fmt.Fprintln(out, "No fused legal person pending completion found.")
	}
	return first, nil
}

// demoAccount is an account the demo printed: its id, name and key (the
// ID number or the credit code).
type demoAccount struct {
	id        int64
	name, key string
}

// demoAgent has the demo's legal person authorize the demo's citizen as
// its agent (经办人), as 授权 does, and prints the link to accept.
func demoAgent(ctx context.Context, pool *pgxpool.Pool, citizen, legal *demoAccount, baseURL string, out io.Writer) error {
	link, err := authsvc.SeedDemoAgent(ctx, pool, legal.id, citizen.id, baseURL, time.Now())
	if err != nil {
		return err
	}
	if link == "" {
		fmt.Fprintf(out, "%s is authorized as an agent (经办人) of %s already.\n", citizen.name, legal.name)
		return nil
	}
	fmt.Fprintf(out, "Agent (经办人) to try: %s (%s) is authorized by %s; after the first login, open within 24 hours\n  %s\nto 接受, then choose 个人身份 or the enterprise at each login (切换 in the header).\n",
		citizen.name, citizen.key, legal.name, link)
	return nil
}
