// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
)

// AlertInput is an alert as incidents take it in: the caller (the web
// layer, which may import internal/alert) converts alert.Alert, whose
// package this one must not import.
type AlertInput struct {
	ID     int64
	Tenant string
	Title  string // the rule's title, else its id
	Level  string
	Host   string
	User   string
	// Fields are the alert's key fields, read by FromAlertFields.
	Fields []AlertField
	// Techniques are ATT&CK technique ids (alert.Alert.Techniques).
	Techniques []string
	FirstSeen  time.Time
	LastSeen   time.Time
	Count      int64
}

// MaxAlertsAtOnce is the most alerts one CreateFromAlerts or AddAlerts
// takes.
const MaxAlertsAtOnce = 100

// checkAlerts refuses an empty or too long list, alerts named twice and
// alerts of another tenant.
func checkAlerts(tenant string, alerts []AlertInput) error {
	switch {
	case len(alerts) == 0:
		return fault.InvalidField("alerts", "incidentobs.no_alerts")
	case len(alerts) > MaxAlertsAtOnce:
		return fault.InvalidField("alerts", "incidentobs.too_many_alerts", "max", MaxAlertsAtOnce)
	}
	seen := map[int64]bool{}
	for _, al := range alerts {
		if al.ID <= 0 || seen[al.ID] {
			return fault.InvalidField("alerts", "incidentobs.alert_twice", "id", al.ID)
		}
		seen[al.ID] = true
		if al.Tenant != tenant {
			return fault.InvalidField("alerts", "incidentobs.alert_tenant", "id", al.ID)
		}
	}
	return nil
}

// SuggestTitle proposes a title for an incident made from alerts: the
// first alert's title, and how many other alerts there are.
func SuggestTitle(alerts []AlertInput) string {
	if len(alerts) == 0 {
		return ""
	}
	suffix := ""
	if h := cleanLine(alerts[0].Host, 64); h != "" {
		suffix = " (" + h + ")"
	}
	if n := len(alerts) - 1; n > 0 {
		suffix += " +" + strconv.Itoa(n)
	}
	return cleanLine(alerts[0].Title, maxTitleLen-utf8.RuneCountInString(suffix)) + suffix
}

// typeByTechnique guesses an incident type from ATT&CK techniques, the
// most telling first.
var typeByTechnique = []struct {
	prefix string
	typ    Type
}{
	{"T1486", TypeRansomware}, {"T1490", TypeRansomware},
	{"T1491", TypeWebDefacement},
	{"T1498", TypeDoS}, {"T1499", TypeDoS},
	{"T1566", TypePhishing},
	{"T1190", TypeVulnExploitation}, {"T1203", TypeVulnExploitation}, {"T1210", TypeVulnExploitation},
	{"T1078", TypeAccountCompromise}, {"T1110", TypeAccountCompromise},
	{"T1048", TypeDataLeak}, {"T1041", TypeDataLeak}, {"T1567", TypeDataLeak},
	{"T1595", TypeScanProbe}, {"T1046", TypeScanProbe},
	{"T1133", TypeUnauthorisedAccess}, {"T1021", TypeUnauthorisedAccess},
	{"T1059", TypeMalware}, {"T1204", TypeMalware}, {"T1547", TypeMalware}, {"T1053", TypeMalware},
	{"T1055", TypeMalware}, {"T1105", TypeMalware},
}

// SuggestType guesses the type of an incident made from alerts from their
// ATT&CK techniques (T1486 ransomware, T1566 phishing, T1110 account
// compromise …); TypeOther when none tells.
func SuggestType(alerts []AlertInput) Type {
	for _, tt := range typeByTechnique {
		for _, al := range alerts {
			for _, t := range al.Techniques {
				if strings.HasPrefix(strings.ToUpper(t), tt.prefix) {
					return tt.typ
				}
			}
		}
	}
	return TypeOther
}

// mergeAlerts adds the alerts' techniques, hosts and users to an incident's
// written fields (up to their bounds: past them, the observables keep
// them) and moves its detection time back to the earliest first detection.
// It reports whether anything changed.
func mergeAlerts(inc *Incident, alerts []AlertInput) bool {
	changed := false
	add := func(list []string, v string, max int) []string {
		if v = cleanLine(v, maxItemLen); v == "" || slices.Contains(list, v) || len(list) >= max {
			return list
		}
		changed = true
		return append(list, v)
	}
	for _, al := range alerts {
		for _, t := range al.Techniques {
			if t = strings.ToUpper(cleanLine(t, maxIDLen)); validTechnique(t) {
				inc.Techniques = add(inc.Techniques, t, maxTechniques)
			}
		}
		inc.AffectedAssets = add(inc.AffectedAssets, al.Host, maxItems)
		inc.AffectedUsers = add(inc.AffectedUsers, al.User, maxItems)
		if first := storeTime(al.FirstSeen); !first.IsZero() && (inc.DetectedAt.IsZero() || first.Before(inc.DetectedAt)) {
			inc.DetectedAt, changed = first, true
		}
	}
	return changed
}

// observablesOf returns what an alert shows: its host and user, then what
// FromAlertFields finds in its fields, each with the alert as its source.
func observablesOf(al AlertInput) []Observable {
	var out []Observable
	if al.Host != "" {
		if o, err := ParseObservable(ObservableIP, al.Host); err == nil {
			out = append(out, o)
		} else if o, err := ParseObservable(ObservableHost, al.Host); err == nil {
			out = append(out, o)
		}
	}
	if al.User != "" {
		if o, err := ParseObservable(ObservableUser, al.User); err == nil {
			out = append(out, o)
		}
	}
	out = append(out, FromAlertFields(al.Fields)...)
	src := AlertSource(al.ID)
	for i := range out {
		out[i].Source = src
		if out[i].Note == "" {
			out[i].Note = "alert #" + strconv.FormatInt(al.ID, 10)
		}
	}
	return out
}

// CreateFromAlerts opens an incident from alerts, in one transaction: the
// draft (Create's rules; an empty title becomes SuggestTitle's, an empty
// type SuggestType's) gets the alerts' techniques, hosts (affected assets)
// and users (affected users), and the earliest first detection as its
// detection time; the incident then gets each alert's observables and a
// timeline entry per alert at its first detection, and remembers the
// alerts it was made from (IncidentsOfAlert). The caller changes the
// alerts' triage state in the same transaction (Store.Tx) if it wants to.
//
// Errors: as Create; Invalid "incidentobs.no_alerts", "too_many_alerts",
// "alert_twice", "alert_tenant".
func (s *Service) CreateFromAlerts(ctx context.Context, a Actor, d Draft, alerts []AlertInput) (Incident, error) {
	if err := a.needFull(); err != nil {
		return Incident{}, err
	}
	if err := checkAlerts(cleanLine(d.Tenant, maxIDLen), alerts); err != nil {
		return Incident{}, err
	}
	if strings.TrimSpace(d.Title) == "" {
		d.Title = SuggestTitle(alerts)
	}
	if d.Type == "" {
		d.Type = SuggestType(alerts)
	}
	merged := Incident{AffectedAssets: slices.Clone(d.AffectedAssets), AffectedUsers: slices.Clone(d.AffectedUsers),
		Techniques: slices.Clone(d.Techniques), DetectedAt: storeTime(d.DetectedAt)}
	mergeAlerts(&merged, alerts)
	d.AffectedAssets, d.AffectedUsers, d.Techniques, d.DetectedAt = merged.AffectedAssets, merged.AffectedUsers,
		merged.Techniques, merged.DetectedAt
	if !d.AwareAt.IsZero() && d.DetectedAt.After(storeTime(d.AwareAt)) {
		d.DetectedAt = storeTime(d.AwareAt)
	}
	var inc Incident
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if inc, err = s.Create(ctx, a, d); err != nil {
			return err
		}
		return s.takeAlerts(ctx, a, inc, alerts, s.nowUTC())
	})
	if err != nil {
		return Incident{}, wrap(err, "create from alerts")
	}
	return inc, nil
}

// AddAlerts merges alerts into an open incident, in one transaction: their
// techniques, hosts and users join the incident's (a new version: ref's
// Version, when given, must be the current one), an earlier first
// detection becomes its detection time, and it gets their observables,
// timeline entries and links as CreateFromAlerts gives them.
//
// Errors: Forbidden; NotFound; Conflict "incident.closed",
// "incident.changed", "incidentobs.alert_taken" for an alert the incident
// has already; Invalid as CreateFromAlerts.
func (s *Service) AddAlerts(ctx context.Context, a Actor, ref Ref, alerts []AlertInput) (Incident, error) {
	if err := a.needFull(); err != nil {
		return Incident{}, err
	}
	var out Incident
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.open(ctx, ref)
		if err != nil {
			return err
		}
		if err := checkAlerts(cur.Tenant, alerts); err != nil {
			return err
		}
		now := s.nowUTC()
		next := cur
		next.Techniques, next.AffectedAssets = slices.Clone(cur.Techniques), slices.Clone(cur.AffectedAssets)
		next.AffectedUsers = slices.Clone(cur.AffectedUsers)
		out = cur
		if mergeAlerts(&next, alerts) {
			next.Version, next.UpdatedAt = cur.Version+1, now
			if err := s.store.UpdateIncident(ctx, next, cur.Version); fault.Is(err, fault.NotFound) {
				return fault.Wrap(fault.Conflict, err, "incident.changed", "ref", cur.Ref)
			} else if err != nil {
				return err
			}
			out = next
		}
		if err := s.takeAlerts(ctx, a, out, alerts, now); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.add_alerts", cur.ID, viewOf(cur), viewOf(out), now)
	})
	if err != nil {
		return Incident{}, wrap(err, "add alerts", ref.ID)
	}
	return out, nil
}

// takeAlerts links alerts to inc, with a timeline entry each and their
// observables, in the caller's transaction.
func (s *Service) takeAlerts(ctx context.Context, a Actor, inc Incident, alerts []AlertInput, now time.Time) error {
	have, err := s.store.IncidentAlerts(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, l := range have {
		if slices.ContainsFunc(alerts, func(al AlertInput) bool { return al.ID == l.AlertID }) {
			return fault.New(fault.Conflict, "incidentobs.alert_taken", "id", l.AlertID, "ref", inc.Ref)
		}
	}
	var obs []Observable
	for _, al := range alerts {
		title := cleanLine(al.Title, maxTitleLen)
		l := AlertLink{IncidentID: inc.ID, AlertID: al.ID, Title: title, Level: cleanLine(al.Level, maxIDLen),
			Host: cleanLine(al.Host, maxItemLen), FirstSeen: storeTime(al.FirstSeen), AddedAt: now,
			AddedByID: a.UserID, AddedBy: actorName(a)}
		if err := s.store.AddIncidentAlert(ctx, l); err != nil {
			return err
		}
		at := l.FirstSeen
		if at.IsZero() || at.After(now) {
			at = now
		}
		if err := s.logEntry(ctx, a, inc.ID, EntryAlert, at, "incidentobs.timeline.alert", "id",
			strconv.FormatInt(al.ID, 10), "title", title, "level", l.Level, "host", l.Host,
			"count", strconv.FormatInt(max(al.Count, 1), 10)); err != nil {
			return err
		}
		obs = append(obs, observablesOf(al)...)
	}
	// Values from alerts are untrusted: one that does not pass
	// cleanObservables (a note with control characters, say) is dropped
	// rather than refusing the alert.
	clean := make([]Observable, 0, len(obs))
	for _, o := range obs {
		if c, err := cleanObservables([]Observable{o}); err == nil {
			clean = append(clean, c[0])
		}
	}
	added, err := s.addObservables(ctx, a, inc.ID, clean, now)
	if fault.Is(err, fault.Invalid) {
		// Past MaxObservables: the alerts are still worth taking.
		s.log.WarnContext(ctx, "observables of alerts not kept", "incident_id", inc.ID, "error", err)
		return nil
	} else if err != nil {
		return err
	}
	if len(added) == 0 {
		return nil
	}
	return s.logObservables(ctx, a, inc.ID, added, now)
}

// AlertsOfIncident returns the alerts an incident was made from or merged
// with, by first detection.
//
// Errors: Forbidden; NotFound.
func (s *Service) AlertsOfIncident(ctx context.Context, a Actor, incidentID int64) ([]AlertLink, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	if _, err := s.current(ctx, Ref{ID: incidentID}); err != nil {
		return nil, wrap(err, "alerts", incidentID)
	}
	out, err := s.store.IncidentAlerts(ctx, incidentID)
	if err != nil {
		return nil, wrap(err, "alerts", incidentID)
	}
	return out, nil
}

// IncidentsOfAlert returns the incidents of a tenant an alert was taken
// into, oldest first.
//
// Errors: Forbidden.
func (s *Service) IncidentsOfAlert(ctx context.Context, a Actor, tenant string, alertID int64) ([]AlertIncident, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	out, err := s.store.AlertIncidents(ctx, tenant, alertID)
	if err != nil {
		return nil, wrap(err, "incidents of alert", alertID)
	}
	return out, nil
}
