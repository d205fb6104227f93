// SPDX-License-Identifier: Apache-2.0

// Package web is koban's workbench: the server-rendered web UI (html/template
// and a little htmx, all embedded) and the JSON API under /api/v1. Every
// route is declared once in routes.go with the permission it needs; the
// middleware chain (recover → request id and log → security headers → body
// limit → cross-origin protection → session or token → permission) is the
// same for all of them.
//
// Handlers parse input, call domain services and render; they hold no
// business rules and never see SQL. Users read curated, translated messages:
// an error that is not a fault becomes a generic page with a request id, and
// its cause goes to the operator log only. Only internal/app imports web.
package web
