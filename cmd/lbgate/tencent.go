package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/tencent"
)

// The environment variables the tencent provider reads its API key from
// when --tencentcloud-credentials-dir is not set (the SDK's own names).
const (
	envSecretID  = "TENCENTCLOUD_SECRET_ID"
	envSecretKey = "TENCENTCLOUD_SECRET_KEY"
)

// The Secret keys (and the file names in --tencentcloud-credentials-dir)
// that hold the API key pair.
const (
	keySecretID  = "secretId"
	keySecretKey = "secretKey"
)

// DefaultCredentialsSecret is the Secret the install's Role lets lbgate read.
const defaultCredentialsSecret = "lbgate-tencentcloud-credentials"

// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,verbs=get,resourceNames=lbgate-tencentcloud-credentials

// tencentOptions are the flags of --provider=tencentclb.
type tencentOptions struct {
	region            string
	credentialsDir    string
	credentialsSecret string
	endpoint          string
	taskPoll          time.Duration
}

func (o *tencentOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.region, "tencentcloud-region", "", "Tencent Cloud region of the CLBs (for example ap-guangzhou); required with --provider=tencentclb")
	fs.StringVar(&o.credentialsSecret, "tencentcloud-credentials-secret", "", "Secret ([namespace/]name, default namespace the operator's) with the keys "+keySecretID+" and "+keySecretKey+"; read at the first CLB call and again when the API rejects the key. The install's Role allows "+defaultCredentialsSecret+" only")
	fs.StringVar(&o.credentialsDir, "tencentcloud-credentials-dir", "", "directory holding the files "+keySecretID+" and "+keySecretKey+" (a mounted Secret with those keys)")
	fs.StringVar(&o.endpoint, "tencentcloud-endpoint", "", "CLB API endpoint: a host (HTTPS) or an http(s)://host:port URL, such as a local CLB simulator; empty: "+tencent.DefaultEndpoint)
	fs.DurationVar(&o.taskPoll, "tencentcloud-task-poll-interval", tencent.DefaultTaskPollInterval, "how often the status of a running CLB task (bind, unbind, weight) is asked")
}

// credentials returns where the API key pair comes from: a Secret, a
// directory, or the environment (in that order of the flags; the first
// two are exclusive). The directory and the environment are read now, so a
// missing key fails at start; all are read again after the API rejects the
// key. Errors name where it looked, never a value.
func (o *tencentOptions) credentials(namespace string) (tencent.CredentialSource, error) {
	switch {
	case o.credentialsSecret != "" && o.credentialsDir != "":
		return nil, fmt.Errorf("--tencentcloud-credentials-secret=%q and --tencentcloud-credentials-dir=%q: set one", o.credentialsSecret, o.credentialsDir)
	case o.credentialsSecret != "":
		ns, name, err := secretRef(o.credentialsSecret, namespace)
		if err != nil {
			return nil, err
		}
		return secretCredentials(ns, name, kubeSecrets), nil
	case o.credentialsDir != "":
		read := func(context.Context) (tencent.Credentials, error) { return o.readDir() }
		if _, err := read(context.Background()); err != nil {
			return nil, err
		}
		return read, nil
	}
	read := func(context.Context) (tencent.Credentials, error) {
		c := tencent.Credentials{SecretID: os.Getenv(envSecretID), SecretKey: os.Getenv(envSecretKey)}
		if c.SecretID == "" || c.SecretKey == "" {
			return c, fmt.Errorf("--provider=tencentclb needs an API key: set --tencentcloud-credentials-secret, --tencentcloud-credentials-dir, or %s and %s", envSecretID, envSecretKey)
		}
		return c, nil
	}
	if _, err := read(context.Background()); err != nil {
		return nil, err
	}
	return read, nil
}

// readDir reads the key pair from --tencentcloud-credentials-dir.
func (o *tencentOptions) readDir() (tencent.Credentials, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(o.credentialsDir, name))
		if err != nil {
			return "", fmt.Errorf("--tencentcloud-credentials-dir=%q: %w", o.credentialsDir, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("--tencentcloud-credentials-dir=%q: %s is empty", o.credentialsDir, name)
		}
		return v, nil
	}
	id, err := read(keySecretID)
	if err != nil {
		return tencent.Credentials{}, err
	}
	key, err := read(keySecretKey)
	if err != nil {
		return tencent.Credentials{}, err
	}
	return tencent.Credentials{SecretID: id, SecretKey: key}, nil
}

// secretRef splits "[namespace/]name".
func secretRef(ref, defaultNamespace string) (namespace, name string, err error) {
	namespace, name = defaultNamespace, ref
	if ns, n, ok := strings.Cut(ref, "/"); ok {
		namespace, name = ns, n
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", fmt.Errorf("--tencentcloud-credentials-secret=%q: %q is not a Secret name: %s", ref, name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return "", "", fmt.Errorf("--tencentcloud-credentials-secret=%q: %q is not a namespace: %s", ref, namespace, strings.Join(errs, "; "))
	}
	return namespace, name, nil
}

// secretGetter reads one Secret.
type secretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// kubeSecrets reads a Secret with the operator's kubeconfig, straight from
// the API (no informer: lbgate watches no Secrets but its webhook's).
func kubeSecrets(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// secretCredentials reads the key pair from the Secret namespace/name.
func secretCredentials(namespace, name string, get secretGetter) tencent.CredentialSource {
	return func(ctx context.Context) (tencent.Credentials, error) {
		where := fmt.Sprintf("--tencentcloud-credentials-secret: Secret %s/%s", namespace, name)
		s, err := get(ctx, namespace, name)
		if err != nil {
			return tencent.Credentials{}, fmt.Errorf("%s: %w", where, err)
		}
		c := tencent.Credentials{SecretID: strings.TrimSpace(string(s.Data[keySecretID])), SecretKey: strings.TrimSpace(string(s.Data[keySecretKey]))}
		for key, v := range map[string]string{keySecretID: c.SecretID, keySecretKey: c.SecretKey} {
			if v == "" {
				return tencent.Credentials{}, fmt.Errorf("%s: the key %s is missing or empty", where, key)
			}
		}
		return c, nil
	}
}

// provider builds the tencent provider; it connects nowhere yet.
// globalRouterCIDRs is --global-router-cidrs: the container ranges routed
// to the CLBs' VPC. namespace is the operator's.
func (o *tencentOptions) provider(globalRouterCIDRs, namespace string) (providers.Provider, error) {
	if o.region == "" {
		return nil, errors.New("--provider=tencentclb needs --tencentcloud-region (for example ap-guangzhou)")
	}
	if o.taskPoll < 10*time.Millisecond {
		return nil, fmt.Errorf("--tencentcloud-task-poll-interval=%s: must be at least 10ms", o.taskPoll)
	}
	gr, err := parseCIDRs("--global-router-cidrs", globalRouterCIDRs)
	if err != nil {
		return nil, err
	}
	source, err := o.credentials(namespace)
	if err != nil {
		return nil, err
	}
	p, err := tencent.New(tencent.Options{CredentialSource: source, Region: o.region, Endpoint: o.endpoint, TaskPollInterval: o.taskPoll, GlobalRouterCIDRs: gr})
	if err != nil {
		return nil, fmt.Errorf("--tencentcloud-endpoint=%q: %w", o.endpoint, err)
	}
	return p, nil
}
