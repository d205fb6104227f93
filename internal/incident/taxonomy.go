// SPDX-License-Identifier: Apache-2.0

package incident

import "slices"

// Type is the kind of incident, stored as-is. The taxonomy follows the
// categories IPA and JPCERT/CC use in their reports and notification forms,
// in words an SME responder recognises; labels and one-line help live in the
// message catalogue (incident.type.<type>, incident.type_help.<type>).
type Type string

// The types.
const (
	TypeMalware            Type = "malware"             // マルウェア感染
	TypeRansomware         Type = "ransomware"          // ランサムウェア
	TypeUnauthorisedAccess Type = "unauthorised_access" // 不正アクセス
	TypeAccountCompromise  Type = "account_compromise"  // アカウントの乗っ取り
	TypePhishing           Type = "phishing"            // フィッシング
	TypeBEC                Type = "bec"                 // ビジネスメール詐欺
	TypeDoS                Type = "dos"                 // サービス妨害 (DoS/DDoS)
	TypeDataLeak           Type = "data_leak"           // 情報漏えい・紛失
	TypeLostDevice         Type = "lost_device"         // 機器・媒体の紛失・盗難
	TypeWebDefacement      Type = "web_defacement"      // Web サイト改ざん
	TypeVulnExploitation   Type = "vuln_exploitation"   // 脆弱性の悪用
	TypeInsiderMisuse      Type = "insider_misuse"      // 内部不正
	TypeScanProbe          Type = "scan_probe"          // スキャン・探索
	TypeOther              Type = "other"               // その他
)

// TypeInfo is what koban knows of an incident type.
type TypeInfo struct {
	Type Type
	// Parent is the broader type this one belongs to: a lost device is a
	// data leak or loss (漏えい等) as the PPC counts them. "" for none.
	Parent Type
	// IPAForm is the IPA notification form the type is reported on:
	// "virus" (ウイルス届出) or "unauthorised_access" (コンピュータ不正アクセス
	// 届出); "" when neither applies.
	IPAForm string
}

// The IPA notification forms.
const (
	IPAFormVirus              = "virus"
	IPAFormUnauthorisedAccess = "unauthorised_access"
)

// Taxonomy lists every type in the order a form offers them.
var Taxonomy = []TypeInfo{
	{Type: TypeMalware, IPAForm: IPAFormVirus},
	{Type: TypeRansomware, Parent: TypeMalware, IPAForm: IPAFormVirus},
	{Type: TypeUnauthorisedAccess, IPAForm: IPAFormUnauthorisedAccess},
	{Type: TypeAccountCompromise, Parent: TypeUnauthorisedAccess, IPAForm: IPAFormUnauthorisedAccess},
	{Type: TypePhishing},
	{Type: TypeBEC, Parent: TypePhishing},
	{Type: TypeDoS},
	{Type: TypeDataLeak},
	{Type: TypeLostDevice, Parent: TypeDataLeak},
	{Type: TypeWebDefacement, IPAForm: IPAFormUnauthorisedAccess},
	{Type: TypeVulnExploitation, IPAForm: IPAFormUnauthorisedAccess},
	{Type: TypeInsiderMisuse},
	{Type: TypeScanProbe},
	{Type: TypeOther},
}

// Types lists every type in the order of Taxonomy.
func Types() []Type {
	out := make([]Type, len(Taxonomy))
	for i, ti := range Taxonomy {
		out[i] = ti.Type
	}
	return out
}

// Info returns what koban knows of t, and whether t is a type.
func (t Type) Info() (TypeInfo, bool) {
	i := slices.IndexFunc(Taxonomy, func(ti TypeInfo) bool { return ti.Type == t })
	if i < 0 {
		return TypeInfo{}, false
	}
	return Taxonomy[i], true
}

// Valid reports whether t is one of the types.
func (t Type) Valid() bool {
	_, ok := t.Info()
	return ok
}

// Is reports whether t is o or belongs to it (a ransomware incident is a
// malware incident).
func (t Type) Is(o Type) bool {
	for range Taxonomy { // a parent chain is never longer than the taxonomy
		if t == o {
			return true
		}
		ti, ok := t.Info()
		if !ok || ti.Parent == "" {
			return false
		}
		t = ti.Parent
	}
	return false
}
