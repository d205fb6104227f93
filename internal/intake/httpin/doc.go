// SPDX-License-Identifier: Apache-2.0

// Package httpin is koban's HTTP intake: POST /ingest/v1/events for NDJSON
// or JSON arrays, and an Elasticsearch-compatible API (the _bulk endpoint
// and the few read and setup calls shippers make at start-up) so that
// Winlogbeat, Filebeat, Elastic Agent, Fluent Bit, Vector and Logstash send
// to koban with their stock Elasticsearch outputs.
//
// Every request carries a source's token (Bearer, ApiKey or Basic password)
// and may be limited to the source's addresses. Documents become
// event.Event values (intake.FromJSON); a document that is not a JSON
// object is still kept, flagged, and reported back. A request is answered
// only after the event.Sink has made its events durable; a full sink is
// answered with 429 and Retry-After so that shippers retry.
//
// httpin never stores or indexes anything itself: index templates, ILM
// policies and pipelines are acknowledged and ignored. It never logs
// tokens or request bodies. app builds it with New and serves it on
// intake.http.listen.
package httpin
