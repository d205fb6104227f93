// SPDX-License-Identifier: Apache-2.0

package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error for callers: the web layer turns it into a status
// code, the CLI into an exit message.
type Kind string

// The kinds of fault. Internal is the zero value's meaning: an error that is
// not a *Error is internal.
const (
	Internal        Kind = "internal"
	Invalid         Kind = "invalid"
	NotFound        Kind = "not_found"
	Conflict        Kind = "conflict"
	Unauthenticated Kind = "unauthenticated"
	Forbidden       Kind = "forbidden"
	TooMany         Kind = "too_many"
	TooLarge        Kind = "too_large"
)

// Error is an error with a kind and a public message. Msg is a message id of
// the i18n catalogue; Args are its named arguments (name, value pairs).
type Error struct {
	Kind Kind
	Msg  string
	Args []any
	// Field names the form field or input the error is about, if any.
	Field string
	// Err is the underlying cause, for operators; never shown to users.
	Err error
}

// Error returns the message id, arguments and cause, for logs.
func (e *Error) Error() string {
	s := string(e.Kind) + ": " + e.Msg
	if len(e.Args) > 0 {
		s += fmt.Sprint(e.Args)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a fault of the given kind with message id msg and its named
// arguments (name, value, name, value …).
func New(kind Kind, msg string, args ...any) *Error {
	return &Error{Kind: kind, Msg: msg, Args: args}
}

// InvalidField returns an Invalid fault about a form field or input.
func InvalidField(field, msg string, args ...any) *Error {
	return &Error{Kind: Invalid, Msg: msg, Args: args, Field: field}
}

// Wrap returns a fault of the given kind with message id msg whose cause is err.
func Wrap(kind Kind, err error, msg string, args ...any) *Error {
	return &Error{Kind: kind, Msg: msg, Args: args, Err: err}
}

// KindOf reports the kind of the first fault in err's chain, or Internal.
func KindOf(err error) Kind {
	var f *Error
	if errors.As(err, &f) {
		return f.Kind
	}
	return Internal
}

// Is reports whether err's chain holds a fault of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Public returns the message id and arguments a user may see for err. An
// internal error yields the generic message "error.internal".
func Public(err error) (msg string, args []any) {
	var f *Error
	if errors.As(err, &f) && f.Kind != Internal {
		return f.Msg, f.Args
	}
	return "error.internal", nil
}

// List is several faults reported together, such as every invalid field of a
// form. It is itself Invalid when all of its faults are.
type List []*Error

// Error joins the messages of the list.
func (l List) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}

// Err returns nil for an empty list and the list otherwise, so that
// "return errs.Err()" never yields a typed nil.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// As lets errors.As find the first fault of a list, so that KindOf and
// Public work on lists.
func (l List) As(target any) bool {
	if len(l) == 0 {
		return false
	}
	if p, ok := target.(**Error); ok {
		*p = l[0]
		return true
	}
	return false
}

// Faults returns the faults in err: the members of a List, the single fault,
// or nil.
func Faults(err error) []*Error {
	var l List
	if errors.As(err, &l) {
		return l
	}
	var f *Error
	if errors.As(err, &f) {
		return []*Error{f}
	}
	return nil
}
