// SPDX-License-Identifier: Apache-2.0

package web

import (
	"strconv"
	"testing"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// TestDynamicMessagesExist checks the message ids templates build at run
// time; literal ids are checked by the i18n package's source scan.
func TestDynamicMessagesExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range navItems {
		ids = append(ids, "nav."+it.Key)
		if it.Group == "main" && it.Key != "dashboard" {
			ids = append(ids, "section."+it.Key+".summary", "section."+it.Key+".body")
		}
	}
	for _, r := range auth.Roles {
		ids = append(ids, "role."+string(r), "role."+string(r)+"_help")
	}
	for _, v := range []audit.Via{audit.ViaWeb, audit.ViaAPI, audit.ViaCLI, audit.ViaSystem} {
		ids = append(ids, "via."+string(v))
	}
	for _, k := range []fault.Kind{fault.Internal, fault.Invalid, fault.NotFound, fault.Conflict, fault.Unauthenticated, fault.Forbidden, fault.TooMany, fault.TooLarge} {
		ids = append(ids, "status."+strconv.Itoa(statusFor(k)))
	}
	for m := range signinMessages {
		ids = append(ids, m)
	}
	ids = append(ids, "store.sqlite", "store.postgres", "time.layout", "time.never")
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !cat.Has(l, id) {
				t.Errorf("message %q missing in %s", id, l)
			}
		}
	}
}
