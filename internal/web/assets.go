// SPDX-License-Identifier: Apache-2.0

package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is an embedded static file served under a name carrying its content
// hash, so browsers may cache it for a year.
type asset struct {
	body        []byte
	contentType string
}

type assets struct {
	byHashed map[string]asset  // "koban.1a2b3c4d5e.css" → file
	hashed   map[string]string // "koban.css" → "koban.1a2b3c4d5e.css"
}

func loadAssets() (*assets, error) {
	a := &assets{byHashed: map[string]asset{}, hashed: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.byHashed[hashed] = asset{body: b, contentType: ct}
		a.hashed[name] = hashed
		return nil
	})
	return a, err
}

// url returns the hashed URL of a static file; templates call it as asset.
func (a *assets) url(name string) string {
	if h, ok := a.hashed[name]; ok {
		return "/static/" + h
	}
	return "/static/missing-" + name
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	f, ok := s.assets.byHashed[r.PathValue("file")]
	if !ok {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body) // the client may be gone; nothing to do
}
