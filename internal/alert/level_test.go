// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want alert.Level
	}{
		{"informational", alert.LevelInformational}, {"info", alert.LevelInformational}, {" Low ", alert.LevelLow},
		{"MEDIUM", alert.LevelMedium}, {"high", alert.LevelHigh}, {"critical", alert.LevelCritical},
	} {
		if got, err := alert.ParseLevel(c.in); err != nil || got != c.want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "severe", "hi", "critical!"} {
		if _, err := alert.ParseLevel(in); !fault.Is(err, fault.Invalid) {
			t.Errorf("ParseLevel(%q): got %v, want Invalid", in, err)
		}
	}
	for i, l := range alert.Levels {
		for j, o := range alert.Levels {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := l.Compare(o); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", l, o, got, want)
			}
			if got := l.AtLeast(o); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", l, o, got)
			}
		}
	}
	if alert.Level("x").Valid() || alert.Level("x").AtLeast(alert.LevelInformational) {
		t.Error("an invalid level is valid or ranks at least informational")
	}
}

func TestAttack(t *testing.T) {
	t.Parallel()
	tags := []string{"attack.execution", "attack.t1059.001", "attack.T1059", "attack.defense_evasion", "attack.t1059.001",
		"attack.g0032", "attack.s0002", "cve.2021-44228", "attack.t105", "attack.t1059.01", "attack.t10590", "attack.",
		"attack.initial-access", "ATTACK.Persistence", "detection.threat-hunting", "attack.ds0005", "tlp.amber"}
	if diff := cmp.Diff([]string{"T1059.001", "T1059"}, alert.Techniques(tags)); diff != "" {
		t.Errorf("Techniques (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"initial-access", "execution", "persistence", "defense-evasion"}, alert.TacticsOf(tags)); diff != "" {
		t.Errorf("TacticsOf (-want +got):\n%s", diff)
	}
}

// TestTacticsCoverATTACK: every tactic of the ATT&CK Enterprise bundle in
// ../shared/data is known.
func TestTacticsCoverATTACK(t *testing.T) {
	t.Parallel()
	f, err := os.Open(shareddata.Path(t, "mitre-attack/enterprise-attack-18.1-from-mitre-cti.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []struct {
			Type       string `json:"type"`
			ShortName  string `json:"x_mitre_shortname"`
			Revoked    bool   `json:"revoked"`
			Deprecated bool   `json:"x_mitre_deprecated"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(z).Decode(&bundle); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range bundle.Objects {
		if o.Type != "x-mitre-tactic" || o.Revoked || o.Deprecated {
			continue
		}
		n++
		if got, ok := alert.Tactic("attack." + o.ShortName); !ok || got != o.ShortName {
			t.Errorf("Tactic(attack.%s) = %q, %v; want it known", o.ShortName, got, ok)
		}
	}
	if n < 14 {
		t.Errorf("the bundle has %d tactics; want the 14 of Enterprise", n)
	}
}

// TestSigmaTags: every ATT&CK tag in the SigmaHQ rules is a technique, a
// tactic, a group (gNNNN), software (sNNNN) or a data source (dsNNNN).
func TestSigmaTags(t *testing.T) {
	t.Parallel()
	root := shareddata.Path(t, "sigma")
	tagRe := regexp.MustCompile(`(?m)^\s+-\s+(attack\.[^\s#]+)`)
	other := regexp.MustCompile(`^attack\.(g|s|ds)\d{4}$`)
	seen := map[string]bool{}
	var techniques, tactics int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") || !strings.Contains(p, "rules") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range tagRe.FindAllStringSubmatch(string(b), -1) {
			tag := strings.Trim(m[1], `'"`)
			if seen[tag] {
				continue
			}
			seen[tag] = true
			_, isTech := alert.Technique(tag)
			_, isTactic := alert.Tactic(tag)
			switch {
			case isTech:
				techniques++
			case isTactic:
				tactics++
			case !other.MatchString(strings.ToLower(tag)):
				t.Errorf("%s: tag %q is neither technique, tactic, group, software nor data source", p, tag)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if techniques < 300 || tactics < 14 || !slices.Contains(alert.Tactics, "stealth") {
		t.Errorf("found %d distinct techniques and %d tactics in the SigmaHQ rules; want hundreds and every tactic", techniques, tactics)
	}
	t.Logf("SigmaHQ rules: %d distinct ATT&CK tags, %d techniques, %d tactics", len(seen), techniques, tactics)
}
