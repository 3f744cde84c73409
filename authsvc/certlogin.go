package authsvc

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/idfusion/idfusion/schemas"
)

// CA 认证登录: a client certificate on a U-KEY, issued by a configured CA,
// names the account by one attribute of its subject. CertLogin holds the
// trusted roots and the CRLs (reloaded when their files change) and
// verifies a presented chain; certlogin_http.go serves it on its own TLS
// listener (Server.CertHandler).

// CertSubject says which subject attribute of a certificate carries the
// account's key, and what key it is.
type CertSubject struct {
	// Attribute is the attribute's OID: serialNumber (2.5.4.5), CN
	// (2.5.4.3) or any other.
	Attribute asn1.ObjectIdentifier
	// Kind is the account kind the key names: schemas.KindLegal (a
	// unified social credit code) or schemas.KindNatural (an ID number).
	Kind schemas.AccountKind
}

// The subject attributes ParseCertSubject knows by name: serialNumber
// and CN.
var (
	OIDSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// ParseCertSubject parses "ATTRIBUTE:KEY": ATTRIBUTE is serialNumber, CN
// or a dotted OID; KEY is credit-code (legal accounts) or id-number
// (natural ones). E.g. "serialNumber:credit-code".
func ParseCertSubject(s string) (CertSubject, error) {
	attr, key, ok := strings.Cut(s, ":")
	if !ok {
		return CertSubject{}, fmt.Errorf("certificate subject %q: want ATTRIBUTE:credit-code or ATTRIBUTE:id-number", s)
	}
	var cs CertSubject
	switch strings.ToLower(attr) {
	case "serialnumber":
		cs.Attribute = OIDSerialNumber
	case "cn":
		cs.Attribute = OIDCommonName
	default:
		for _, part := range strings.Split(attr, ".") {
			var n int
			if _, err := fmt.Sscanf(part, "%d", &n); err != nil || fmt.Sprint(n) != part {
				return CertSubject{}, fmt.Errorf("certificate subject attribute %q: want serialNumber, CN or a dotted OID", attr)
			}
			cs.Attribute = append(cs.Attribute, n)
		}
		if len(cs.Attribute) < 2 {
			return CertSubject{}, fmt.Errorf("certificate subject attribute %q: want serialNumber, CN or a dotted OID", attr)
		}
	}
	switch key {
	case "credit-code":
		cs.Kind = schemas.KindLegal
	case "id-number":
		cs.Kind = schemas.KindNatural
	default:
		return CertSubject{}, fmt.Errorf("certificate subject key %q: want credit-code or id-number", key)
	}
	return cs, nil
}

// CertLoginConfig is what NewCertLogin loads.
type CertLoginConfig struct {
	// Roots is a PEM file of the CA root certificates a client
	// certificate must chain to. Required.
	Roots string
	// CRLs are files of certificate revocation lists (DER or PEM), at
	// least one: every certificate of a chain but its root is checked
	// against its issuer's CRL, and a chain whose issuer has no valid,
	// unexpired CRL is refused (fail closed).
	CRLs []string
	// Subject says where the account's key is. Required.
	Subject CertSubject
	// BaseURL is the certificate listener's public address (scheme, host
	// and port), where the login page sends the browser. Required.
	BaseURL string
	// Logger gets the reloads. Default: discards.
	Logger *slog.Logger
}

// CertLogin verifies client certificates: against the roots, for client
// authentication, in their validity, not revoked. Its CRL files are
// stat'ed on each use and read again when their modification time or
// size changed; a file that no longer parses (or is not signed by the
// root it names) keeps the list read before and is logged.
type CertLogin struct {
	roots     *x509.CertPool
	rootCerts []*x509.Certificate
	subject   CertSubject
	baseURL   string
	logger    *slog.Logger

	mu   sync.Mutex
	crls []*crlFile
}

// crlFile is one CRL file as last read.
type crlFile struct {
	path    string
	modTime time.Time
	size    int64
	list    *x509.RevocationList
}

// NewCertLogin loads the roots and the CRLs; any that does not load is an
// error.
func NewCertLogin(c CertLoginConfig) (*CertLogin, error) {
	switch {
	case c.Roots == "":
		return nil, errors.New("certificate login: the CA roots (PEM) are required")
	case len(c.CRLs) == 0:
		return nil, errors.New("certificate login: at least one CRL is required")
	case c.Subject.Attribute == nil || (c.Subject.Kind != schemas.KindLegal && c.Subject.Kind != schemas.KindNatural):
		return nil, errors.New("certificate login: the subject attribute and its key are required")
	case !strings.HasPrefix(c.BaseURL, "https://"):
		return nil, errors.New("certificate login: the certificate listener's https base URL is required")
	}
	pemData, err := os.ReadFile(c.Roots)
	if err != nil {
		return nil, fmt.Errorf("certificate login: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("certificate login: no certificate in %s", c.Roots)
	}
	cl := &CertLogin{roots: roots, subject: c.Subject, baseURL: strings.TrimRight(c.BaseURL, "/"), logger: c.Logger}
	if cl.logger == nil {
		cl.logger = slog.New(slog.DiscardHandler)
	}
	rootCerts, err := parsePEMCerts(pemData)
	if err != nil {
		return nil, fmt.Errorf("certificate login: %s: %w", c.Roots, err)
	}
	cl.rootCerts = rootCerts
	for _, p := range c.CRLs {
		f := &crlFile{path: p}
		if err := f.load(rootCerts); err != nil {
			return nil, fmt.Errorf("certificate login: %w", err)
		}
		cl.crls = append(cl.crls, f)
	}
	return cl, nil
}

// BaseURL is the certificate listener's public address.
func (c *CertLogin) BaseURL() string { return c.baseURL }

func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
}

// load reads the file if it changed since it was last read. The list it
// had stays when the new one does not parse or a root that issued it does
// not verify its signature.
func (f *crlFile) load(roots []*x509.Certificate) error {
	fi, err := os.Stat(f.path)
	if err != nil {
		return err
	}
	if f.list != nil && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	if b, _ := pem.Decode(data); b != nil && b.Type == "X509 CRL" {
		data = b.Bytes
	}
	list, err := x509.ParseRevocationList(data)
	if err != nil {
		return fmt.Errorf("CRL %s: %w", f.path, err)
	}
	for _, r := range roots {
		if bytes.Equal(r.RawSubject, list.RawIssuer) {
			if err := list.CheckSignatureFrom(r); err != nil {
				return fmt.Errorf("CRL %s: not signed by its issuer: %w", f.path, err)
			}
		}
	}
	f.list, f.modTime, f.size = list, fi.ModTime(), fi.Size()
	return nil
}

// Reasons a certificate is refused, as the audit log's detail names them.
var (
	errCertNone        = errors.New("no client certificate")
	errCertUnknownCA   = errors.New("unknown CA")
	errCertExpired     = errors.New("expired")
	errCertNotYetValid = errors.New("not yet valid")
	errCertUsage       = errors.New("not for client authentication")
	errCertRevoked     = errors.New("revoked")
	errCertNoCRL       = errors.New("no valid CRL for the issuer")
	errCertCRLExpired  = errors.New("CRL expired")
	errCertUnmapped    = errors.New("unmapped subject")
)

// certIdentity is what a verified (or refused) certificate says: its key
// (the subject attribute), serial and issuer for the audit log.
type certIdentity struct {
	key    string
	serial string
	issuer string
	// trusted: the chain is the roots' (at some time in the leaf's
	// validity); its subject can be believed enough to count a failure on
	// the account it names.
	trusted bool
}

// serialText is a serial number as CAs print it, hex bytes between
// colons (the audit log's redaction would mask a long run of digits).
func serialText(n *big.Int) string {
	b := n.Bytes()
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// verify checks a presented chain (leaf first, then the intermediates
// the client sent) at now.
func (c *CertLogin) verify(chain []*x509.Certificate, now time.Time) (certIdentity, error) {
	if len(chain) == 0 {
		return certIdentity{}, errCertNone
	}
	leaf := chain[0]
	id := certIdentity{serial: serialText(leaf.SerialNumber), issuer: leaf.Issuer.String()}
	// The attribute once: a subject naming two keys names no account.
	var keys int
	for _, n := range leaf.Subject.Names {
		if n.Type.Equal(c.subject.Attribute) {
			keys++
			if v, ok := n.Value.(string); ok {
				id.key = strings.TrimSpace(v)
			}
		}
	}
	if keys > 1 {
		id.key = ""
	}
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	opts := x509.VerifyOptions{Roots: c.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	// Issued by the roots at all: checked at the start of the leaf's
	// validity, so that an expired certificate is told from a stranger's.
	opts.CurrentTime = leaf.NotBefore
	if _, err := leaf.Verify(opts); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage {
			return id, errCertUsage
		}
		return id, errCertUnknownCA
	}
	id.trusted = true
	opts.CurrentTime = now
	chains, err := leaf.Verify(opts)
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			if now.Before(leaf.NotBefore) {
				return id, errCertNotYetValid
			}
			return id, errCertExpired
		}
		return id, fmt.Errorf("%w: %v", errCertUnknownCA, err)
	}
	// Every certificate but the root against its issuer's CRL.
	path := chains[0]
	for i := 0; i+1 < len(path); i++ {
		if err := c.checkRevoked(path[i], path[i+1], now); err != nil {
			return id, err
		}
	}
	if id.key == "" {
		return id, fmt.Errorf("%w: no subject attribute %s", errCertUnmapped, c.subject.Attribute)
	}
	return id, nil
}

// crlSkew is how far a CRL's thisUpdate may be ahead of our clock (the
// CA's clock may run ahead a little).
const crlSkew = 5 * time.Minute

// checkRevoked looks cert up in the newest CRL in force its issuer
// signed, reloading the files that changed. No such CRL, or an expired
// one, refuses.
func (c *CertLogin) checkRevoked(cert, issuer *x509.Certificate, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var found *x509.RevocationList
	for _, f := range c.crls {
		if err := f.load(c.rootCerts); err != nil {
			// The list read before stays; never an open door.
			c.logger.Error("ca_crl_reload_failed", slog.String("path", f.path), errAttr(err))
		}
		l := f.list
		if !bytes.Equal(l.RawIssuer, cert.RawIssuer) || l.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if l.ThisUpdate.After(now.Add(crlSkew)) {
			// Not in force yet (RFC 5280): taken as the newest, it would
			// hide the current list's revocations until it is.
			continue
		}
		if found == nil || l.ThisUpdate.After(found.ThisUpdate) {
			found = l
		}
	}
	if found == nil {
		return errCertNoCRL
	}
	if found.NextUpdate.IsZero() || !now.Before(found.NextUpdate) {
		return errCertCRLExpired
	}
	for _, e := range found.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return errCertRevoked
		}
	}
	return nil
}
