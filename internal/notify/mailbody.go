// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"html/template"
	"strings"
)

// renderText is the text/plain part of a mail.
func renderText(v view) string {
	var b strings.Builder
	b.WriteString(v.LevelText)
	b.WriteString(" | ")
	b.WriteString(v.Title)
	b.WriteString("\n\n")
	if v.Summary != "" {
		b.WriteString(v.Summary)
		b.WriteString("\n\n")
	}
	for _, f := range v.Facts {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(indent(f.Value, "  "))
		b.WriteByte('\n')
	}
	if v.MoreFacts != "" {
		b.WriteString(v.MoreFacts)
		b.WriteByte('\n')
	}
	if len(v.Facts) > 0 || v.MoreFacts != "" {
		b.WriteByte('\n')
	}
	for _, it := range v.Items {
		b.WriteString("- [")
		b.WriteString(it.LevelText)
		b.WriteString("] ")
		b.WriteString(it.Title)
		for _, s := range []string{it.Count, it.Time} {
			if s != "" {
				b.WriteString(" / ")
				b.WriteString(s)
			}
		}
		b.WriteByte('\n')
		if it.URL != "" {
			b.WriteString("  ")
			b.WriteString(it.URL)
			b.WriteByte('\n')
		}
	}
	if v.MoreItems != "" {
		b.WriteString(v.MoreItems)
		b.WriteByte('\n')
	}
	if len(v.Items) > 0 {
		b.WriteByte('\n')
	}
	if v.URL != "" {
		b.WriteString(v.Open)
		b.WriteString(": ")
		b.WriteString(v.URL)
		b.WriteString("\n\n")
	}
	b.WriteString("-- \n") // the usual signature separator, trailing space included
	b.WriteString(v.Footer)
	b.WriteByte('\n')
	return b.String()
}

// indent puts prefix before every line of s but the first.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// levelColour is the colour of a level's badge in the HTML mail.
func levelColour(l Level) string {
	switch l {
	case LevelCritical:
		return "#7f1d1d"
	case LevelHigh:
		return "#b91c1c"
	case LevelMedium:
		return "#b45309"
	case LevelLow:
		return "#1d4ed8"
	}
	return "#4b5563"
}

// mailHTML is the text/html part. html/template escapes every value and
// refuses non-http(s) links (they are also dropped before: view.URL).
var mailHTML = template.Must(template.New("mail").Funcs(template.FuncMap{"colour": levelColour}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;color:#111827;line-height:1.5">
<p><span style="background:{{colour .Level}};color:#ffffff;padding:2px 8px;border-radius:4px">{{.LevelText}}</span></p>
<h1 style="font-size:20px;margin:8px 0">{{.Title}}</h1>
{{if .Summary}}<p style="white-space:pre-wrap">{{.Summary}}</p>
{{end}}{{if .Facts}}<table style="border-collapse:collapse">
{{range .Facts}}<tr><th style="text-align:left;vertical-align:top;padding:2px 12px 2px 0">{{.Name}}</th><td style="white-space:pre-wrap;padding:2px 0">{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{if .MoreFacts}}<p>{{.MoreFacts}}</p>
{{end}}{{if .Items}}<ul>
{{range .Items}}<li><span style="color:{{colour .Level}};font-weight:bold">{{.LevelText}}</span> {{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}{{if .Count}} / {{.Count}}{{end}}{{if .Time}} / {{.Time}}{{end}}</li>
{{end}}</ul>
{{end}}{{if .MoreItems}}<p>{{.MoreItems}}</p>
{{end}}{{if .URL}}<p><a href="{{.URL}}">{{.Open}}</a></p>
{{end}}<hr><p style="color:#6b7280;font-size:12px">{{.Footer}}</p>
</body></html>
`))

func renderHTML(v view) (string, error) {
	var b bytes.Buffer
	if err := mailHTML.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}
