package deploy

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The agent may claim Leases in its namespace and read Nodes, nothing more.
func TestRBAC_leasesInNamespaceAndNodesGetOnly(t *testing.T) {
	objs := decodeAll(t)
	ds := find[*appsv1.DaemonSet](t, objs)
	sa := find[*corev1.ServiceAccount](t, objs)
	role := find[*rbacv1.Role](t, objs)
	rb := find[*rbacv1.RoleBinding](t, objs)
	cr := find[*rbacv1.ClusterRole](t, objs)
	crb := find[*rbacv1.ClusterRoleBinding](t, objs)

	if ds.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("the pod runs as %q, not the ServiceAccount %q", ds.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
	if sa.AutomountServiceAccountToken == nil || !*sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount must mount its token: the agent claims disks through the API")
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
		Verbs: []string{"get", "list", "watch", "create", "delete"}}}
	if !rulesEqual(role.Rules, want) {
		t.Errorf("Role rules = %+v, want exactly %+v", role.Rules, want)
	}
	wantNodes := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}}}
	if !rulesEqual(cr.Rules, wantNodes) {
		t.Errorf("ClusterRole rules = %+v, want exactly %+v", cr.Rules, wantNodes)
	}
	if rb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}) {
		t.Errorf("RoleBinding refers to %+v", rb.RoleRef)
	}
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}) {
		t.Errorf("ClusterRoleBinding refers to %+v", crb.RoleRef)
	}
	for _, b := range []struct {
		what     string
		subjects []rbacv1.Subject
		ns       bool
	}{{"RoleBinding", rb.Subjects, false}, {"ClusterRoleBinding", crb.Subjects, true}} {
		if len(b.subjects) != 1 || b.subjects[0].Kind != "ServiceAccount" || b.subjects[0].Name != sa.Name || (b.subjects[0].Namespace != "") != b.ns {
			t.Errorf("%s subjects = %+v, want only the ServiceAccount %s", b.what, b.subjects, sa.Name)
		}
	}
}

func rulesEqual(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.APIGroups, y.APIGroups) && slices.Equal(x.Resources, y.Resources) &&
			slices.Equal(x.Verbs, y.Verbs) && len(x.ResourceNames) == 0 && len(x.NonResourceURLs) == 0
	})
}
