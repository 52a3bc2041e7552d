package webhookcfg

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/internal/index"
	"github.com/lbgate/lbgate/webhook"
)

// groupList is one List of BackendGroups: its namespace, its field selector
// and the groups it returned (namespace/name).
type groupList struct {
	namespace, fields string
	returned          []string
}

// indexedCache is a fake cache-backed client with lbgate's indexes that
// records its BackendGroup lists.
func indexedCache(t *testing.T, objs ...client.Object) (client.Client, *[]groupList) {
	t.Helper()
	scheme := controllers.NewScheme()
	lists := &[]groupList{}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...)
	for _, f := range index.Fields() {
		b = b.WithIndex(f.Object, f.Name, f.Extract)
	}
	b = b.WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if err := c.List(ctx, list, opts...); err != nil {
			return err
		}
		groups, ok := list.(*v1alpha1.BackendGroupList)
		if !ok {
			return nil
		}
		o := (&client.ListOptions{}).ApplyOptions(opts)
		l := groupList{namespace: o.Namespace}
		if o.FieldSelector != nil {
			l.fields = o.FieldSelector.String()
		}
		for _, bg := range groups.Items {
			l.returned = append(l.returned, bg.Namespace+"/"+bg.Name)
		}
		*lists = append(*lists, l)
		return nil
	}})
	return b.Build(), lists
}

// TestGroupsForReadsTheNamespaceAndItsTargets (issue 11, item 1): an
// admission reads the groups of the pod's namespace and, for the target
// conflict checks, the groups on the targets those groups and the
// namespace's opted-in Services name, never every group of the cluster.
func TestGroupsForReadsTheNamespaceAndItsTargets(t *testing.T) {
	web, api, cart := svc("web"), svc("api", ann(v1alpha1.AnnotationLoadBalancer, "be-taken")), svc("cart")
	objs := []client.Object{
		&web, &api, &cart,
		ptrTo(owned("web")),
		// api has no group yet; the one it would make conflicts with an
		// older group of another namespace on its target: no gate of api.
		ptrTo(owned("taken", inNamespace("other"))),
		// A hand-made group of shop that yields be-shared to an older group of
		// another namespace: no gate of it either.
		ptrTo(handMade("manual", "cart", "be-shared", createdAt(now))),
		ptrTo(handMade("elsewhere", "x", "be-shared", inNamespace("other"))),
	}
	for i := range 20 { // the rest of the cluster: nothing to do with shop
		objs = append(objs, ptrTo(handMade(fmt.Sprintf("far-%d", i), "x", fmt.Sprintf("be-far-%d", i), inNamespace("far"))))
	}
	cache, lists := indexedCache(t, objs...)
	groups, err := CachedGroups{Reader: cache, now: func() time.Time { return now }}.GroupsFor(context.Background(), "shop", map[string]string{"app": "api"})
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, g := range groups {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	if want := []string{"cart", "web"}; !slices.Equal(names, want) {
		t.Errorf("groups %v, want %v (no api: its group would conflict; no manual: it yields)", names, want)
	}
	seen := map[string]bool{}
	for _, l := range *lists {
		byIndex := strings.HasPrefix(l.fields, index.GroupTargets+"=")
		if !byIndex && (l.namespace != "shop" || l.fields != "") {
			t.Errorf("BackendGroups listed in namespace %q with fields %q: neither the pod's namespace nor an index lookup", l.namespace, l.fields)
		}
		var far []string
		for _, g := range l.returned {
			seen[g] = true
			if strings.HasPrefix(g, "far/") {
				far = append(far, g)
			}
		}
		if len(far) > 0 {
			t.Errorf("a list (namespace %q, fields %q) returned %d groups on targets shop has nothing to do with: %v", l.namespace, l.fields, len(far), far)
		}
	}
	for _, g := range []string{"shop/web", "shop/manual", "other/taken", "other/elsewhere"} {
		if !seen[g] {
			t.Errorf("%s was never read: the conflict checks need it (lists: %+v)", g, *lists)
		}
	}
}

// TestGroupsForLiveReadTargets: the targets looked up are those of the
// Services the decision is made on, the live ones when they were read.
func TestGroupsForLiveReadTargets(t *testing.T) {
	old, web := svc("old"), svc("web")
	// The cache lags (no web yet) but has the group of another namespace
	// that already binds web's target: web's group would yield it.
	cache, _ := indexedCache(t, old.DeepCopy(), ptrTo(owned("web", inNamespace("other"))))
	live, _ := indexedCache(t, old.DeepCopy(), web.DeepCopy())
	groups, err := CachedGroups{Reader: cache, Live: live, now: func() time.Time { return now }}.GroupsFor(context.Background(), "shop", map[string]string{"app": "web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Selects(map[string]string{"app": "web"}) {
			t.Errorf("the pod gets the gate of %s, whose group would conflict with other/web", g.Name)
		}
	}
}

// TestGroupsForAsAdmissionGroups: reading the groups by namespace and by
// target decides as admissionGroups does given every group of the cluster,
// in each of its cases.
func TestGroupsForAsAdmissionGroups(t *testing.T) {
	for _, tt := range admissionCases() {
		t.Run(tt.name, func(t *testing.T) {
			var objs []client.Object
			for i := range tt.services {
				objs = append(objs, tt.services[i].DeepCopy())
			}
			for i := range tt.groups {
				objs = append(objs, tt.groups[i].DeepCopy())
			}
			cache, _ := indexedCache(t, objs...)
			got, err := CachedGroups{Reader: cache, now: func() time.Time { return now }}.GroupsFor(context.Background(), "shop", nil)
			if err != nil {
				t.Fatal(err)
			}
			byName := func(a, b webhook.Group) int { return strings.Compare(a.Name, b.Name) }
			want := slices.Clone(tt.want)
			slices.SortFunc(got, byName)
			slices.SortFunc(want, byName)
			if len(got) != 0 || len(want) != 0 {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("GroupsFor =\n%+v\nwant\n%+v", got, want)
				}
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
