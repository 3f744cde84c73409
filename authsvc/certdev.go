package authsvc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// DevCA is a development certificate authority for the CA login: what
// `authsvc dev-ca` writes, and what the tests issue client certificates
// with. Never a production CA: its key lies in a file.
type DevCA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewDevCA makes a CA (ECDSA P-256) valid from now for ten years.
func NewDevCA(name string, now time.Time) (*DevCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"idfusion development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &DevCA{Cert: cert, Key: key}, nil
}

// Intermediate makes a CA under ca (ECDSA P-256), valid from now for
// five years.
func (ca *DevCA) Intermediate(name string, now time.Time) (*DevCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"idfusion development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &DevCA{Cert: cert, Key: key}, nil
}

// DevCert is a client certificate and its key.
type DevCert struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// Chain are the intermediates a client sends after Cert.
	Chain []*x509.Certificate
}

// Issue makes a client certificate (ExtKeyUsageClientAuth) whose subject
// has attr = value (the account's key; nil attr: none) and CN name,
// valid from notBefore to notAfter.
func (ca *DevCA) Issue(attr asn1.ObjectIdentifier, value, name string, notBefore, notAfter time.Time) (*DevCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	subj := pkix.Name{Organization: []string{"idfusion development"}}
	if name != "" && !attr.Equal(OIDCommonName) {
		subj.CommonName = name
	}
	if attr != nil {
		subj.ExtraNames = []pkix.AttributeTypeAndValue{{Type: attr, Value: value}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      subj,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &DevCert{Cert: cert, Key: key}, nil
}

// CRL is the CA's revocation list of the serials revoked, issued at
// thisUpdate, next due at nextUpdate, in PEM.
func (ca *DevCA) CRL(revoked []*big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	tmpl := &x509.RevocationList{Number: big.NewInt(thisUpdate.UnixNano()), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, s := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

// CertPEM is a certificate in PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM is a private key in PEM (PKCS #8).
func KeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteDevCA writes into dir what `authsvc dev-ca` makes: ca.pem and
// ca.key, user.pem and user.key (a client certificate with attr = value,
// valid a year), server.pem and server.key (a server certificate for
// localhost and 127.0.0.1, for the CA listener), crl.pem (valid 30 days; revoke puts the user's
// certificate in it). Keys are written 0600.
func WriteDevCA(dir string, attr asn1.ObjectIdentifier, value, name string, revoke bool, now time.Time) error {
	if value == "" {
		return errors.New("dev-ca: the subject's key is required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := NewDevCA("idfusion development CA", now)
	if err != nil {
		return err
	}
	user, err := ca.Issue(attr, value, name, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	server, err := ca.issueServer(now)
	if err != nil {
		return err
	}
	var revoked []*big.Int
	if revoke {
		revoked = append(revoked, user.Cert.SerialNumber)
	}
	crl, err := ca.CRL(revoked, now.Add(-time.Minute), now.AddDate(0, 0, 30))
	if err != nil {
		return err
	}
	caKey, err := KeyPEM(ca.Key)
	if err != nil {
		return err
	}
	userKey, err := KeyPEM(user.Key)
	if err != nil {
		return err
	}
	serverKey, err := KeyPEM(server.Key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.pem", CertPEM(ca.Cert), 0o644}, {"ca.key", caKey, 0o600},
		{"user.pem", CertPEM(user.Cert), 0o644}, {"user.key", userKey, 0o600},
		{"crl.pem", crl, 0o644},
		{"server.pem", CertPEM(server.Cert), 0o644}, {"server.key", serverKey, 0o600},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil { // an existing file keeps its mode on WriteFile
			return err
		}
	}
	return nil
}

// issueServer makes a server certificate for localhost and 127.0.0.1.
func (ca *DevCA) issueServer(now time.Time) (*DevCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &DevCert{Cert: cert, Key: key}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}
