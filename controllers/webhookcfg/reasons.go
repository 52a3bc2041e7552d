package webhookcfg

// Event reasons of the webhook self-repair. They are stable: users and
// alerts match on them.
const (
	// ReasonCertificateIssued: lbgate created the certificate Secret.
	ReasonCertificateIssued = "CertificateIssued"
	// ReasonCertificateRepaired: the Secret was missing or invalid and was rebuilt.
	ReasonCertificateRepaired = "CertificateRepaired"
	// ReasonCertificateRotated: a planned renewal or CA rotation step was taken.
	ReasonCertificateRotated = "CertificateRotated"
	// ReasonCertificateNotManaged: the Secret lacks lbgate's label, so lbgate
	// never writes it (user-supplied certificates stay theirs).
	ReasonCertificateNotManaged = "CertificateNotManaged"
	// ReasonCertificateInvalid: a Secret lbgate may not write is not servable.
	ReasonCertificateInvalid = "CertificateInvalid"
	// ReasonCABundleNotTrusted: the caBundle, which lbgate may not write
	// (cert-manager mode), does not trust the served certificate.
	ReasonCABundleNotTrusted = "CABundleNotTrusted"
	// ReasonConfigurationCreated: the webhook configuration was missing and was created.
	ReasonConfigurationCreated = "WebhookConfigurationCreated"
	// ReasonConfigurationRepaired: the webhook configuration differed and was put back.
	ReasonConfigurationRepaired = "WebhookConfigurationRepaired"
)

// Event actions.
const (
	actionIssue  = "Issue"
	actionRepair = "Repair"
	actionRotate = "Rotate"
	actionServe  = "Serve"
)
