// Package authsvc is the login service: login methods, sessions, and the
// first-login completion of fused accounts (supplement info, set a
// password, face verification), enforced by the server.
package authsvc
