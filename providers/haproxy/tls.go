package haproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM files for a Runtime API reached over TLS
// (tls://host:port): lbgate's client certificate and key, and the CA that
// signed HAProxy's server certificate. The files are read again when they
// change, so a mounted Secret that cert-manager renews is picked up by the
// next connection.
type TLSFiles struct {
	// CertFile is lbgate's client certificate (PEM, may hold a chain).
	CertFile string
	// KeyFile is the private key of CertFile (PEM).
	KeyFile string
	// CAFile holds the CA certificates that HAProxy's server certificate
	// must chain to (PEM). The system roots are never used.
	CAFile string
	// ServerName is the name HAProxy's certificate must carry; empty means
	// the host of the address.
	ServerName string
}

// TLSFile says which of the TLS files an error is about.
type TLSFile string

// The TLS files, as TLSFileError names them.
const (
	TLSCert TLSFile = "client certificate"
	TLSKey  TLSFile = "client key"
	TLSCA   TLSFile = "CA"
)

// TLSFileError says a TLS file cannot be read or does not hold what it
// should. It names the file and its path, never its content.
type TLSFileError struct {
	File TLSFile
	Path string
	Err  error
}

func (e *TLSFileError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.File, e.Path, e.Err)
}

func (e *TLSFileError) Unwrap() error { return e.Err }

// tlsLoader builds the client's tls.Config from TLSFiles, and builds it
// again when a file's size or modification time changes.
type tlsLoader struct {
	files TLSFiles

	mu     sync.Mutex
	stamps [3]fileStamp
	config *tls.Config
}

// fileStamp is what tells a changed file: a mounted Secret is updated by
// swapping a symlink, which changes both.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// newTLSLoader checks that every file is named and loads them once, so a
// wrong path fails at start.
func newTLSLoader(files TLSFiles) (*tlsLoader, error) {
	for _, f := range []struct {
		file TLSFile
		path string
	}{{TLSCert, files.CertFile}, {TLSKey, files.KeyFile}, {TLSCA, files.CAFile}} {
		if f.path == "" {
			return nil, &TLSFileError{File: f.file, Path: `""`, Err: errors.New("a tls:// Runtime API needs the client certificate, its key and the CA of HAProxy's certificate")}
		}
	}
	l := &tlsLoader{files: files}
	if _, err := l.current(); err != nil {
		return nil, err
	}
	return l, nil
}

// current returns the tls.Config for the files as they are now.
func (l *tlsLoader) current() (*tls.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var stamps [3]fileStamp
	for i, f := range []struct {
		file TLSFile
		path string
	}{{TLSCert, l.files.CertFile}, {TLSKey, l.files.KeyFile}, {TLSCA, l.files.CAFile}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			return nil, &TLSFileError{File: f.file, Path: f.path, Err: err}
		}
		stamps[i] = fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	}
	if l.config != nil && stamps == l.stamps {
		return l.config, nil
	}
	cfg, err := loadTLSConfig(l.files)
	if err != nil {
		return nil, err
	}
	l.config, l.stamps = cfg, stamps
	return cfg, nil
}

// loadTLSConfig reads the files into a client configuration that presents
// the certificate and verifies HAProxy's against the CA only.
func loadTLSConfig(files TLSFiles) (*tls.Config, error) {
	certPEM, err := os.ReadFile(files.CertFile)
	if err != nil {
		return nil, &TLSFileError{File: TLSCert, Path: files.CertFile, Err: err}
	}
	keyPEM, err := os.ReadFile(files.KeyFile)
	if err != nil {
		return nil, &TLSFileError{File: TLSKey, Path: files.KeyFile, Err: err}
	}
	caPEM, err := os.ReadFile(files.CAFile)
	if err != nil {
		return nil, &TLSFileError{File: TLSCA, Path: files.CAFile, Err: err}
	}
	if !hasCertificate(certPEM) {
		return nil, &TLSFileError{File: TLSCert, Path: files.CertFile, Err: errors.New("no PEM certificate in it")}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The certificate parsed, so the key is wrong: missing, unreadable,
		// or not the certificate's. X509KeyPair never quotes its input.
		return nil, &TLSFileError{File: TLSKey, Path: files.KeyFile, Err: fmt.Errorf("%w (certificate %s)", err, files.CertFile)}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, &TLSFileError{File: TLSCA, Path: files.CAFile, Err: errors.New("no PEM certificate in it")}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		RootCAs:      roots,
		ServerName:   files.ServerName,
	}, nil
}

// hasCertificate reports whether data holds at least one PEM certificate.
func hasCertificate(data []byte) bool {
	return x509.NewCertPool().AppendCertsFromPEM(data)
}
