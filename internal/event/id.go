// SPDX-License-Identifier: Apache-2.0

package event

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// ID identifies an event. Its first 8 bytes are a time in Unix nanoseconds
// (big-endian), so ids sort by time; the last 8 are random, or a hash for
// ids derived from content.
type ID [16]byte

// crockford is Crockford's base32: ascending in ASCII, so that the text form
// sorts as the bytes do.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns a fresh id for an event received at ns.
func NewID(ns int64) ID {
	var id ID
	binary.BigEndian.PutUint64(id[:8], uint64(ns))
	binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	return id
}

// DeriveID returns the id of an event at ns identified by key, the same each
// time: importing one file twice gives the same ids.
func DeriveID(ns int64, key []byte) ID {
	var id ID
	binary.BigEndian.PutUint64(id[:8], uint64(ns))
	h := sha256.Sum256(key)
	copy(id[8:], h[:8])
	return id
}

// IsZero reports whether id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// String returns the 26-character text form.
func (id ID) String() string { return crockford.EncodeToString(id[:]) }

// ParseID parses the text form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 26 {
		return id, fmt.Errorf("event id %q: want 26 characters", s)
	}
	n, err := crockford.Decode(id[:], []byte(s))
	if err != nil || n != 16 {
		return ID{}, fmt.Errorf("event id %q: not an event id", s)
	}
	return id, nil
}
