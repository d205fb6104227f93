// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
)

// wwwAuthenticate are the challenges Elasticsearch answers 401 with.
var wwwAuthenticate = []string{`Basic realm="security", charset="UTF-8"`, `Bearer realm="security"`, `ApiKey`}

// authenticate finds the source whose token the request carries and checks
// its address. It returns the source (also on 403, for counting), or a
// status and a reason when the request is refused.
func (h *handler) authenticate(r *http.Request) (*source, int, string) {
	cands, n := credentials(r)
	if n == 0 || len(h.sources) == 0 {
		return nil, http.StatusUnauthorized, reasonNoCredentials
	}
	var found *source
	for _, c := range cands[:n] {
		sum := sha256.Sum256([]byte(c))
		// Compare with every source, found or not, so that the time taken
		// does not tell which token matched.
		for i := range h.sources {
			if subtle.ConstantTimeCompare(sum[:], h.sources[i].hash[:]) == 1 && found == nil {
				found = &h.sources[i]
			}
		}
	}
	if found == nil {
		return nil, http.StatusUnauthorized, reasonBadCredentials
	}
	if !allowed(found.allow, r.RemoteAddr) {
		return found, http.StatusForbidden, reasonAddress
	}
	return found, 0, ""
}

// credentials returns the strings in the Authorization header that may be
// a token:
//   - Bearer <token>;
//   - ApiKey base64(id:key), as Beats, Logstash and Elastic Agent send
//     their api_key setting: the key, the whole decoded "id:key", or the
//     encoded text as given;
//   - Basic with the token as password, under any user name.
func credentials(r *http.Request) (cands [3]string, n int) {
	auth := r.Header.Get("Authorization")
	scheme, rest, ok := strings.Cut(auth, " ")
	if !ok {
		return cands, 0
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return cands, 0
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		cands[0], n = rest, 1
	case "apikey":
		cands[0], n = rest, 1
		if dec, err := base64.StdEncoding.DecodeString(rest); err == nil {
			whole := string(dec)
			cands[1], n = whole, 2
			if _, key, ok := strings.Cut(whole, ":"); ok && key != "" {
				cands[2], n = key, 3
			}
		}
	case "basic":
		if _, pass, ok := r.BasicAuth(); ok && pass != "" {
			cands[0], n = pass, 1
		}
	}
	return cands, n
}

// allowed reports whether the peer address remote ("ip:port") is within
// list; an empty list allows every address.
func allowed(list []netip.Prefix, remote string) bool {
	if len(list) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
