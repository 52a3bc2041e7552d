package webhookcfg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// operatorUser is who the manager acts as in the RBAC spec.
const operatorUser = "lbgate-operator"

// grantGeneratedRBAC binds the roles of config/rbac/role.yaml (generated
// from the code's markers) to operatorUser: the ClusterRole, and the Role in
// the operator namespace.
func grantGeneratedRBAC(ctx context.Context) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: operatorUser}}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		Expect(yaml.Unmarshal([]byte(doc), &meta)).To(Succeed())
		switch meta.Kind {
		case "ClusterRole":
			role := &rbacv1.ClusterRole{}
			Expect(yaml.UnmarshalStrict([]byte(doc), role)).To(Succeed())
			role.Name = operatorUser
			Expect(ignoreAlreadyExists(k8s.Create(ctx, role))).To(Succeed())
			Expect(ignoreAlreadyExists(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: operatorUser},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: operatorUser},
				Subjects:   subject,
			}))).To(Succeed())
		case "Role":
			role := &rbacv1.Role{}
			Expect(yaml.UnmarshalStrict([]byte(doc), role)).To(Succeed())
			role.Name, role.Namespace = operatorUser, operatorNS
			Expect(ignoreAlreadyExists(k8s.Create(ctx, role))).To(Succeed())
			Expect(ignoreAlreadyExists(k8s.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: operatorUser},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: operatorUser},
				Subjects:   subject,
			}))).To(Succeed())
		default:
			Fail("unexpected kind in role.yaml: " + meta.Kind)
		}
	}
}

var _ = Describe("RBAC", func() {
	It("is enough: with only the generated roles the operator creates, serves and repairs everything", func(ctx SpecContext) {
		grantGeneratedRBAC(ctx)
		asOperator := rest.CopyConfig(cfg)
		asOperator.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
		operator, err := client.New(asOperator, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		Expect(operator.List(ctx, &corev1.SecretList{}, client.InNamespace(operatorNS))).
			To(MatchError(apierrors.IsForbidden, "IsForbidden"), "the operator may read its own Secret only")

		By("it may do what the self-repair does to the default names, and is told which renamed object its RBAC does not cover")
		Expect(webhookcfg.CheckAccess(ctx, operator, defaultOptions())).To(Succeed())
		renamed := defaultOptions()
		renamed.SecretName, renamed.ConfigName = "my-certs", "my-gates"
		err = webhookcfg.CheckAccess(ctx, operator, renamed)
		var denied *webhookcfg.AccessError
		Expect(errors.As(err, &denied)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring(`update secrets "my-certs" in namespace lbgate-system`))
		Expect(err.Error()).To(ContainSubstring(`patch mutatingwebhookconfigurations.admissionregistration.k8s.io "my-gates"`))
		Expect(err.Error()).NotTo(ContainSubstring("create"), "create is granted without names")
		certManager := renamed
		certManager.CertSource = webhookcfg.CertSourceCertManager
		Expect(webhookcfg.CheckAccess(ctx, operator, certManager).Error()).NotTo(ContainSubstring(`update secrets`), "cert-manager mode never writes the Secret")

		By("the operator starts with neither the Secret nor the configuration")
		replaceManagerAs(asOperator, defaultOptions(), func() {
			deleteSecret(ctx)
			cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: defaultOptions().ConfigName}}
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, cfg))).To(Succeed())
		})
		Eventually(mgr.ready).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		Expect(servingTrusted(ctx)).To(Succeed())

		By("it repairs the Secret and the configuration")
		Expect(k8s.Delete(ctx, getSecret(ctx))).To(Succeed())
		// The operator may be repairing the configuration at this moment: edit it on a fresh copy until the write lands.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			live := getConfig(ctx)
			live.Webhooks[0].TimeoutSeconds = ptr[int32](30)
			return k8s.Update(ctx, live)
		})).To(Succeed())
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		Eventually(servingTrusted).WithContext(ctx).Should(Succeed())

		By("it gates pods")
		ns := newNamespace(ctx)
		createService(ctx, ns, "web", map[string]string{"app": "web"}, nil)
		expectGated(ctx, ns, map[string]string{"app": "web"}, gateOf("web"))
	})
})
