package database_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/internal/dbtest"
)

// distribution is the scale-out plan of docs/scale-out.md in one place: how
// each table of the schema would be placed on a Citus cluster. Every table
// is in exactly one of its three lists.
var distribution = struct {
	// distributed: table → its distribution column and colocation group
	// (the table whose shards it follows). The column may not exist yet:
	// that is a known exception below until a migration adds it.
	distributed map[string]placement
	// reference: small tables copied to every node; a distributed table may
	// reference them by foreign key.
	reference []string
	// local: coordinator-only tables (no foreign key may point to them from
	// a distributed table).
	local []string
}{
	distributed: map[string]placement{
		// the accounts' group: rows found through an account, sharded by
		// the ID number's blind index.
		"account":             {"id_bidx", "account"},
		"account_lineage":     {"account_bidx", "account"},
		"merge_conflict":      {"account_bidx", "account"},
		"staff_proposal":      {"account_bidx", "account"}, // 042
		"account_address":     {"account_bidx", "account"},
		"oidc_consent":        {"account_bidx", "account"},
		"oidc_token":          {"account_bidx", "account"},
		"oidc_logout_outbox":  {"account_bidx", "account"},
		"inbox_message":       {"account_bidx", "account"},
		"upstream_link":       {"account_bidx", "account"},
		"auth_audit":          {"account_bidx", "account"},
		"agent_authorization": {"legal_account_bidx", "account"},
		"agent_search_try":    {"legal_account_bidx", "account"},

		// the sessions' group: rows found through the browser's session
		// cookie on every request, sharded by the session token's hash.
		"auth_session":            {"id_hash", "auth_session"},
		"completion_flow":         {"session_hash", "auth_session"},
		"registration_flow":       {"session_hash", "auth_session"},
		"legal_registration_flow": {"session_hash", "auth_session"},
		"recovery_flow":           {"session_hash", "auth_session"},
		"phone_change_flow":       {"session_hash", "auth_session"},
		"upstream_login":          {"session_hash", "auth_session"},
		"oidc_session_client":     {"session_hash", "auth_session"},
		"face_challenge":          {"session_hash", "auth_session"},

		// tables joined with nothing: each its own group, sharded by the
		// key it is found by.
		"import_reject":     {"row_num", "import_reject"},
		"sms_code":          {"phone_bidx", "sms_code"},
		"sms_outbox":        {"id", "sms_outbox"},
		"captcha":           {"id", "captcha"},
		"captcha_free_send": {"net", "captcha_free_send"},
		"oidc_refresh_hash": {"hash", "oidc_refresh_hash"},
		// an account's id, unique nationally (036): the lookup table
		// of the ids, by the id.
		"account_key": {"id", "account_key"},
		// an authorization request exists before the browser has a
		// session and is found by its id (its code through
		// oidc_auth_code): its own group, by its id.
		"oidc_auth_request": {"id", "oidc_auth_request"},
		"oidc_auth_code":    {"code_hash", "oidc_auth_code"},

		// usernames, unique across the country and found by themselves:
		// lookup tables sharded by the lowercased username (034).
		"account_username":      {"username_lower", "account_username"},
		"registration_username": {"username_lower", "account_username"},
		"upstream_subject":      {"subject_hash", "upstream_subject"},
		"agent_link":            {"link_hash", "agent_link"},
	},
	reference: []string{
		"department", "import_run", "source_file", "import_file",
		"oidc_client", "oidc_signing_key", "export_audit", "purge_audit",
		"staff", "staff_session",
	},
	local: []string{"schema_migration", "auth_audit_head"},
}

type placement struct {
	column string // the distribution column
	group  string // the distributed table it is colocated with (itself for an anchor)
}

// TestDistributionRules checks the schema against the scale-out plan (see
// distribution and docs/scale-out.md): every table classified; each
// distributed table has its distribution column, NOT NULL; every unique
// constraint and unique index of a distributed table includes it; a foreign
// key between distributed tables stays in one colocation group and pairs
// the two distribution columns; a foreign key from a distributed table
// points to a reference table, and none points from a reference or local
// table to a distributed one. The schema keeps them all (migrations 031-035
// fixed the last): a violation is fixed, not listed.
func TestDistributionRules(t *testing.T) {
	t.Parallel()
	tx := dbtest.NewTx(t)
	got := distributionViolations(t, func(sql string, each func(scan func(...any) error) error, args ...any) {
		rows, err := tx.Query(context.Background(), sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows.Scan); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})
	for _, v := range got {
		t.Errorf("violation %q: %s (see docs/scale-out.md §3)", v.key, v.detail)
	}
}

type violation struct {
	key    string // "rule table.object"
	detail string
}

// distributionViolations reads pg_catalog through query (its scan receives
// rows.Scan) and returns every violation of the rules, sorted by key.
func distributionViolations(t *testing.T, query func(sql string, each func(scan func(...any) error) error, args ...any)) []violation {
	t.Helper()
	var out []violation
	add := func(key, detail string) { out = append(out, violation{key: key, detail: detail}) }
	class := map[string]string{}
	for name := range distribution.distributed {
		class[name] = "distributed"
	}
	for _, list := range []struct {
		name   string
		tables []string
	}{{"reference", distribution.reference}, {"local", distribution.local}} {
		for _, name := range list.tables {
			if c, ok := class[name]; ok {
				out = append(out, violation{key: fmt.Sprintf("table %s is both %s and %s", name, c, list.name)})
			}
			class[name] = list.name
		}
	}
	for name, p := range distribution.distributed {
		if a, ok := distribution.distributed[p.group]; !ok || a.group != p.group {
			out = append(out, violation{key: fmt.Sprintf("table %s: its group %s is not a distributed table anchoring its own group", name, p.group)})
		}
	}

	// The tables, and for each distributed one its column.
	type column struct {
		num     int16
		typ     string
		notNull bool
	}
	cols := map[string]column{}
	seen := map[string]bool{}
	query(`
		SELECT c.relname, coalesce(a.attnum, 0), coalesce(format_type(a.atttypid, a.atttypmod), ''), coalesce(a.attnotnull, false)
		FROM pg_class c
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1::jsonb ->> c.relname AND NOT a.attisdropped
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
		func(scan func(...any) error) error {
			var name string
			var c column
			if err := scan(&name, &c.num, &c.typ, &c.notNull); err != nil {
				return err
			}
			seen[name] = true
			cols[name] = c
			return nil
		}, distColumnsJSON())
	for name := range seen {
		if _, ok := class[name]; !ok {
			out = append(out, violation{key: fmt.Sprintf("table %s is in no list of distribution (classify it: distributed, reference or local, and say so in docs/scale-out.md)", name)})
		}
	}
	for name := range class {
		if !seen[name] {
			out = append(out, violation{key: fmt.Sprintf("table %s of distribution does not exist", name)})
		}
	}
	for name, p := range distribution.distributed {
		c, ok := cols[name]
		if !seen[name] {
			continue
		}
		if !ok || c.num == 0 {
			add("column "+name+"."+p.column, "the distribution column does not exist")
			continue
		}
		if !c.notNull {
			add("null "+name+"."+p.column, "the distribution column is not NOT NULL")
		}
		if a, ok := cols[p.group]; ok && a.num != 0 && a.typ != c.typ {
			add("type "+name+"."+p.column, fmt.Sprintf("type %s, its group's column is %s", c.typ, a.typ))
		}
	}

	// Unique constraints and unique indexes (primary keys included).
	query(`
		SELECT t.relname, i.relname, x.indkey::int2[]
		FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND x.indisunique`,
		func(scan func(...any) error) error {
			var table, index string
			var keys []int16
			if err := scan(&table, &index, &keys); err != nil {
				return err
			}
			p, ok := distribution.distributed[table]
			if !ok {
				return nil
			}
			c := cols[table]
			if c.num == 0 || !slices.Contains(keys, c.num) {
				add("unique "+table+"."+index, "the unique index does not include "+p.column)
			}
			return nil
		})

	// Foreign keys.
	query(`
		SELECT c.conname, t.relname, f.relname, c.conkey, c.confkey
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND c.contype = 'f'`,
		func(scan func(...any) error) error {
			var name, child, parent string
			var keys, fkeys []int16
			if err := scan(&name, &child, &parent, &keys, &fkeys); err != nil {
				return err
			}
			key := "fk " + child + "." + name
			cp, childDist := distribution.distributed[child]
			pp, parentDist := distribution.distributed[parent]
			switch {
			case childDist && parentDist:
				if cp.group != pp.group {
					add(key, fmt.Sprintf("%s (group %s) → %s (group %s): two colocation groups", child, cp.group, parent, pp.group))
					return nil
				}
				cc, pc := cols[child], cols[parent]
				for i := range keys {
					if cc.num != 0 && pc.num != 0 && keys[i] == cc.num && fkeys[i] == pc.num {
						return nil
					}
				}
				add(key, fmt.Sprintf("%s → %s does not pair %s with %s", child, parent, cp.column, pp.column))
			case childDist:
				if class[parent] != "reference" {
					add(key, fmt.Sprintf("%s → %s: a distributed table refers to a %s table", child, parent, class[parent]))
				}
			case parentDist:
				add(key, fmt.Sprintf("%s (%s) → %s: a distributed table referred to from outside", child, class[child], parent))
			}
			return nil
		})
	slices.SortFunc(out, func(a, b violation) int { return strings.Compare(a.key, b.key) })
	return out
}

// distColumnsJSON is {"table": "column", …} of the distributed tables.
func distColumnsJSON() string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for name, p := range distribution.distributed {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:%q", name, p.column)
	}
	b.WriteString("}")
	return b.String()
}

// TestDistributionDoc: the DDL of docs/scale-out.md §2 is the Go table
// distribution, table for table (column, colocation), and every section a
// known exception names exists there.
func TestDistributionDoc(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/scale-out.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`create_distributed_table\('(\w+)', +'(\w+)'(?:, +colocate_with => '(\w+)')?\)`).FindAllStringSubmatch(doc, -1) {
		group := m[3]
		if group == "" {
			group = m[1]
		}
		got[m[1]] = "distributed " + m[2] + " " + group
	}
	for _, m := range regexp.MustCompile(`create_reference_table\('(\w+)'\)`).FindAllStringSubmatch(doc, -1) {
		got[m[1]] = "reference"
	}
	want := map[string]string{}
	for name, p := range distribution.distributed {
		want[name] = "distributed " + p.column + " " + p.group
	}
	for _, name := range distribution.reference {
		want[name] = "reference"
	}
	// colocate_with => 'none' is a group of its own.
	for name, v := range got {
		if strings.HasSuffix(v, " none") {
			got[name] = strings.TrimSuffix(v, "none") + name
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/scale-out.md §2 against distribution (-Go +doc):\n%s", diff)
	}
	for _, name := range distribution.local {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("docs/scale-out.md does not name the local table %s", name)
		}
	}
}
