package clbsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authError is a failed signature check, with the API's error code.
type authError struct {
	code, msg string
}

// verify checks a request's TC3-HMAC-SHA256 signature as the API does:
// the Authorization header names the algorithm, the secret id with the
// credential scope (date/service/tc3_request), the signed headers and the
// signature; the server rebuilds the canonical request from the request it
// got (method, URI "/", query, the signed headers' lower-cased names and
// values, the hex SHA-256 of the body), the string to sign, and the
// signing key derived from the secret key, the date and the service, and
// compares. The timestamp must be within skew of now.
func verify(r *http.Request, body []byte, secrets map[string]string, service string, now time.Time, skew time.Duration) *authError {
	fields, e := authFields(r.Header.Get("Authorization"))
	if e != nil {
		return e
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 4 || cred[3] != "tc3_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return &authError{"AuthFailure.InvalidAuthorization", "Authorization needs Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders and Signature"}
	}
	secretID, date, svc := cred[0], cred[1], cred[2]
	key, ok := secrets[secretID]
	if !ok {
		return &authError{"AuthFailure.SecretIdNotFound", "the SecretId does not exist"}
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return &authError{"AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not a number of seconds"}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return &authError{"AuthFailure.SignatureExpire", fmt.Sprintf("the timestamp is %s away from the server's clock, more than %s", d.Round(time.Second), skew)}
	}
	if svc != service || date != time.Unix(ts, 0).UTC().Format("2006-01-02") {
		return &authError{"AuthFailure.SignatureFailure", "the credential scope does not match the service or the timestamp's date"}
	}
	canonHeaders := canonicalHeaders(r, strings.Split(fields["SignedHeaders"], ";"))
	canonical := strings.Join([]string{r.Method, "/", r.URL.RawQuery, canonHeaders, fields["SignedHeaders"], sha256Hex(body)}, "\n")
	scope := date + "/" + svc + "/tc3_request"
	toSign := strings.Join([]string{signAlgorithm, strconv.FormatInt(ts, 10), scope, sha256Hex([]byte(canonical))}, "\n")
	k := mac([]byte("TC3"+key), date)
	k = mac(k, svc)
	k = mac(k, "tc3_request")
	want := hex.EncodeToString(mac(k, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return &authError{"AuthFailure.SignatureFailure", "the request signature does not match"}
	}
	return nil
}

// signAlgorithm is the only signature algorithm served.
const signAlgorithm = "TC3-HMAC-SHA256"

// authFields splits the Authorization header "TC3-HMAC-SHA256 k=v, k=v, ..."
// into its fields.
func authFields(auth string) (map[string]string, *authError) {
	rest, ok := strings.CutPrefix(auth, signAlgorithm+" ")
	if !ok {
		return nil, &authError{"AuthFailure.InvalidAuthorization", "Authorization header is not " + signAlgorithm}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, &authError{"AuthFailure.InvalidAuthorization", "malformed Authorization field " + part}
		}
		fields[k] = v
	}
	return fields, nil
}

// canonicalHeaders is the signed headers' "name:value\n" lines, lower-cased,
// the Host header read from the request's host.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if strings.EqualFold(h, "host") {
			v = r.Host
		}
		fmt.Fprintf(&b, "%s:%s\n", strings.ToLower(h), strings.ToLower(strings.TrimSpace(v)))
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
