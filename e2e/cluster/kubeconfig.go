package cluster

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// contextName is the cluster, user and context name in written kubeconfigs.
const contextName = "lbgate-e2e"

// Client rate limits for RESTConfig: client-go's defaults (5 QPS, burst 10)
// throttle a test that creates and watches many objects quickly.
const (
	restQPS   = 50
	restBurst = 100
)

// writeKubeconfig writes a self-contained kubeconfig (certificates inline, so
// the file can be copied elsewhere) for the given client certificate.
func writeKubeconfig(path, server string, caPEM []byte, user keyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{ClientCertificateData: user.certPEM, ClientKeyData: user.keyPEM}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// restConfig returns a client configuration for server as the given user.
func restConfig(server string, caPEM []byte, user keyPair) *rest.Config {
	return &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   caPEM,
			CertData: user.certPEM,
			KeyData:  user.keyPEM,
		},
		QPS:   restQPS,
		Burst: restBurst,
	}
}
