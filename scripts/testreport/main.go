// Command testreport reads `go test -json` events on stdin, prints a readable
// account of them and a summary, and exits 1 when anything failed.
//
// It prints one line per package (ok / FAIL / no test files), the full output
// of every failed test, build failures, and, in strict mode
// (KOBAN_TEST_STRICT set), the name and reason of every skipped test. The
// summary counts leaf tests: a test with subtests counts only through its
// leaves. A package that fails without a failing test (a build failure, a
// crash outside any test) counts as one failure.
//
// Project conventions it knows about:
//   - store conformance leaves are tests named TestConformance/sqlite/... and
//     TestConformance/postgres/... (in any package);
//   - browser tests are top-level tests whose name starts with TestBrowser.
//
// In strict mode it also fails when no PostgreSQL conformance leaf or no
// browser leaf passed, so that a missing database or browser cannot go
// unnoticed. -require (or KOBAN_TEST_REQUIRE) narrows that to the suites a
// run is meant to cover ("postgres", "browser", comma separated, or "none").
//
// The last line it prints is "tests: N passed, N failed, N skipped".
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action      string
	Package     string
	ImportPath  string // build-output and build-fail events
	Test        string
	Elapsed     *float64
	Output      string
	FailedBuild string
}

type options struct {
	strict          bool
	race            bool
	requirePostgres bool
	requireBrowser  bool
}

type testState struct {
	name   string
	result string // "pass", "fail", "skip"; "" while running
	output []string
}

type pkgState struct {
	name        string
	tests       map[string]*testState
	order       []string
	parents     map[string]bool // names (and name prefixes) that have subtests
	output      []string        // output not attributed to a test
	result      string          // "pass", "fail", "skip"; "" while running
	elapsed     *float64
	failedBuild string
}

// summary holds the counts of one run.
type summary struct {
	Passed, Failed, Skipped      int
	SQLitePassed, PostgresPassed int
	BrowserPassed                int
	PkgOK, PkgFailed, PkgNoTests int
	BuildFailures                int
	FailedTests                  []string // "pkg Test/sub"
	Reasons                      []string // why the run fails, beyond failed tests
}

type reporter struct {
	opts     options
	w        io.Writer
	pkgs     map[string]*pkgState
	pkgOrder []string
	// build-fail events seen, by import path
	buildFailed map[string]bool
}

func newReporter(w io.Writer, opts options) *reporter {
	return &reporter{
		opts:        opts,
		w:           w,
		pkgs:        map[string]*pkgState{},
		buildFailed: map[string]bool{},
	}
}

func (r *reporter) pkg(name string) *pkgState {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgState{name: name, tests: map[string]*testState{}, parents: map[string]bool{}}
		r.pkgs[name] = p
		r.pkgOrder = append(r.pkgOrder, name)
	}
	return p
}

func (p *pkgState) test(name string) *testState {
	t := p.tests[name]
	if t == nil {
		t = &testState{name: name}
		p.tests[name] = t
		p.order = append(p.order, name)
		// Every prefix of a subtest's name has subtests.
		for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
			p.parents[name[:i]] = true
		}
	}
	return t
}

// line handles one input line. Lines that are not JSON events (stderr merged
// into the stream, say) are passed through.
func (r *reporter) line(b []byte) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return
	}
	var e event
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &e) != nil {
		fmt.Fprintln(r.w, s)
		return
	}
	r.event(e)
}

func (r *reporter) event(e event) {
	switch e.Action {
	case "build-output":
		// Compiler and vet output of a test binary's build.
		fmt.Fprint(r.w, ensureNewline(e.Output))
		return
	case "build-fail":
		r.buildFailed[e.ImportPath] = true
		return
	}
	if e.Package == "" {
		if e.Output != "" {
			fmt.Fprint(r.w, ensureNewline(e.Output))
		}
		return
	}
	p := r.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.output = append(p.output, e.Output)
		case "pass", "fail", "skip":
			p.result = e.Action
			p.elapsed = e.Elapsed
			p.failedBuild = e.FailedBuild
			r.finishPackage(p)
		}
		return
	}
	t := p.test(e.Test)
	switch e.Action {
	case "output":
		t.output = append(t.output, e.Output)
	case "pass", "skip", "fail":
		t.result = e.Action
		switch {
		case e.Action == "fail":
			r.printTestOutput(t.output)
		case e.Action == "skip" && r.opts.strict && !p.parents[t.name]:
			fmt.Fprintf(r.w, "SKIP %s %s%s\n", p.name, t.name, skipReason(t.output))
		}
		if e.Action != "fail" {
			t.output = nil // not needed any more
		}
	}
}

func (r *reporter) printTestOutput(lines []string) {
	for _, l := range lines {
		fmt.Fprint(r.w, ensureNewline(l))
	}
}

// skipReason returns what a skipped test logged, framing lines left out.
func skipReason(output []string) string {
	var reason []string
	for _, l := range output {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = append(reason, t)
	}
	if len(reason) == 0 {
		return ""
	}
	return ": " + strings.Join(reason, " | ")
}

func (r *reporter) finishPackage(p *pkgState) {
	switch p.result {
	case "skip":
		fmt.Fprintf(r.w, "?    %s [no test files]\n", p.name)
	case "pass":
		note := ""
		if len(p.tests) == 0 {
			note = " [no tests to run]"
		}
		fmt.Fprintf(r.w, "ok   %s %s%s\n", p.name, elapsed(p.elapsed), note)
	default:
		// Tests that never finished (a panic or timeout elsewhere killed the
		// binary) are failures too.
		for _, name := range p.order {
			t := p.tests[name]
			if t.result == "" && !p.parents[name] {
				t.result = "fail"
				fmt.Fprintf(r.w, "--- did not finish: %s\n", name)
				r.printTestOutput(t.output)
			}
		}
		for _, name := range p.order {
			if t := p.tests[name]; t.result == "" {
				t.result = "fail"
			}
		}
		// Output outside any test: panics in init or TestMain, build
		// failures reported the old way, and go test's own FAIL lines.
		for _, l := range p.output {
			if t := strings.TrimSpace(l); t == "FAIL" || strings.HasPrefix(t, "FAIL\t") {
				continue
			}
			fmt.Fprint(r.w, ensureNewline(l))
		}
		switch {
		case p.failedBuild != "":
			fmt.Fprintf(r.w, "FAIL %s [build failed]\n", p.name)
		case p.elapsed != nil:
			fmt.Fprintf(r.w, "FAIL %s %s\n", p.name, elapsed(p.elapsed))
		default:
			fmt.Fprintf(r.w, "FAIL %s\n", p.name)
		}
	}
}

// finish deals with packages whose result never came (the stream was cut)
// and computes the summary.
func (r *reporter) finish() summary {
	var s summary
	for _, name := range r.pkgOrder {
		p := r.pkgs[name]
		if p.result == "" {
			p.result = "fail"
			p.output = append(p.output, "(no result for this package: the test output ended early)\n")
			r.finishPackage(p)
		}
		switch p.result {
		case "pass":
			s.PkgOK++
		case "skip":
			s.PkgNoTests++
		default:
			s.PkgFailed++
		}
		if p.failedBuild != "" {
			s.BuildFailures++
		}
		failedBefore := s.Failed
		r.count(p, &s)
		if p.result == "fail" && s.Failed == failedBefore {
			// Failed without a failing test (build failure, crash outside
			// any test): count the package itself as one failure.
			s.Failed++
			s.FailedTests = append(s.FailedTests, p.name+" (package)")
		}
	}
	// Build failures whose package never reported (go test failed early).
	var unreported []string
	for ip := range r.buildFailed {
		if !r.buildFailureReported(ip) {
			unreported = append(unreported, ip)
		}
	}
	sort.Strings(unreported)
	for _, ip := range unreported {
		s.BuildFailures++
		s.Failed++
		s.FailedTests = append(s.FailedTests, ip+" (build)")
	}
	if r.opts.strict && r.opts.requirePostgres && s.PostgresPassed == 0 {
		s.Reasons = append(s.Reasons, "strict mode: no PostgreSQL conformance test ran (no passing TestConformance/postgres/... leaf; is KOBAN_TEST_POSTGRES set?)")
	}
	if r.opts.strict && r.opts.requireBrowser && s.BrowserPassed == 0 {
		s.Reasons = append(s.Reasons, "strict mode: no browser test ran (no passing TestBrowser... leaf; is KOBAN_TEST_CHROMIUM set and the browser build tag on?)")
	}
	return s
}

func (r *reporter) buildFailureReported(importPath string) bool {
	for _, p := range r.pkgs {
		if p.failedBuild == importPath {
			return true
		}
	}
	return false
}

func (r *reporter) count(p *pkgState, s *summary) {
	// Parents with a failed descendant: their own failure is already counted
	// through the descendant.
	failedBelow := map[string]bool{}
	for _, name := range p.order {
		if p.tests[name].result == "fail" {
			for i := strings.LastIndexByte(name, '/'); i > 0; i = strings.LastIndexByte(name[:i], '/') {
				failedBelow[name[:i]] = true
			}
		}
	}
	for _, name := range p.order {
		t := p.tests[name]
		leaf := !p.parents[name]
		switch t.result {
		case "pass":
			if !leaf {
				continue
			}
			s.Passed++
			switch {
			case strings.HasPrefix(name, "TestConformance/sqlite/"):
				s.SQLitePassed++
			case strings.HasPrefix(name, "TestConformance/postgres/"):
				s.PostgresPassed++
			}
			if strings.HasPrefix(name, "TestBrowser") {
				s.BrowserPassed++
			}
		case "skip":
			if leaf {
				s.Skipped++
			}
		case "fail":
			if leaf || !failedBelow[name] {
				s.Failed++
				s.FailedTests = append(s.FailedTests, p.name+" "+name)
			}
		}
	}
}

// exitCode is the run's verdict: 1 when a test or a package failed or a
// strict-mode requirement was not met.
func (s summary) exitCode() int {
	if s.Failed > 0 || s.PkgFailed > 0 || s.BuildFailures > 0 || len(s.Reasons) > 0 {
		return 1
	}
	return 0
}

func (r *reporter) printSummary(s summary) {
	w := r.w
	fmt.Fprintln(w)
	fmt.Fprintf(w, "packages: %d ok, %d failed, %d without test files\n", s.PkgOK, s.PkgFailed, s.PkgNoTests)
	fmt.Fprintf(w, "store conformance: sqlite %d passed, postgres %d passed\n", s.SQLitePassed, s.PostgresPassed)
	fmt.Fprintf(w, "browser: %d passed\n", s.BrowserPassed)
	race := "off"
	if r.opts.race {
		race = "on"
	}
	fmt.Fprintf(w, "race detector: %s\n", race)
	if len(s.FailedTests) > 0 {
		fmt.Fprintln(w, "failed tests:")
		for _, t := range s.FailedTests {
			fmt.Fprintf(w, "    %s\n", t)
		}
	}
	for _, reason := range s.Reasons {
		fmt.Fprintln(w, reason)
	}
	if s.exitCode() != 0 {
		fmt.Fprintln(w, "RESULT: FAIL")
	} else {
		fmt.Fprintln(w, "RESULT: ok")
	}
	// Last, in the plain form CI tools read.
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", s.Passed, s.Failed, s.Skipped)
}

// run reads events from in, reports to out and returns the summary.
func run(in io.Reader, out io.Writer, opts options) (summary, error) {
	r := newReporter(out, opts)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for sc.Scan() {
		r.line(sc.Bytes())
	}
	err := sc.Err()
	s := r.finish()
	if err != nil {
		s.Reasons = append(s.Reasons, "reading test events: "+err.Error())
	}
	r.printSummary(s)
	return s, err
}

func envOn(name string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(name)))
	return v != "" && v != "0" && v != "false" && v != "no"
}

func parseRequire(v string) (postgres, browser bool, err error) {
	for _, f := range strings.Split(v, ",") {
		switch strings.TrimSpace(strings.ToLower(f)) {
		case "", "none":
		case "postgres":
			postgres = true
		case "browser":
			browser = true
		default:
			return false, false, fmt.Errorf("unknown -require item %q (want postgres, browser or none)", f)
		}
	}
	return postgres, browser, nil
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func elapsed(e *float64) string {
	if e == nil {
		return ""
	}
	return fmt.Sprintf("%.2fs", *e)
}

func main() {
	defRequire := "postgres,browser"
	if v, ok := os.LookupEnv("KOBAN_TEST_REQUIRE"); ok {
		defRequire = v
	}
	race := flag.Bool("race", false, "say in the summary that the race detector was on")
	strict := flag.Bool("strict", envOn("KOBAN_TEST_STRICT"), "strict mode (default from KOBAN_TEST_STRICT)")
	require := flag.String("require", defRequire, "in strict mode, suites that must have passing tests: postgres, browser (comma separated) or none (default from KOBAN_TEST_REQUIRE)")
	flag.Parse()

	opts := options{strict: *strict, race: *race}
	var err error
	opts.requirePostgres, opts.requireBrowser, err = parseRequire(*require)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	// Unbuffered, so that progress shows as it comes.
	s, _ := run(os.Stdin, os.Stdout, opts)
	os.Exit(s.exitCode())
}
