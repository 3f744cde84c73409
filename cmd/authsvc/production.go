package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/idfusion/idfusion/authsvc"
)

// prodFlags are the settings of a production service: the providers, TLS
// and the proxies. Each flag defaults to its environment variable; the
// SMS gateway's secret is read from a file or the environment only, never
// from a flag (argv is visible to every user of the machine).
type prodFlags struct {
	smsURL, smsKeyID, smsSecretFile string
	faceURL, facePublicKey          string
	licenceURL, licencePublicKey    string
	tlsCert, tlsKey                 string
	trustProxy                      string
}

func (p *prodFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.smsURL, "sms-url", os.Getenv("AUTHSVC_SMS_URL"), "the SMS gateway's https URL (env AUTHSVC_SMS_URL)")
	fs.StringVar(&p.smsKeyID, "sms-key-id", os.Getenv("AUTHSVC_SMS_KEY_ID"), "the key id the SMS gateway knows this service by (env AUTHSVC_SMS_KEY_ID)")
	fs.StringVar(&p.smsSecretFile, "sms-secret-file", os.Getenv("AUTHSVC_SMS_SECRET_FILE"), "a file holding the SMS gateway's shared secret (env AUTHSVC_SMS_SECRET_FILE; or the secret itself in AUTHSVC_SMS_SECRET)")
	fs.StringVar(&p.faceURL, "face-url", os.Getenv("AUTHSVC_FACE_URL"), "the face app's URL for a challenge, holding {challenge} (env AUTHSVC_FACE_URL)")
	fs.StringVar(&p.facePublicKey, "face-public-key", os.Getenv("AUTHSVC_FACE_PUBLIC_KEY"), "the face provider's Ed25519 public key, base64 (env AUTHSVC_FACE_PUBLIC_KEY)")
	fs.StringVar(&p.licenceURL, "licence-url", os.Getenv("AUTHSVC_LICENCE_URL"), "the electronic business licence app's URL for a challenge, holding {challenge}; optional (env AUTHSVC_LICENCE_URL)")
	fs.StringVar(&p.licencePublicKey, "licence-public-key", os.Getenv("AUTHSVC_LICENCE_PUBLIC_KEY"), "the electronic business licence app's Ed25519 public key, base64 (env AUTHSVC_LICENCE_PUBLIC_KEY)")
	fs.StringVar(&p.tlsCert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM); with --tls-key")
	fs.StringVar(&p.tlsKey, "tls-key", "", "the private key (PEM) of --tls-cert")
	fs.StringVar(&p.trustProxy, "trust-proxy", os.Getenv("AUTHSVC_TRUST_PROXY"), "CIDR,... of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (env AUTHSVC_TRUST_PROXY)")
}

// errPlainHTTP explains why production needs HTTPS somewhere.
const errPlainHTTP = "HTTPS: --tls-cert and --tls-key, or --trust-proxy behind a proxy that terminates TLS " +
	"(the session cookie is __Host-, Secure: browsers do not send it back over plain HTTP, so nobody could log in)"

// configure fills the providers, TLS and proxies of cfg. Without dev every
// one is required, and what is missing is named at once; with dev a
// provider given is used instead of the development one.
func (p *prodFlags) configure(cfg *authsvc.Config, dev bool) (*tls.Config, error) {
	var missing, problems []string
	check := func(err error) {
		if err != nil {
			problems = append(problems, err.Error())
		}
	}

	secret, secretFrom, err := p.smsSecret()
	check(err)
	if !dev || p.smsURL != "" || p.smsKeyID != "" || secretFrom != "" {
		if m := unset(p.smsURL, "--sms-url (AUTHSVC_SMS_URL)", p.smsKeyID, "--sms-key-id (AUTHSVC_SMS_KEY_ID)",
			secretFrom, "its secret in --sms-secret-file (AUTHSVC_SMS_SECRET_FILE) or AUTHSVC_SMS_SECRET"); m != "" {
			missing = append(missing, "an SMS gateway: "+m)
		} else {
			cfg.SMS, err = authsvc.NewHTTPSMSGateway(p.smsURL, p.smsKeyID, secret, nil, nil)
			check(err)
		}
	}
	if !dev || p.faceURL != "" || p.facePublicKey != "" {
		switch m := unset(p.faceURL, "--face-url (AUTHSVC_FACE_URL)", p.facePublicKey, "--face-public-key (AUTHSVC_FACE_PUBLIC_KEY)"); {
		case m != "":
			missing = append(missing, "a face provider: "+m)
		default:
			pub, err := authsvc.ParseEd25519PublicKey(p.facePublicKey)
			if err != nil {
				check(fmt.Errorf("AUTHSVC_FACE_PUBLIC_KEY: %w", err))
				break
			}
			cfg.Face, err = authsvc.NewFaceApp(p.faceURL, pub)
			check(err)
		}
	}
	// The licence app is optional, in production too: without it the
	// 法人登录 has no 电子营业执照 scan. Half of it is a mistake.
	if p.licenceURL != "" || p.licencePublicKey != "" {
		switch m := unset(p.licenceURL, "--licence-url (AUTHSVC_LICENCE_URL)", p.licencePublicKey, "--licence-public-key (AUTHSVC_LICENCE_PUBLIC_KEY)"); {
		case m != "":
			problems = append(problems, "the electronic business licence app needs "+m)
		default:
			pub, err := authsvc.ParseEd25519PublicKey(p.licencePublicKey)
			if err != nil {
				check(fmt.Errorf("AUTHSVC_LICENCE_PUBLIC_KEY: %w", err))
				break
			}
			cfg.Licence, err = authsvc.NewLicenceApp(p.licenceURL, pub)
			check(err)
		}
	}

	var tc *tls.Config
	switch {
	case (p.tlsCert == "") != (p.tlsKey == ""):
		problems = append(problems, "--tls-cert and --tls-key go together")
	case p.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(p.tlsCert, p.tlsKey)
		if err != nil {
			check(fmt.Errorf("--tls-cert/--tls-key: %w", err))
			break
		}
		tc = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if p.trustProxy != "" {
		cfg.TrustedProxies, err = parsePrefixes(p.trustProxy)
		check(err)
	}
	if !dev {
		if p.tlsCert == "" && p.trustProxy == "" {
			missing = append(missing, errPlainHTTP)
		}
		if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme != "https" {
			problems = append(problems, "--base-url must be the service's public https URL")
		}
	}

	if len(missing) > 0 {
		problems = append([]string{"without --dev the service needs " + strings.Join(missing, "; and ")}, problems...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return tc, nil
}

// unset names the settings of pairs (value, name) whose value is empty.
func unset(pairs ...string) string {
	var names []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			names = append(names, pairs[i+1])
		}
	}
	return strings.Join(names, ", ")
}

// smsSecret reads the gateway's secret from the file or the environment;
// from says which ("" when neither is set).
func (p *prodFlags) smsSecret() (secret []byte, from string, err error) {
	env := os.Getenv("AUTHSVC_SMS_SECRET")
	switch {
	case p.smsSecretFile != "" && env != "":
		return nil, "both", errors.New("the SMS gateway secret is both in --sms-secret-file and AUTHSVC_SMS_SECRET; give one")
	case p.smsSecretFile != "":
		b, err := os.ReadFile(p.smsSecretFile)
		if err != nil {
			return nil, "file", fmt.Errorf("--sms-secret-file: %w", err)
		}
		return []byte(strings.TrimSpace(string(b))), "file", nil
	case env != "":
		return []byte(strings.TrimSpace(env)), "env", nil
	}
	return nil, "", nil
}

// parsePrefixes parses a comma-separated list of CIDR prefixes or single
// addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if p, err := netip.ParsePrefix(f); err == nil {
			if p != p.Masked() {
				return nil, fmt.Errorf("--trust-proxy: %s has host bits set; did you mean %s?", f, p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trust-proxy: %q is neither a CIDR prefix nor an address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
