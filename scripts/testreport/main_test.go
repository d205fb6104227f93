package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runFixture(t *testing.T, name string, opts options) (summary, string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	s, err := run(f, &out, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return s, out.String()
}

var strictAll = options{strict: true, race: true, requirePostgres: true, requireBrowser: true}

// lastLine is what CI reads: "tests: N passed, N failed, N skipped".
var lastLine = regexp.MustCompile(`^tests: \d+ passed, \d+ failed, \d+ skipped$`)

func checkCounts(t *testing.T, s summary, passed, failed, skipped int) {
	t.Helper()
	if s.Passed != passed || s.Failed != failed || s.Skipped != skipped {
		t.Errorf("got %d passed, %d failed, %d skipped; want %d, %d, %d",
			s.Passed, s.Failed, s.Skipped, passed, failed, skipped)
	}
}

func checkContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q; output:\n%s", w, out)
		}
	}
}

func checkLastLine(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if l := lines[len(lines)-1]; !lastLine.MatchString(l) {
		t.Errorf("last line %q is not of the form %s", l, lastLine)
	}
}

func TestAllPass(t *testing.T) {
	s, out := runFixture(t, "pass.jsonl", strictAll)
	checkCounts(t, s, 9, 0, 1)
	if s.SQLitePassed != 3 || s.PostgresPassed != 2 || s.BrowserPassed != 3 {
		t.Errorf("conformance sqlite %d, postgres %d, browser %d; want 3, 2, 3",
			s.SQLitePassed, s.PostgresPassed, s.BrowserPassed)
	}
	if s.PkgOK != 2 || s.PkgFailed != 0 || s.PkgNoTests != 1 {
		t.Errorf("packages ok %d failed %d no tests %d; want 2, 0, 1", s.PkgOK, s.PkgFailed, s.PkgNoTests)
	}
	if got := s.exitCode(); got != 0 {
		t.Errorf("exit code %d, want 0; reasons %q", got, s.Reasons)
	}
	checkContains(t, out,
		"ok   github.com/koban-csirt/koban/internal/store 1.23s\n",
		"ok   github.com/koban-csirt/koban/internal/web 2.50s\n",
		"?    github.com/koban-csirt/koban/cmd/koban [no test files]\n",
		"store conformance: sqlite 3 passed, postgres 2 passed\n",
		"browser: 3 passed\n",
		"race detector: on\n",
		// strict mode shows what skipped, and why
		"SKIP github.com/koban-csirt/koban/internal/web TestHandlerLegacyExport: web_test.go:88: legacy export is not wired up yet\n",
		"tests: 9 passed, 0 failed, 1 skipped\n",
	)
	// Passing tests' output is not repeated.
	if strings.Contains(out, "--- PASS") || strings.Contains(out, "=== RUN") {
		t.Errorf("output shows passing tests' output:\n%s", out)
	}
	checkLastLine(t, out)
}

func TestFailedSubtest(t *testing.T) {
	s, out := runFixture(t, "fail.jsonl", options{})
	// The failing parent counts through its failed leaf only.
	checkCounts(t, s, 2, 1, 0)
	if got := s.exitCode(); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
	checkContains(t, out,
		"=== RUN   TestParse/bad_date\n    parse_test.go:42: got 2024-13-01, want an error\n--- FAIL: TestParse/bad_date (0.00s)\n",
		"FAIL github.com/koban-csirt/koban/internal/ticket 0.01s\n",
		"    github.com/koban-csirt/koban/internal/ticket TestParse/bad_date\n",
	)
	checkLastLine(t, out)
}

func TestBuildFailure(t *testing.T) {
	s, out := runFixture(t, "buildfail.jsonl", options{})
	checkCounts(t, s, 1, 1, 0)
	if s.BuildFailures != 1 || s.PkgFailed != 1 || s.PkgOK != 1 {
		t.Errorf("build failures %d, failed packages %d, ok packages %d; want 1, 1, 1",
			s.BuildFailures, s.PkgFailed, s.PkgOK)
	}
	if got := s.exitCode(); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
	checkContains(t, out,
		"internal/mail/mail.go:17:9: undefined: parseHeader\n",
		"FAIL github.com/koban-csirt/koban/internal/mail [build failed]\n",
		"tests: 1 passed, 1 failed, 0 skipped\n",
	)
	checkLastLine(t, out)
}

func TestStrictZeroPostgres(t *testing.T) {
	t.Run("strict", func(t *testing.T) {
		s, out := runFixture(t, "strict_zero.jsonl", strictAll)
		checkCounts(t, s, 1, 0, 1)
		if s.SQLitePassed != 1 || s.PostgresPassed != 0 {
			t.Errorf("sqlite %d, postgres %d; want 1, 0", s.SQLitePassed, s.PostgresPassed)
		}
		if got := s.exitCode(); got != 1 {
			t.Errorf("exit code %d, want 1", got)
		}
		checkContains(t, out,
			"strict mode: no PostgreSQL conformance test ran",
			"strict mode: no browser test ran",
			"SKIP github.com/koban-csirt/koban/internal/store TestConformance/postgres: conformance_test.go:31: KOBAN_TEST_POSTGRES not set\n",
		)
		checkLastLine(t, out)
	})
	t.Run("strict postgres only", func(t *testing.T) {
		s, out := runFixture(t, "strict_zero.jsonl", options{strict: true, requirePostgres: true})
		if got := s.exitCode(); got != 1 {
			t.Errorf("exit code %d, want 1", got)
		}
		if len(s.Reasons) != 1 || strings.Contains(out, "no browser test ran") {
			t.Errorf("reasons %q; want only the PostgreSQL one", s.Reasons)
		}
	})
	t.Run("strict requiring nothing", func(t *testing.T) {
		s, _ := runFixture(t, "strict_zero.jsonl", options{strict: true})
		if got := s.exitCode(); got != 0 {
			t.Errorf("exit code %d, want 0; reasons %q", got, s.Reasons)
		}
	})
	t.Run("not strict", func(t *testing.T) {
		s, out := runFixture(t, "strict_zero.jsonl", options{requirePostgres: true, requireBrowser: true})
		if got := s.exitCode(); got != 0 {
			t.Errorf("exit code %d, want 0; reasons %q", got, s.Reasons)
		}
		if strings.Contains(out, "SKIP") || strings.Contains(out, "strict mode") {
			t.Errorf("non-strict output mentions skips or strict mode:\n%s", out)
		}
	})
}

func TestCrashAndTruncatedStream(t *testing.T) {
	s, out := runFixture(t, "crash.jsonl", options{})
	// web: TestPanic failed and TestSlow never finished; auth: failed
	// outside any test; mail: the stream ended inside TestSend.
	checkCounts(t, s, 0, 4, 0)
	if s.PkgFailed != 3 {
		t.Errorf("failed packages %d, want 3", s.PkgFailed)
	}
	if got := s.exitCode(); got != 1 {
		t.Errorf("exit code %d, want 1", got)
	}
	checkContains(t, out,
		"go: downloading example.com/some/module v1.2.3\n", // non-JSON lines pass through
		"panic: nil session [recovered, repanicked]\n",
		"--- did not finish: TestSlow\n",
		"panic: init: bad key length\n",
		"FAIL github.com/koban-csirt/koban/internal/auth 0.00s\n",
		"--- did not finish: TestSend\n",
		"FAIL github.com/koban-csirt/koban/internal/mail\n",
		"    github.com/koban-csirt/koban/internal/auth (package)\n",
	)
	checkLastLine(t, out)
}

func TestEmptyInput(t *testing.T) {
	var out bytes.Buffer
	s, err := run(strings.NewReader(""), &out, options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, 0, 0, 0)
	if got := s.exitCode(); got != 0 {
		t.Errorf("exit code %d, want 0", got)
	}
	s, _ = run(strings.NewReader(""), &bytes.Buffer{}, strictAll)
	if got := s.exitCode(); got != 1 {
		t.Errorf("strict: exit code %d, want 1", got)
	}
}

func TestParseRequire(t *testing.T) {
	for _, tc := range []struct {
		in                string
		postgres, browser bool
		err               bool
	}{
		{"postgres,browser", true, true, false},
		{"postgres", true, false, false},
		{" browser ", false, true, false},
		{"none", false, false, false},
		{"", false, false, false},
		{"mysql", false, false, true},
	} {
		p, b, err := parseRequire(tc.in)
		if p != tc.postgres || b != tc.browser || (err != nil) != tc.err {
			t.Errorf("parseRequire(%q) = %v, %v, %v", tc.in, p, b, err)
		}
	}
}
