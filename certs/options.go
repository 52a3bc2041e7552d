package certs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Default lifetimes used when Options leaves them zero.
const (
	DefaultCALifetime   = 2 * 365 * 24 * time.Hour
	DefaultLeafLifetime = 90 * 24 * time.Hour
)

// maxBackdate bounds how far NotBefore is set before the issue time, to absorb
// clock skew between the operator and the apiserver.
const maxBackdate = time.Minute

// Options say what to issue and when it is.
type Options struct {
	// ServiceName and Namespace give the serving certificate the SANs
	// <svc>.<ns>.svc and <svc>.<ns>.svc.cluster.local. Both empty means no
	// Service names (only Loopback and the extras).
	ServiceName string
	Namespace   string

	// Loopback adds 127.0.0.1 and localhost, for runs outside the cluster
	// where the apiserver calls the webhook by URL.
	Loopback bool

	// ExtraDNSNames and ExtraIPs are added to the serving certificate as they are.
	ExtraDNSNames []string
	ExtraIPs      []net.IP

	// CALifetime and LeafLifetime are the validity of the CA and of the
	// serving certificate; zero takes the defaults. The CA must outlive the leaf.
	CALifetime   time.Duration
	LeafLifetime time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Rand is the randomness for keys and serials; nil means crypto/rand.
	Rand io.Reader
}

// DNSNames returns the DNS SANs the serving certificate carries.
func (o Options) DNSNames() []string {
	var names []string
	if o.ServiceName != "" && o.Namespace != "" {
		base := o.ServiceName + "." + o.Namespace + ".svc"
		names = append(names, base, base+".cluster.local")
	}
	if o.Loopback {
		names = append(names, "localhost")
	}
	return append(names, o.ExtraDNSNames...)
}

// IPAddresses returns the IP SANs the serving certificate carries.
func (o Options) IPAddresses() []net.IP {
	var ips []net.IP
	if o.Loopback {
		ips = append(ips, net.IPv4(127, 0, 0, 1))
	}
	return append(ips, o.ExtraIPs...)
}

// Names returns every SAN as a string (DNS names, then IP literals): the
// wantNames to pass to Bundle.Validate.
func (o Options) Names() []string {
	names := o.DNSNames()
	for _, ip := range o.IPAddresses() {
		names = append(names, ip.String())
	}
	return names
}

// complete returns o with defaults filled in, or an error when o cannot issue.
func (o Options) complete() (Options, error) {
	if o.CALifetime == 0 {
		o.CALifetime = DefaultCALifetime
	}
	if o.LeafLifetime == 0 {
		o.LeafLifetime = DefaultLeafLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	switch {
	case (o.ServiceName == "") != (o.Namespace == ""):
		return o, fmt.Errorf("certificate options: service name %q and namespace %q must be set together", o.ServiceName, o.Namespace)
	case len(o.DNSNames()) == 0 && len(o.IPAddresses()) == 0:
		return o, errors.New("certificate options: no name for the serving certificate (set a Service, Loopback or extra names)")
	case o.CALifetime < 0 || o.LeafLifetime < 0:
		return o, fmt.Errorf("certificate options: negative lifetime (CA %s, leaf %s)", o.CALifetime, o.LeafLifetime)
	case o.LeafLifetime >= o.CALifetime:
		return o, fmt.Errorf("certificate options: CA lifetime %s must be longer than leaf lifetime %s", o.CALifetime, o.LeafLifetime)
	}
	return o, nil
}

// backdate is how far before the issue time NotBefore is set: a tenth of the
// lifetime, at most a minute, so short test lifetimes keep their proportions.
func backdate(lifetime time.Duration) time.Duration {
	return min(maxBackdate, lifetime/10)
}
