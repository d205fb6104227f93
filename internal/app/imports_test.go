// SPDX-License-Identifier: Apache-2.0

package app

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// STYLE.md §2: which way imports point. Every package under internal/ is
// placed here; a new package fails the test until someone decides its layer.
const module = "github.com/koban-csirt/koban/"

var layers = map[string]int{
	// L0 leaves: the standard library and third-party libraries only.
	"internal/event": 0, "internal/shareddata": 0, "internal/fault": 0, "internal/audit": 0, "internal/i18n": 0, "internal/config": 0,
	// L1 domain.
	"internal/auth": 1, "internal/asset": 1, "internal/vuln": 1, "internal/intel": 1, "internal/incident": 1,
	"internal/comms": 1, "internal/reportdesk": 1,
	"internal/hunt": 1, "internal/report": 1, "internal/train": 1, "internal/respond": 1, "internal/stix": 1,
	"internal/evtx": 1, "internal/sigma": 1, "internal/search": 1,
	// L2 pipeline.
	"internal/intake": 2, "internal/intake/syslog": 2, "internal/intake/httpin": 2, "internal/intake/file": 2,
	"internal/normalize": 2, "internal/detect": 2, "internal/detect/baseline": 2, "internal/detect/rulepack": 2, "internal/alert": 2,
	// L3 adapters.
	"internal/store": 3, "internal/store/storetest": 3, "internal/eventstore": 3, "internal/eventstore/duckdb": 3,
	"internal/eventstore/clickhouse": 3, "internal/journal": 3, "internal/notify": 3, "internal/web": 3, "internal/landing": 3, "internal/golden": 3,
	// Wiring.
	"internal/app": 4,
}

// domainMay lists the other domain packages each domain package may import
// ("*": any). A domain package missing here imports no other.
var domainMay = map[string][]string{
	"internal/vuln":       {"internal/asset"},
	"internal/intel":      {"internal/asset", "internal/stix"},
	"internal/incident":   {"internal/asset", "internal/vuln", "internal/intel"},
	"internal/comms":      {"internal/incident"},
	"internal/reportdesk": {"internal/incident"},
	"internal/hunt":       {"*"},
	"internal/report":     {"*"},
}

// stages orders the pipeline: a stage may use types of earlier stages only.
var stages = []string{"internal/intake", "internal/normalize", "internal/detect", "internal/alert"}

// adapterOf names an adapter family: a package and its sub-packages count as
// one (store and store/storetest).
func adapterOf(p string) string {
	for _, a := range []string{"internal/store", "internal/eventstore", "internal/journal", "internal/notify", "internal/web", "internal/landing", "internal/golden"} {
		if p == a || strings.HasPrefix(p, a+"/") {
			return a
		}
	}
	return p
}

// stageOf returns the index in stages of the stage p belongs to.
func stageOf(p string) int {
	for i, s := range stages {
		if p == s || strings.HasPrefix(p, s+"/") {
			return i
		}
	}
	return -1
}

// checkEdge returns why from may not import to, or "".
func checkEdge(from, to string) string {
	if !strings.HasPrefix(to, "internal/") {
		return "" // standard library, third parties, tools
	}
	if !strings.HasPrefix(from, "internal/") {
		if from == "cmd/koban" && to == "internal/app" {
			return ""
		}
		return "outside internal/, only cmd/koban may import koban, and only internal/app"
	}
	lf, okf := layers[from]
	lt, okt := layers[to]
	switch {
	case !okf:
		return from + " has no layer in imports_test.go"
	case !okt:
		return to + " has no layer in imports_test.go"
	case lf == 0:
		return "leaf packages import no koban package"
	case to == "internal/config" && from != "internal/app":
		return "only internal/app reads the configuration; pass a package its own section"
	case lt > lf:
		return "imports a higher layer"
	case lt == 3 && from != "internal/app" && adapterOf(from) != adapterOf(to):
		return "only internal/app imports adapters (D1), and adapters never import each other"
	case lf == 1 && lt == 1:
		if may := domainMay[from]; !slices.Contains(may, "*") && !slices.Contains(may, to) {
			return "a domain package imports other domain packages only as domainMay (STYLE.md §2) allows"
		}
	case lf == 2 && lt == 2:
		// A stage's sub-packages (intake/syslog) belong to it and may use
		// one another.
		if stageOf(to) > stageOf(from) {
			return "a pipeline stage may use earlier stages only"
		}
	}
	return ""
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

func TestImportDirections(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	n := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		from := strings.TrimPrefix(p.ImportPath, module)
		if strings.HasPrefix(from, "scripts/") || strings.HasPrefix(from, "bench/") {
			continue // tools, not koban
		}
		n++
		if strings.HasPrefix(from, "internal/") {
			if _, ok := layers[from]; !ok {
				t.Errorf("%s has no layer in imports_test.go: decide where it sits (STYLE.md §2)", from)
			}
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := strings.TrimPrefix(imp, module)
			if why := checkEdge(from, to); why != "" {
				t.Errorf("%s imports %s: %s", from, to, why)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	if n < 8 {
		t.Errorf("go list found only %d koban packages", n)
	}
}

// TestImportRulesCatchForbiddenEdges proves the checker fails on the edges
// STYLE.md forbids, and passes the ones it allows.
func TestImportRulesCatchForbiddenEdges(t *testing.T) {
	t.Parallel()
	forbidden := [][2]string{
		{"internal/store", "internal/web"},      // adapter → adapter
		{"internal/web", "internal/store"},      // adapter → adapter
		{"internal/auth", "internal/store"},     // domain → adapter
		{"internal/auth", "internal/incident"},  // auth imports no other domain package
		{"internal/vuln", "internal/incident"},  // vuln may import asset only
		{"internal/fault", "internal/audit"},    // leaves import nothing of ours
		{"internal/event", "internal/detect"},   // leaf → pipeline
		{"internal/detect", "internal/alert"},   // earlier stage → later stage
		{"internal/normalize", "internal/app"},  // anything → app
		{"internal/web", "internal/config"},     // config is read by app only
		{"internal/auth", "internal/newthing"},  // unplaced package
		{"internal/newthing", "internal/fault"}, // unplaced package
		{"cmd/koban", "internal/store"},         // main wires nothing
		{"internal/incident", "internal/train"}, // not among incident's allowed imports
		{"internal/store/storetest", "internal/web"},
	}
	for _, e := range forbidden {
		if checkEdge(e[0], e[1]) == "" {
			t.Errorf("checkEdge(%s → %s) allowed a forbidden edge", e[0], e[1])
		}
	}
	allowed := [][2]string{
		{"internal/app", "internal/store"}, {"internal/app", "internal/web"}, {"internal/app", "internal/config"},
		{"internal/web", "internal/auth"}, {"internal/store", "internal/auth"}, {"internal/store", "internal/audit"},
		{"internal/store/storetest", "internal/store"}, {"internal/incident", "internal/asset"},
		{"internal/alert", "internal/detect"}, {"internal/detect", "internal/sigma"}, {"internal/report", "internal/incident"},
		{"cmd/koban", "internal/app"}, {"internal/auth", "internal/fault"},
	}
	for _, e := range allowed {
		if why := checkEdge(e[0], e[1]); why != "" {
			t.Errorf("checkEdge(%s → %s) refused an allowed edge: %s", e[0], e[1], why)
		}
	}
}
