// SPDX-License-Identifier: Apache-2.0

// Package intake is the first stage of the pipeline: listeners (syslog,
// HTTP, Elasticsearch _bulk) and importers turn what senders send into
// event.Event values and hand them to an event.Sink (the journal, through
// normalisation). This package holds what they share: per-source counters
// for the sources page. The listeners live in sub-packages.
package intake
