// SPDX-License-Identifier: Apache-2.0

// Package notify delivers one alert notification to one channel: e-mail
// over SMTP (go-mail) or a webhook (Slack incoming webhooks, Microsoft Teams
// Workflows webhooks with an Adaptive Card, or a generic signed JSON object).
//
// It owns:
//   - Message, the already translated content a channel receives, and its
//     rendering per channel (plain text + HTML mail, Slack blocks, an
//     Adaptive Card, the documented JSON object in json.go);
//   - the outbound guard (Guard, NewHTTPClient): every connection this
//     package opens is checked on the resolved address at dial time, so
//     loopback, private, link-local (cloud metadata), CGNAT, unspecified,
//     multicast and reserved addresses are refused unless configured, and
//     DNS rebinding cannot get around it; redirects are never followed.
//     Other packages that fetch from the network (intel feeds) get a client
//     from NewHTTPClient through internal/app;
//   - config validation for its two config sections (SMTPConfig.Validate,
//     WebhookConfig.Validate), returning Problems the config layer prefixes
//     with its own key names;
//   - error classification for retries (Retryable).
//
// It must never: decide who is notified or when (routing by level, rate
// limits and digests belong to internal/alert), put a secret in an error or
// a log (webhook URLs are shown as scheme://host/…, passwords, signing
// secrets and header values never), follow a redirect, or read the
// environment (no proxy variables: the guard would check the proxy, not the
// destination).
//
// internal/app builds the channels from the configuration and hands them to
// the alert router behind the router's own small interface.
package notify
