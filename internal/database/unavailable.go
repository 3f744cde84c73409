package database

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// Unavailable reports whether err means that the database could not be
// reached or would not serve at the time, rather than that the request
// was wrong: a caller answers "try again later" (HTTP 503), not "bug"
// (500).
//
// It is true for
//   - a failed connection attempt (*pgconn.ConnectError), whatever the
//     cause: refused, no socket, a server starting up or out of connection
//     slots, but also a misconfiguration such as a missing database (the
//     logged error tells which);
//   - a connection lost under a statement: reset, broken pipe, EOF, or
//     used after pgx closed it;
//   - the server's SQLSTATE class 08 (connection exception), 57P01
//     admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now and
//     53300 too_many_connections;
//   - a pool that was closed (pgxpool's "closed pool");
//   - a deadline that passed while waiting for the database, such as for a
//     connection from a pool with all its connections busy.
//
// An error from an HTTP call (*url.Error) is never the database's, whatever
// network error it holds: a refused SMS gateway is not a database outage.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if anyError(err, func(e error) bool {
		pe, ok := e.(*pgconn.PgError)
		return ok && unavailableCode(pe.Code)
	}) {
		return true
	}
	for _, target := range []error{
		puddle.ErrClosedPool, pgconn.ErrConnClosed, net.ErrClosed,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		io.EOF, io.ErrUnexpectedEOF,
		context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// anyError reports whether f holds for err or an error it wraps, in every
// branch of a joined error (errors.As stops at the first *pgconn.PgError).
func anyError(err error, f func(error) bool) bool {
	if err == nil {
		return false
	}
	if f(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return anyError(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if anyError(e, f) {
				return true
			}
		}
	}
	return false
}

// unavailableCode reports whether a SQLSTATE says the server cannot serve
// now (see Unavailable).
func unavailableCode(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return strings.HasPrefix(code, "08")
}
