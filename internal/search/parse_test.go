// SPDX-License-Identifier: Apache-2.0

package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// checkMessage fails unless f's message exists in every language and every
// argument it names is among f's arguments.
func checkMessage(t *testing.T, f *fault.Error) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Langs {
		if !cat.Has(l, f.Msg) {
			t.Errorf("message %s is missing in %s", f.Msg, l)
		}
		for _, a := range cat.Args(l, f.Msg) {
			found := false
			for i := 0; i+1 < len(f.Args); i += 2 {
				found = found || f.Args[i] == a
			}
			if !found {
				t.Errorf("message %s (%s) uses {%s}, which the fault %v lacks", f.Msg, l, a, f)
			}
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	eq := func(f, v string) Pred { return Pred{Field: f, Op: Eq, Value: v} }
	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"empty", "", nil},
		{"blanks", " \t\n ", nil},
		{"field value", "EventID:4625", eq("EventID", "4625")},
		{"quoted value", `CommandLine:"net user /add"`, eq("CommandLine", "net user /add")},
		{"quote escapes", `a:"say \"hi\" \\ now"`, eq("a", `say "hi" \ now`)},
		{"empty quoted value", `a:""`, eq("a", "")},
		{"windows path unquoted", `Image:C:\Windows\System32\cmd.exe`, eq("Image", `C:\Windows\System32\cmd.exe`)},
		{"windows path quoted", `Image:"C:\Windows\cmd.exe"`, eq("Image", `C:\Windows\cmd.exe`)},
		{"bare word", "mimikatz", Text{Value: "mimikatz"}},
		{"bare phrase", `"failed password"`, Text{Value: "failed password"}},
		{"japanese", `ユーザー:"管理者" ログオン失敗`, And{eq("ユーザー", "管理者"), Text{Value: "ログオン失敗"}}},
		{"implicit and", "a b c", And{Text{"a"}, Text{"b"}, Text{"c"}}},
		{"explicit and", "a AND b", And{Text{"a"}, Text{"b"}}},
		{"lower-case operators", "a and b or not c", Or{And{Text{"a"}, Text{"b"}}, Not{Text{"c"}}}},
		{"or", "a OR b OR c", Or{Text{"a"}, Text{"b"}, Text{"c"}}},
		{"precedence", "a OR b c", Or{Text{"a"}, And{Text{"b"}, Text{"c"}}}},
		{"parentheses", "(a OR b) c", And{Or{Text{"a"}, Text{"b"}}, Text{"c"}}},
		{"nested parentheses kept", "a AND (b AND c)", And{Text{"a"}, And{Text{"b"}, Text{"c"}}}},
		{"redundant parentheses", "((a))", Text{"a"}},
		{"not", "NOT a", Not{Text{"a"}}},
		{"not before group", "NOT(a OR b)", Not{Or{Text{"a"}, Text{"b"}}}},
		{"minus", "a -b", And{Text{"a"}, Not{Text{"b"}}}},
		{"minus field", "-host:web01", Not{eq("host", "web01")}},
		{"minus group", "-(a b)", Not{And{Text{"a"}, Text{"b"}}}},
		{"lone minus is a word", "a - b", And{Text{"a"}, Text{"-"}, Text{"b"}}},
		{"minus inside word", "x-y", Text{"x-y"}},
		{"double not", "NOT -a", Not{Not{Text{"a"}}}},
		{"keyword prefix is a word", "ANDROID ORACLE NOTE", And{Text{"ANDROID"}, Text{"ORACLE"}, Text{"NOTE"}}},
		{"keyword as field", "NOT:x", eq("NOT", "x")},
		{"quoted keyword", `"and"`, Text{"and"}},
		{"contains", "CommandLine:*mimikatz*", Pred{"CommandLine", Contains, "mimikatz"}},
		{"prefix", `Image:C:\Temp\\*`, Pred{"Image", Prefix, `C:\Temp\`}},
		{"suffix", `Image:*\cmd.exe`, Pred{"Image", Suffix, `\cmd.exe`}},
		{"suffix quoted", `Image:"*\powershell.exe"`, Pred{"Image", Suffix, `\powershell.exe`}},
		{"many stars", "a:**x**", Pred{"a", Contains, "x"}},
		{"wildcard middle", "a:mimi*katz", Pred{"a", Wildcard, "mimi*katz"}},
		{"wildcard question", "a:te?t", Pred{"a", Wildcard, "te?t"}},
		{"wildcard with escaped literals", `a:"*50\*off\?*x"`, Pred{"a", Wildcard, `*50\*off\?*x`}},
		{"escaped backslash in wildcard", `a:"x\\*y*z"`, Pred{"a", Wildcard, `x\\*y*z`}},
		{"escaped star is literal", `ab:\*`, eq("ab", "*")},
		{"escaped star contains", `ab:*\**`, Pred{"ab", Contains, "*"}},
		{"path then literal star", `Image:C:\Temp\*`, eq("Image", `C:\Temp*`)},
		{"exists", "User:*", Pred{"User", Exists, ""}},
		{"exists quoted", `User:"*"`, Pred{"User", Exists, ""}},
		{"regex", `CommandLine:/(?i)invoke-\w+/`, Pred{"CommandLine", Regex, `(?i)invoke-\w+`}},
		{"regex with slash", `url:/a\/b/`, Pred{"url", Regex, `a/b`}},
		{"regex with blank", `a:/x y/ b`, And{Pred{"a", Regex, "x y"}, Text{"b"}}},
		{"regex in group", `(a:/x/)`, Pred{"a", Regex, "x"}},
		{"bare regex", `/mimi.atz/`, Pred{"raw", Regex, "mimi.atz"}},
		{"path is not a regex", `path:/var/log/*`, Pred{"path", Prefix, "/var/log/"}},
		{"unclosed slash is a value", `path:/etc`, eq("path", "/etc")},
		{"gt", "bytes:>1000", Pred{"bytes", Gt, "1000"}},
		{"gte", "bytes:>=10.5", Pred{"bytes", Gte, "10.5"}},
		{"lt", "bytes:<-3", Pred{"bytes", Lt, "-3"}},
		{"lte", "bytes:<=1e3", Pred{"bytes", Lte, "1e3"}},
		{"quoted comparison is text", `a:">5"`, eq("a", ">5")},
		{"cidr", "SourceIp:10.0.0.0/8", Pred{"SourceIp", CIDR, "10.0.0.0/8"}},
		{"cidr v6", "SourceIp:fe80::/10", Pred{"SourceIp", CIDR, "fe80::/10"}},
		{"plain ip is eq", "SourceIp:10.1.2.3", eq("SourceIp", "10.1.2.3")},
		{"quoted cidr is eq", `SourceIp:"10.0.0.0/8"`, eq("SourceIp", "10.0.0.0/8")},
		{"field group", "EventID:(4624 OR 4625)", Or{eq("EventID", "4624"), eq("EventID", "4625")}},
		{"field group mixed", `User:(admin* -"x y") z`, And{And{Pred{"User", Prefix, "admin"}, Not{eq("User", "x y")}}, Text{"z"}}},
		{"field group override", "a:(b c:d)", And{eq("a", "b"), eq("c", "d")}},
		{"dotted field", "process.command_line:*whoami*", Pred{"process.command_line", Contains, "whoami"}},
		{"at field", "@timestamp:x", eq("@timestamp", "x")},
		{"drive letter is a word", `C:\Temp\x.exe`, Text{`C:\Temp\x.exe`}},
		{"url is a word", "http://evil.example/x", Text{"http://evil.example/x"}},
		{"time is a word", "12:30:45", Text{"12:30:45"}},
		{"value with colons", "a:b:c", eq("a", "b:c")},
		{"bare wildcard", "mimi*katz", Pred{"raw", Wildcard, "*mimi*katz*"}},
		{"bare edge stars", "*mimikatz*", Text{"mimikatz"}},
		{"bare star", "*", Text{""}},
		{"parentheses inside word", "a:IEX(New-Object) b", And{eq("a", "IEX(New-Object)"), Text{"b"}}},
		{"paren closes group after word", "(a:f(x))", eq("a", "f(x)")},
		{"escaped blank", `a:x\ y`, eq("a", "x y")},
		{"escaped paren", `a:x\)`, eq("a", "x)")},
		{"trailing backslash", `a:x\`, eq("a", `x\`)},
		{"quote inside word", `a:x"y`, eq("a", `x"y`)},
		{"phrase then word", `"a"b`, And{Text{"a"}, Text{"b"}}},
		{"full-width blank separates", "a\u3000b", And{Text{"a"}, Text{"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
			again, err := Parse(Format(got))
			if err != nil {
				t.Fatalf("Parse(Format(%q) = %q): %v", tt.in, Format(got), err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Parse(%q) after Format %q (-first +second):\n%s", tt.in, Format(got), diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		msg    string
		column int
		found  string
	}{
		{"unclosed quote", `host:web AND "abc`, "search.unclosed_quote", 14, ""},
		{"unclosed quote in value", `a:"x`, "search.unclosed_quote", 3, ""},
		{"unclosed paren", `(a OR b`, "search.unclosed_paren", 1, ""},
		{"unclosed inner paren", `a (b (c)`, "search.unclosed_paren", 3, ""},
		{"unmatched paren", `a)`, "search.unmatched_paren", 2, ""},
		{"empty group", `()`, "search.expected_term", 2, ")"},
		{"leading and", `AND a`, "search.expected_term", 1, "AND"},
		{"trailing or", `a OR`, "search.expected_term_end", 5, ""},
		{"double operator", `a OR OR b`, "search.expected_term", 6, "OR"},
		{"not at end", `a NOT`, "search.expected_term_end", 6, ""},
		{"minus then or", `-OR x`, "search.expected_term", 2, "OR"},
		{"missing value", `a: b`, "search.expected_value", 3, ""},
		{"missing value at end", `host:`, "search.expected_value", 6, ""},
		{"missing value before paren", `(a:)`, "search.expected_value", 4, ""},
		{"comparison needs number", `bytes:>ten`, "search.expected_number", 8, "ten"},
		{"comparison nan", `bytes:>NaN`, "search.expected_number", 8, "NaN"},
		{"comparison empty", `bytes:>= x`, "search.expected_number", 9, ""},
		{"bad regex", `a:/(/`, "search.invalid_regex", 1, ""},
		{"japanese column", `ユーザー:"管理者`, "search.unclosed_quote", 6, ""},
		{"invalid utf-8", "ab\xffcd", "search.invalid_text", 3, ""},
		{"too deep", strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), "search.too_deep", MaxDepth + 1, ""},
		{"too deep not", strings.Repeat("NOT ", MaxDepth+1) + "a", "search.too_deep", 4*MaxDepth + 1, ""},
		{"too deep minus", strings.Repeat("-", MaxDepth+1) + "a", "search.too_deep", MaxDepth + 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x, err := Parse(tt.in)
			var f *fault.Error
			if !errors.As(err, &f) {
				t.Fatalf("Parse(%q) = %v, %v; want fault %s", tt.in, x, err, tt.msg)
			}
			if f.Kind != fault.Invalid || f.Msg != tt.msg {
				t.Errorf("Parse(%q): fault %s %s, want invalid %s", tt.in, f.Kind, f.Msg, tt.msg)
			}
			args := map[string]any{}
			for i := 0; i+1 < len(f.Args); i += 2 {
				args[f.Args[i].(string)] = f.Args[i+1]
			}
			if args["column"] != tt.column {
				t.Errorf("Parse(%q): column %v, want %d (%v)", tt.in, args["column"], tt.column, f)
			}
			checkMessage(t, f)
			if tt.found != "" && args["found"] != tt.found {
				t.Errorf("Parse(%q): found %q, want %q", tt.in, args["found"], tt.found)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a ", MaxQueryLen/2+1)
	if _, err := Parse(long); !fault.Is(err, fault.Invalid) {
		t.Errorf("Parse of %d bytes: err = %v, want Invalid", len(long), err)
	}
	// Long but flat queries parse without deep recursion.
	flat := strings.Repeat("a OR ", MaxQueryLen/5-1) + "a"
	x, err := Parse(flat)
	if err != nil {
		t.Fatalf("Parse of a flat %d-byte query: %v", len(flat), err)
	}
	if or, ok := x.(Or); !ok || len(or) != MaxQueryLen/5 {
		t.Errorf("Parse of a flat query: %T with %d parts", x, len(x.(Or)))
	}
	// The deepest allowed nesting parses.
	deep := strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("Parse at depth %d: %v", MaxDepth, err)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Expr
		want string
	}{
		{nil, ""},
		{Pred{"a", Eq, `x "y" \ *`}, `a:"x \"y\" \\ \*"`},
		{Pred{"a", Contains, "m"}, `a:"*m*"`},
		{Pred{"a", Prefix, "m"}, `a:"m*"`},
		{Pred{"a", Suffix, "m"}, `a:"*m"`},
		{Pred{"a", Wildcard, `x\*y*`}, `a:"x\*y*"`},
		{Pred{"a", Exists, ""}, `a:*`},
		{Pred{"a", Regex, "a/b"}, `a:/a\/b/`},
		{Pred{"a", Regex, ""}, `a:(//)`},
		{Pred{"a", CIDR, "10.0.0.0/8"}, `a:10.0.0.0/8`},
		{Pred{"a", Gte, "5"}, `a:>=5`},
		{Or{And{Text{"a"}, Text{"b"}}, Not{Or{Text{"c"}, Text{"d"}}}}, `("a" AND "b") OR NOT ("c" OR "d")`},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := (Pred{"a", Eq, "b"}).String(); got != `a:"b"` {
		t.Errorf("Pred.String() = %s", got)
	}
	if got := Lte.String(); got != "lte" {
		t.Errorf("Lte.String() = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`EventID:4625 AND host:web01`,
		`CommandLine:*mimikatz* OR Image:"*\powershell.exe"`,
		`-(a b) NOT c:/x\/y/`,
		`SourceIp:10.0.0.0/8 bytes:>=10 user:*`,
		`EventID:(4624 OR 4625) "failed password"`,
		`ユーザー:"管理者" a:"x\"y\\*"`,
		`C:\Windows\System32 http://x/ a:(//)`,
		`a:te?t*x\*`,
		`((a)`,
		`a:"`,
		`sshd "Failed password for invalid user" -"127.0.0.1"`,
		`process.command_line:*whoami* TargetUserName:administrator`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := Parse(s)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("Parse(%q): error %v is not Invalid", s, err)
			}
			return
		}
		text := Format(x)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v; Format gives %q, which fails: %v", s, x, text, err)
		}
		if diff := cmp.Diff(x, again); diff != "" {
			t.Fatalf("Parse(%q) then Format %q parses differently (-first +second):\n%s", s, text, diff)
		}
	})
}
