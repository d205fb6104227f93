// SPDX-License-Identifier: Apache-2.0

package comms_test

import (
	"testing"

	"github.com/koban-csirt/koban/internal/comms"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// TestMessagesExist checks the message ids built at run time, by the
// pre-fill and by the web pages, in both languages.
func TestMessagesExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range comms.ContactKinds {
		ids = append(ids, "comms.kind."+string(k))
	}
	for _, c := range comms.Channels {
		ids = append(ids, "comms.channel."+string(c))
	}
	for _, d := range []comms.Direction{comms.DirectionIn, comms.DirectionOut} {
		ids = append(ids, "comms.direction."+string(d), "comms.timeline.logged_"+string(d))
	}
	for _, s := range []comms.Status{comms.StatusLogged, comms.StatusDraft, comms.StatusSubmitted, comms.StatusApproved,
		comms.StatusReleased} {
		ids = append(ids, "comms.status."+string(s))
	}
	for _, k := range comms.TemplateKinds {
		ids = append(ids, "comms.template."+string(k)+".label", "comms.template."+string(k)+".subject",
			"comms.template."+string(k)+".body")
	}
	for _, s := range []comms.Stage{comms.StagePreliminary, comms.StageFinal} {
		ids = append(ids, "comms.stage."+string(s))
	}
	for _, k := range comms.ReportKinds {
		ids = append(ids, "comms.report."+string(k)+".title")
		for _, f := range k.Fields() {
			ids = append(ids, "comms.report."+string(k)+"."+f)
		}
	}
	for _, k := range incident.ObservableKinds {
		if k.Network() {
			ids = append(ids, "comms.indicator."+string(k))
		}
	}
	for _, l := range i18n.Langs {
		ids = append(ids, "comms.ui.lang_"+string(l))
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}
