// SPDX-License-Identifier: Apache-2.0

package event

import (
	"errors"
	"sync"
	"sync/atomic"
)

// FieldID stands for a field name within this process. The zero FieldID is
// no field.
type FieldID uint32

// MaxNames bounds the number of distinct field names a process interns, so
// that input with ever-new field names cannot grow memory without end.
const MaxNames = 1 << 16

// ErrTooManyNames is returned by Intern when MaxNames names are interned.
var ErrTooManyNames = errors.New("event: too many distinct field names")

var names struct {
	ids  sync.Map // string → FieldID
	mu   sync.Mutex
	list atomic.Pointer[[]string] // FieldID → name; index 0 is ""
}

func init() {
	l := make([]string, 1, 1024)
	names.list.Store(&l)
}

// Intern returns the id of name, giving it one if it has none.
func Intern(name string) (FieldID, error) {
	if id, ok := names.ids.Load(name); ok {
		return id.(FieldID), nil
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	if id, ok := names.ids.Load(name); ok {
		return id.(FieldID), nil
	}
	l := *names.list.Load()
	if len(l) > MaxNames {
		return 0, ErrTooManyNames
	}
	name = string([]byte(name)) // never keep a caller's larger buffer alive
	id := FieldID(len(l))
	// Readers hold the old slice header; appending within capacity writes
	// past their length only, and a grown slice is a new array.
	l = append(l, name)
	names.list.Store(&l)
	names.ids.Store(name, id)
	return id, nil
}

// MustIntern is Intern for names fixed in code, which always fit.
func MustIntern(name string) FieldID {
	id, err := Intern(name)
	if err != nil {
		panic("event: cannot intern built-in field name " + name)
	}
	return id
}

// Lookup returns the id of name if it was interned.
func Lookup(name string) (FieldID, bool) {
	id, ok := names.ids.Load(name)
	if !ok {
		return 0, false
	}
	return id.(FieldID), true
}

// Name returns the name id stands for, or "" for an unknown id.
func (id FieldID) Name() string {
	l := *names.list.Load()
	if int(id) >= len(l) {
		return ""
	}
	return l[id]
}
