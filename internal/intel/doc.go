// SPDX-License-Identifier: Apache-2.0

// Package intel owns indicators of compromise (IOCs) and finding them in
// events: IP addresses and CIDR ranges, domain names (with every name below
// them), URLs, MD5/SHA-1/SHA-256 file hashes and e-mail addresses.
//
// Normalize puts an indicator's text in the one canonical form the package
// compares (re-fanging "hxxp://evil[.]example", lower-casing, masking
// networks, xn-- for internationalised names); Guess infers a value's kind.
// Load reads the simple built-in list format (a value per line, or
// kind,value,note; or CSV with a header) and reports each bad line with its
// file and line while keeping the good ones.
//
// A Set is a list built for matching with exact structures, never substring
// search (DESIGN.md §4): hash maps for hashes, e-mail addresses and URLs; a
// map walked suffix by suffix for domains (evil.example matches
// a.b.evil.example, never notevil.example); a map for addresses; and
// sorted, non-overlapping segments with a binary search for CIDR ranges of
// each family, nested ranges all reported. A Set never changes after
// NewSet, so matching needs no lock; a Live holds the current Set behind an
// atomic pointer so a reload swaps lists under a running pipeline.
// Expired indicators never match, by a clock the caller may inject.
//
// Set.MatchEvent looks only at the event fields FieldKinds names (by
// default the canonical names internal/normalize produces for Windows,
// Linux, Zeek, Suricata, firewalls, proxies and web servers, plus ECS
// names), splits "1.2.3.4:443", "[::1]:80", URLs (whose host is checked as
// a domain or address too), DNS answer lists and Sysmon's Hashes, and
// calls back once per indicator found. It does not allocate when nothing
// matches.
//
// Internationalised names: golang.org/x/net/idna is not among koban's
// modules, so the package maps names itself (NFKC, lower case, ideographic
// full stops) and encodes punycode (RFC 3492); that covers the names people
// write and paste, not every rule of UTS #46.
//
// Who calls it: internal/detect takes a Set or a Live through its own
// one-method interface (MatchEvent); internal/app loads lists and reloads
// them on SIGHUP. The package never reads files, the network or the
// environment itself, logs nothing and starts no goroutines.
package intel
