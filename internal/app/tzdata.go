// SPDX-License-Identifier: Apache-2.0

package app

// The time zone database is embedded (about 450 kB) so that Asia/Tokyo and
// every zone a user picks work on hosts and containers without
// /usr/share/zoneinfo: koban needs nothing beside its binary.
import _ "time/tzdata"
