// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"strings"
	"time"
)

// Kind is what an indicator's value is. Kinds are stable lower-case words,
// stored as they are.
type Kind string

// The indicator kinds.
const (
	KindIP     Kind = "ip"     // one IPv4 or IPv6 address
	KindCIDR   Kind = "cidr"   // an address range, 192.0.2.0/24
	KindDomain Kind = "domain" // a domain name and every name below it
	KindURL    Kind = "url"    // one URL, in canonical form
	KindMD5    Kind = "md5"    // a file hash, lower-case hex
	KindSHA1   Kind = "sha1"   // a file hash, lower-case hex
	KindSHA256 Kind = "sha256" // a file hash, lower-case hex
	KindEmail  Kind = "email"  // one e-mail address
)

// Field kinds: what an event field may carry besides one indicator kind.
// They appear in FieldKinds only, never as an indicator's Kind.
const (
	// KindHosts is a list of domain names and addresses separated by
	// commas, semicolons or blanks, or a JSON array of them: DNS answers
	// (Zeek's answers, Sysmon's QueryResults), ECS related.hosts.
	KindHosts Kind = "hosts"
	// KindHashes is Sysmon's "SHA1=…,MD5=…,SHA256=…,IMPHASH=…" list; an
	// IMPHASH is never compared with MD5 indicators.
	KindHashes Kind = "hashes"
)

// Kinds lists the indicator kinds, in the order the UI shows them.
var Kinds = []Kind{KindIP, KindCIDR, KindDomain, KindURL, KindMD5, KindSHA1, KindSHA256, KindEmail}

// Valid reports whether k is an indicator kind.
func (k Kind) Valid() bool {
	switch k {
	case KindIP, KindCIDR, KindDomain, KindURL, KindMD5, KindSHA1, KindSHA256, KindEmail:
		return true
	}
	return false
}

// validField reports whether k may describe an event field.
func (k Kind) validField() bool { return k.Valid() || k == KindHosts || k == KindHashes }

// kindAliases are other names lists use for the kinds: MISP attribute
// types, STIX-like and common spellings. Keys are lower-case.
var kindAliases = map[string]Kind{
	"ip": KindIP, "ipv4": KindIP, "ipv6": KindIP, "ip-src": KindIP, "ip-dst": KindIP,
	"ipv4-addr": KindIP, "ipv6-addr": KindIP, "address": KindIP,
	"cidr": KindCIDR, "network": KindCIDR, "netblock": KindCIDR, "ip-range": KindCIDR, "range": KindCIDR,
	"domain": KindDomain, "hostname": KindDomain, "host": KindDomain, "fqdn": KindDomain, "domain-name": KindDomain,
	"url": KindURL, "uri": KindURL, "link": KindURL,
	"md5": KindMD5, "sha1": KindSHA1, "sha-1": KindSHA1, "sha256": KindSHA256, "sha-256": KindSHA256,
	"email": KindEmail, "e-mail": KindEmail, "email-src": KindEmail, "email-dst": KindEmail,
	"email-addr": KindEmail, "mail": KindEmail,
}

// ParseKind returns the kind named s: a kind's own word or a common other
// name for it (MISP's ip-dst, hostname, email-src; ipv4, sha-256 …),
// ignoring case and surrounding blanks.
func ParseKind(s string) (Kind, bool) {
	k, ok := kindAliases[strings.ToLower(strings.TrimSpace(s))]
	return k, ok
}

// Indicator is one indicator of compromise: something that, seen in an
// event, is worth an alert.
type Indicator struct {
	Kind Kind
	// Value is the canonical form Normalize returns; NewSet normalises it.
	Value string
	// Source names where the indicator came from: a list file's name, a
	// feed.
	Source string
	// Note says why the indicator is listed, for the analyst.
	Note string
	// Added is when the indicator was listed; zero when unknown.
	Added time.Time
	// Expires is when the indicator stops matching; zero for never.
	Expires time.Time
	// ID identifies the indicator in the store that keeps it; empty for
	// indicators read from a list file.
	ID string
}

// expired reports whether the indicator no longer matches at now.
func (ind *Indicator) expired(now time.Time) bool {
	return !ind.Expires.IsZero() && !now.Before(ind.Expires)
}
