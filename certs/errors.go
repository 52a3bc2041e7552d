package certs

import (
	"errors"
	"fmt"
)

// Reason says why a certificate bundle is not usable.
type Reason string

// The reasons a ValidationError reports.
const (
	// ReasonMissing means a required Secret key or bundle part is absent or empty.
	ReasonMissing Reason = "Missing"
	// ReasonBadPEM means a value is not PEM, or its PEM does not hold a parsable certificate or key.
	ReasonBadPEM Reason = "BadPEM"
	// ReasonKeyMismatch means a private key does not belong to its certificate.
	ReasonKeyMismatch Reason = "KeyMismatch"
	// ReasonNotCA means the CA certificate may not sign certificates.
	ReasonNotCA Reason = "NotCA"
	// ReasonMissingSAN means the serving certificate does not cover a wanted name.
	ReasonMissingSAN Reason = "MissingSAN"
	// ReasonExpired means a certificate's NotAfter has passed.
	ReasonExpired Reason = "Expired"
	// ReasonNotYetValid means a certificate's NotBefore is still ahead.
	ReasonNotYetValid Reason = "NotYetValid"
	// ReasonNotSignedByCA means the serving certificate does not chain to the bundle's CA.
	ReasonNotSignedByCA Reason = "NotSignedByCA"
	// ReasonWrongUsage means the serving certificate may not be used for TLS server authentication.
	ReasonWrongUsage Reason = "WrongUsage"
)

// ValidationError is the typed error Decode, Validate and Verifies return.
// Item names the part at fault with its Secret key (KeyCACert, KeyTLSKey, ...)
// or "caBundle"; Detail adds the specifics, such as the missing name.
type ValidationError struct {
	Reason Reason
	Item   string
	Detail string
	Err    error
}

// Error implements error as "<item>: <reason>: <detail>: <cause>".
func (e *ValidationError) Error() string {
	msg := e.Item + ": " + string(e.Reason)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first ValidationError in err's chain, or
// "" when there is none.
func ReasonOf(err error) Reason {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

func invalid(reason Reason, item string, err error, format string, args ...any) *ValidationError {
	return &ValidationError{Reason: reason, Item: item, Detail: fmt.Sprintf(format, args...), Err: err}
}

// ErrNoCertificate is returned by Keeper.GetCertificate before the first Update.
var ErrNoCertificate = errors.New("no serving certificate loaded yet")

// ErrNoCAKey is returned when a bundle must sign a certificate but holds no CA key
// (a bundle decoded with DecodeServing from a Secret lbgate does not own).
var ErrNoCAKey = errors.New("bundle holds no CA private key")

// ErrRotationInProgress is returned by RotateCA while the previous CA is still kept.
var ErrRotationInProgress = errors.New("a CA rotation is still in progress")

// ErrNotManaged is returned by WriteSecret for an existing Secret without the managed label.
var ErrNotManaged = errors.New("secret is not managed by lbgate (label " + LabelManaged + "=" + LabelManagedValue + " missing)")
