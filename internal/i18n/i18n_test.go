// SPDX-License-Identifier: Apache-2.0

package i18n

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func load(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestCatalogsMatch(t *testing.T) {
	c := load(t)
	en, ja := c.Keys(English), c.Keys(Japanese)
	for _, k := range en {
		if !c.Has(Japanese, k) {
			t.Errorf("%s is in en.yaml but not in ja.yaml", k)
		} else if a, b := c.Args(English, k), c.Args(Japanese, k); !slices.Equal(a, b) {
			t.Errorf("%s: English uses arguments %v, Japanese %v", k, a, b)
		}
	}
	for _, k := range ja {
		if !c.Has(English, k) {
			t.Errorf("%s is in ja.yaml but not in en.yaml", k)
		}
	}
	if len(en) < 100 {
		t.Errorf("only %d messages: the catalogue did not load", len(en))
	}
}

func TestT(t *testing.T) {
	c := load(t)
	tests := []struct {
		lang Lang
		id   string
		args []any
		want string
	}{
		{English, "signin.title", nil, "Sign in"},
		{Japanese, "signin.title", nil, "サインイン"},
		{English, "signin.locked", []any{"count", 1}, "Too many failed attempts. Try again in 1 minute."},
		{English, "signin.locked", []any{"count", 5}, "Too many failed attempts. Try again in 5 minutes."},
		{Japanese, "signin.locked", []any{"count", 1}, "失敗が続いたため一時的にロックしています。1 分後にもう一度お試しください。"},
		{English, "user.name_taken", []any{"name", "<b>"}, `The user name "<b>" is already taken.`},
		{English, "user.name_taken", nil, `The user name "{name}" is already taken.`},
		{English, "no.such.message", nil, "[no.such.message]"},
	}
	for _, tt := range tests {
		if got := c.T(tt.lang, tt.id, tt.args...); got != tt.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tt.lang, tt.id, tt.args, got, tt.want)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := map[string]string{"a {x} b": "a |{x}| b", "{{literal}": "{literal}", "{": "{", "{}": "{}", "": "", "x{y": "x{y"}
	for in, want := range tests {
		var parts []string
		for _, p := range compile(in) {
			if p.arg {
				parts = append(parts, "{"+p.text+"}")
			} else {
				parts = append(parts, p.text)
			}
		}
		if got := strings.Join(parts, "|"); got != want {
			t.Errorf("compile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := map[string]Lang{"": English, "ja": Japanese, "ja-JP,ja;q=0.9,en;q=0.8": Japanese, "en-US,en;q=0.9,ja;q=0.8": English,
		"fr-FR,ja;q=0.5": Japanese, "de": English, "garbage;;;": English}
	for in, want := range tests {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	for name, in := range map[string]string{
		"list":            "a: [1, 2]\n",
		"plural no other": "a:\n  one: x\n",
		"syntax":          "a: [\n",
	} {
		if _, err := parse([]byte(in)); err == nil {
			t.Errorf("parse(%s): no error", name)
		}
	}
}

// Message ids in koban's code: the message argument of faults, the titles
// and notices handlers pass, and the literal ids in templates. Ids built at
// run time (nav.<key>, role.<role> …) are checked by the web tests.
var idPatterns = []*regexp.Regexp{
	regexp.MustCompile(`fault\.New\(fault\.\w+, "([a-z0-9_.]+)"`),
	regexp.MustCompile(`fault\.InvalidField\("[^"]*", "([a-z0-9_.]+)"`),
	regexp.MustCompile(`fault\.Wrap\(fault\.\w+, \w+, "([a-z0-9_.]+)"`),
	regexp.MustCompile(`Msg: "([a-z0-9_.]+)"`),
	regexp.MustCompile(`s\.page\(r, "[a-z_]*", "([a-z0-9_.]+)"\)`),
	regexp.MustCompile(`redirectDone\(w, r, "[^"]*", "([a-z0-9_]+)"\)`),
	regexp.MustCompile(`\.T "([a-z0-9_.]+)"`),
}

func TestMessageIDsInCodeExist(t *testing.T) {
	c := load(t)
	root := filepath.Join("..")
	found := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, re := range idPatterns {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				id := m[1]
				if strings.Contains(re.String(), "redirectDone") {
					id = "done." + id
				}
				found++
				if !c.Has(English, id) {
					t.Errorf("%s: message %q is not in the catalogue", p, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 100 {
		t.Errorf("found only %d message ids in the code: the patterns no longer match it", found)
	}
}
