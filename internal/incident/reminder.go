// SPDX-License-Identifier: Apache-2.0

package incident

// ReminderStore remembers the clock reminders already sent, so each is sent once.
type ReminderStore interface{}
