// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"strconv"

	"github.com/koban-csirt/koban/internal/event"
)

// The canonical field names this package sets. Structured data of RFC 5424
// becomes "sd.<SD-ID>.<PARAM-NAME>"; FortiGate-style key=value messages keep
// their keys as given.
var (
	fieldFacility = event.MustIntern("facility")
	fieldSeverity = event.MustIntern("severity")
	fieldPriority = event.MustIntern("priority")
	fieldHostname = event.MustIntern("hostname")
	fieldProgram  = event.MustIntern("program")
	fieldPID      = event.MustIntern("pid")
	fieldMsgID    = event.MustIntern("msgid")
	fieldMessage  = event.MustIntern("message")
	fieldSenderIP = event.MustIntern("sender_ip")
	fieldTimeRaw  = event.MustIntern("event_time_raw")
)

// facilityNames are the facility keywords rsyslog prints for the numbers of
// RFC 5424 §6.2.1.
var facilityNames = [24]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// severityNames are the severity keywords of syslog.conf(5).
var severityNames = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// priorityText holds the decimal text of every valid PRI, so that setting
// the field does not allocate.
var priorityText = func() (t [192]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()
