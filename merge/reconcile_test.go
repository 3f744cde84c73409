package merge

import (
	"testing"
	"time"

	"github.com/idfusion/idfusion/internal/account"
)

// TestReconcile: what a run changes in a stored account, decided without
// a database. A citizen's value (no department source) and a verified
// phone are never replaced; otherwise survivorship decides (names by
// department priority, contact data by recency); a value whose source is
// already the account's is not written again.
func TestReconcile(t *testing.T) {
	t.Parallel()
	id := func(n int64) *int64 { return &n }
	at := func(year int) *time.Time { tm := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); return &tm }
	dept := func(lineage int64, code string, priority int32, updated *time.Time) account.Source {
		return account.Source{Lineage: id(lineage), Dept: code, File: "f-" + code, Row: 1, Priority: priority, UpdatedAt: updated}
	}
	citizen := account.Source{} // no lineage: the citizen set it
	// The run's row: department "run" at priority 2, updated in 2025,
	// lineage 100.
	runSrc := Source{Dept: "run", File: "f-run", Row: 7, Priority: 2, UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}
	person := func(name, phone, address string) *Person {
		p := &Person{Rows: []*Row{{Name: name, Phone: phone, Address: address, Source: runSrc}}, nameRow: -1, phoneRow: -1, addressRow: -1}
		if name != "" {
			p.nameRow = 0
		}
		if phone != "" {
			p.phoneRow = 0
		}
		if address != "" {
			p.addressRow = 0
		}
		return p
	}
	runSources := sources{name: id(100), phone: id(100), address: id(100)}
	phone := []byte("stored-phone-bidx")

	cases := []struct {
		name              string
		stored            account.Stored
		run               *Person
		setName, setPhone bool
		setAddress        bool
	}{
		{name: "a more trusted department's name replaces the stored one",
			stored: account.Stored{Name: "张三", NameSource: dept(1, "low", 5, at(2020))},
			run:    person("张叁", "", ""), setName: true},
		{name: "a less trusted department's name does not",
			stored: account.Stored{Name: "张三", NameSource: dept(1, "high", 1, at(2020))},
			run:    person("张叁", "", "")},
		{name: "a newer record does not outrank a more trusted department's name",
			stored: account.Stored{Name: "张三", NameSource: dept(1, "high", 1, at(2010))},
			run:    person("张叁", "", "")},
		{name: "the citizen's name stays",
			stored: account.Stored{Name: "张三", NameSource: citizen},
			run:    person("张叁", "", "")},
		{name: "a name staff resolved (pinned) stays against a more trusted department",
			stored: account.Stored{Name: "张三", NameSource: dept(1, "low", 5, at(2020)), NamePinned: true},
			run:    person("张叁", "", "")},
		{name: "an empty stored name is filled",
			stored: account.Stored{Name: "", NameSource: citizen},
			run:    person("张三", "", ""), setName: true},
		{name: "a value whose source is the account's already is not written again",
			stored: account.Stored{Name: "张三", NameSource: dept(100, "run", 2, at(2025))},
			run:    person("张三", "", "")},
		{name: "a stored value whose lineage is gone ranks below every department",
			stored: account.Stored{Name: "张三", NameSource: account.Source{Lineage: id(9)}},
			run:    person("张叁", "", ""), setName: true},
		{name: "a newer department phone replaces an older unverified one",
			stored: account.Stored{PhoneBidx: phone, PhoneSource: dept(1, "high", 1, at(2020))},
			run:    person("", "13800000000", ""), setPhone: true},
		{name: "an older department phone does not",
			stored: account.Stored{PhoneBidx: phone, PhoneSource: dept(1, "high", 1, at(2026))},
			run:    person("", "13800000000", "")},
		{name: "a verified phone stays, whatever its source",
			stored: account.Stored{PhoneBidx: phone, PhoneVerified: true, PhoneSource: dept(1, "low", 9, at(2000))},
			run:    person("", "13800000000", "")},
		{name: "the citizen's phone stays",
			stored: account.Stored{PhoneBidx: phone, PhoneSource: citizen},
			run:    person("", "13800000000", "")},
		{name: "no stored phone: the department's is taken",
			stored: account.Stored{},
			run:    person("", "13800000000", ""), setPhone: true},
		{name: "a newer address replaces an older one",
			stored: account.Stored{Address: "海口市", AddressSource: dept(1, "high", 1, at(2020))},
			run:    person("", "", "三亚市"), setAddress: true},
		{name: "an older address does not",
			stored: account.Stored{Address: "海口市", AddressSource: dept(1, "low", 9, at(2026))},
			run:    person("", "", "三亚市")},
		{name: "the citizen's address stays",
			stored: account.Stored{Address: "海口市", AddressSource: citizen},
			run:    person("", "", "三亚市")},
		{name: "an empty run value changes nothing",
			stored: account.Stored{Name: "张三", NameSource: dept(1, "low", 9, at(2000))},
			run:    person("", "", "")},
		{name: "each field is decided on its own",
			stored: account.Stored{Name: "张三", NameSource: citizen, PhoneBidx: phone, PhoneSource: dept(1, "x", 1, at(2020)),
				Address: "海口市", AddressSource: dept(1, "x", 1, at(2026))},
			run: person("张叁", "13800000000", "三亚市"), setPhone: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.stored.ID = 42
			u, changed := reconcile(newExisting(&c.stored), c.run, runSources)
			if u.SetName != c.setName || u.SetPhone != c.setPhone || u.SetAddress != c.setAddress {
				t.Fatalf("set name/phone/address = %v/%v/%v, want %v/%v/%v", u.SetName, u.SetPhone, u.SetAddress, c.setName, c.setPhone, c.setAddress)
			}
			if want := c.setName || c.setPhone || c.setAddress; changed != want {
				t.Fatalf("changed = %v, want %v", changed, want)
			}
			if !changed {
				return
			}
			if u.ID != 42 || u.Was != &c.stored {
				t.Errorf("update of account %d (read as %p), want 42 (%p)", u.ID, u.Was, &c.stored)
			}
			for _, f := range []struct {
				set bool
				src *int64
			}{{u.SetName, u.NameSource}, {u.SetPhone, u.PhoneSource}, {u.SetAddress, u.AddressSource}} {
				if f.set && (f.src == nil || *f.src != 100) {
					t.Errorf("a value set without the run's source: %v", f.src)
				}
			}
			if u.SetName && u.Name != c.run.Name().Value || u.SetPhone && u.Phone != c.run.Phone().Value || u.SetAddress && u.Address != c.run.Address().Value {
				t.Errorf("update %+v does not carry the run's values", u)
			}
		})
	}
}
