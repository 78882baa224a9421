package weirconf

// The plumbing of the sec_* scenarios shared by the Go drivers: where the secured listeners of
// the broker conformance/run starts are (WEIR_SEC_* in the environment), the TLS settings that
// reach them, an unsecured JWS for OAUTHBEARER and, for clients that leave SCRAM's arithmetic to
// the application (sarama's SCRAMClientGeneratorFunc) where no SCRAM library is at hand
// (Debian's gocode tree has none), a SCRAM-SHA-512 client from the standard library.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/ioutil"
	"os"
	"strconv"
	"strings"
	"time"
)

// Kafka's messages for a refused SCRAM-SHA-512 and PLAIN authentication (SaslAuthenticate's
// error_message with SASL_AUTHENTICATION_FAILED, 58).
const (
	ScramRefused = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
	PlainRefused = "Authentication failed: Invalid username or password"
)

// SecListener returns the HOST:PORT of the secured listener for kind (scram: SASL_SSL,
// mtls: SSL, plain and oauth: SASL_PLAINTEXT) and the PKI directory; it fails the scenario
// when conformance/run did not provide them.
func SecListener(kind string) (bootstrap, dir string) {
	env := map[string]string{"scram": "WEIR_SEC_SASL_SSL", "mtls": "WEIR_SEC_SSL"}[kind]
	if env == "" {
		env = "WEIR_SEC_SASL_PLAINTEXT"
	}
	dir, bootstrap = os.Getenv("WEIR_SEC_DIR"), os.Getenv(env)
	if dir == "" || bootstrap == "" {
		Failf("%s/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners conformance/run starts weir with (not available with --bootstrap)", env)
	}
	return bootstrap, dir
}

// SecTLS is a TLS client configuration trusting the run's CA (ca.pem), with the client
// certificate (client.crt, client.key) when clientCert is set.
func SecTLS(dir string, clientCert bool) *tls.Config {
	pem, err := ioutil.ReadFile(dir + "/ca.pem")
	NoErr(err, "read ca.pem")
	pool := x509.NewCertPool()
	Check(pool.AppendCertsFromPEM(pem), "no certificate in ca.pem")
	c := &tls.Config{RootCAs: pool}
	if clientCert {
		cert, err := tls.LoadX509KeyPair(dir+"/client.crt", dir+"/client.key")
		NoErr(err, "load the client certificate")
		c.Certificates = []tls.Certificate{cert}
	}
	return c
}

// UnsecuredJWS is an unsecured ("alg":"none") JWS for sub, as Kafka's default OAUTHBEARER
// validator accepts it. iat in whole seconds: a sub-millisecond iat can be later than the
// broker's millisecond clock, and the validator refuses an iat in the future.
func UnsecuredJWS(sub string) string {
	b64 := func(v interface{}) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	now := time.Now().Unix()
	return b64(map[string]string{"alg": "none"}) + "." +
		b64(map[string]interface{}{"sub": sub, "iat": now, "exp": now + 3600}) + "."
}

// ScramSHA512 is a SCRAM-SHA-512 client (RFC 5802/7677) with sarama's SCRAMClient methods
// (Begin, Step, Done). It verifies the server's signature.
type ScramSHA512 struct {
	user, pass, nonce, clientFirstBare string
	serverSig                          []byte
	step                               int
}

// Begin starts a conversation for userName and password.
func (s *ScramSHA512) Begin(userName, password, authzID string) error {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	esc := strings.NewReplacer("=", "=3D", ",", "=2C")
	s.user, s.pass, s.nonce, s.step = esc.Replace(userName), password, base64.RawStdEncoding.EncodeToString(b), 0
	s.clientFirstBare = "n=" + s.user + ",r=" + s.nonce
	return nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha512.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// pbkdf2 with HMAC-SHA-512 and one block (dkLen = 64 = the hash size), as SCRAM's Hi().
func hi(pass string, salt []byte, iter int) []byte {
	h := hmac.New(sha512.New, []byte(pass))
	h.Write(salt)
	h.Write([]byte{0, 0, 0, 1})
	u := h.Sum(nil)
	out := append([]byte(nil), u...)
	for i := 1; i < iter; i++ {
		h.Reset()
		h.Write(u)
		u = h.Sum(u[:0])
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

// Step answers the server's message: "" -> client-first, server-first -> client-final,
// server-final -> "" (after checking the server signature).
func (s *ScramSHA512) Step(challenge string) (string, error) {
	s.step++
	switch s.step {
	case 1:
		return "n,," + s.clientFirstBare, nil
	case 2:
		attrs := map[string]string{}
		for _, kv := range strings.Split(challenge, ",") {
			if len(kv) > 2 && kv[1] == '=' {
				attrs[kv[:1]] = kv[2:]
			}
		}
		if !strings.HasPrefix(attrs["r"], s.nonce) {
			return "", fmt.Errorf("SCRAM: server nonce %q does not extend ours", attrs["r"])
		}
		salt, err := base64.StdEncoding.DecodeString(attrs["s"])
		if err != nil {
			return "", fmt.Errorf("SCRAM: bad salt: %v", err)
		}
		iter, err := strconv.Atoi(attrs["i"])
		if err != nil || iter < 1 {
			return "", fmt.Errorf("SCRAM: bad iteration count %q", attrs["i"])
		}
		salted := hi(s.pass, salt, iter)
		clientKey := mac(salted, "Client Key")
		stored := sha512.Sum512(clientKey)
		final := "c=biws,r=" + attrs["r"]
		authMsg := s.clientFirstBare + "," + challenge + "," + final
		sig := mac(stored[:], authMsg)
		for i := range sig {
			sig[i] ^= clientKey[i]
		}
		s.serverSig = mac(mac(salted, "Server Key"), authMsg)
		return final + ",p=" + base64.StdEncoding.EncodeToString(sig), nil
	case 3:
		if strings.HasPrefix(challenge, "e=") {
			return "", errors.New("SCRAM: server error " + challenge[2:])
		}
		v, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(challenge, "v="))
		if err != nil || !hmac.Equal(v, s.serverSig) {
			return "", errors.New("SCRAM: the server's signature does not verify")
		}
		return "", nil
	}
	return "", errors.New("SCRAM: conversation already done")
}

// Done is true once the server's final message was checked.
func (s *ScramSHA512) Done() bool { return s.step >= 3 }
