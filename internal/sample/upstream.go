package sample

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// upstreamCitizen is one person the development stand-in of an upstream
// identity provider (国家政务服务平台 and the like, cmd/upstreamdev) knows:
// upstream_citizens.json, the shape of upstreamdev.Citizen.
type upstreamCitizen struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone,omitempty"`
	// InExports tells the demo's reader whether the departments hold the
	// person (an account to sign in to) or not (the provider's login
	// registers one).
	InExports bool `json:"in_exports"`
}

// upstreamKnown and upstreamNew are how many persons upstream_citizens.json
// lists with an account from the exports and without one.
const (
	upstreamKnown = 3
	upstreamNew   = 2
)

// writeUpstreamCitizens writes upstream_citizens.json: the first persons
// whose rows were accepted, as the merge makes them, and persons no
// department holds (generated past the exports' last person, so their ID
// numbers are valid and unused).
func (g *gen) writeUpstreamCitizens(dir string, people int, chosen []int, all bool) error {
	var out []upstreamCitizen
	for i := 0; i < people && len(out) < upstreamKnown; i++ {
		gd := g.goldenOf(g.person(i), chosen, all)
		if gd.accepted && gd.name != "" {
			out = append(out, upstreamCitizen{Name: gd.name, IDNumber: gd.id, Phone: gd.phone, InExports: true})
		}
	}
	for k := range upstreamNew {
		p := g.person(people + k)
		out = append(out, upstreamCitizen{Name: p.name, IDNumber: p.id, Phone: p.phones[0]})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "upstream_citizens.json"), append(b, '\n'), 0o644)
}
