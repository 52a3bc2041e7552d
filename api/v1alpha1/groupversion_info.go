// Package v1alpha1 holds the lbgate.dev/v1alpha1 API: the BackendGroup kind
// that binds the pods behind a Service to load-balancer targets.
// +kubebuilder:object:generate=true
// +groupName=lbgate.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "lbgate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers the kinds of this package and the meta/v1 types
// (options, status) under GroupVersion. It is apimachinery's own registration,
// which keeps this package free of controller-runtime.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &BackendGroup{}, &BackendGroupList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
