package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// object is a decoded manifest and where it came from.
type object struct {
	file string
	obj  metav1.Object
	kind string
}

// newObject returns an empty object of the API type for apiVersion/kind,
// or false for a kind the manifests are not expected to hold.
func newObject(apiVersion, kind string) (metav1.Object, bool) {
	switch apiVersion + " " + kind {
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}, true
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return &rbacv1.ClusterRole{}, true
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, true
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, true
	}
	return nil, false
}

// splitDocs splits a multi-document YAML file, dropping empty documents.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(s, "")
}

// decodeFile decodes every document of file strictly: an unknown or
// duplicate field is an error, as is an unexpected kind.
func decodeFile(file string) ([]object, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var objs []object
	for i, doc := range splitDocs(data) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", file, i, err)
		}
		obj, ok := newObject(tm.APIVersion, tm.Kind)
		if !ok {
			return nil, fmt.Errorf("%s document %d: unexpected %s %s", file, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s document %d (%s): %w", file, i, tm.Kind, err)
		}
		objs = append(objs, object{file: file, obj: obj, kind: tm.Kind})
	}
	return objs, nil
}

// manifests are the files kustomization.yaml applies.
func manifests(t *testing.T) []string {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		// Images is what "kustomize edit set image" adds.
		Images []struct {
			Name    string `json:"name"`
			NewName string `json:"newName,omitempty"`
			NewTag  string `json:"newTag,omitempty"`
			Digest  string `json:"digest,omitempty"`
		} `json:"images,omitempty"`
	}
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k.Resources
}

func decodeAll(t *testing.T) []object {
	t.Helper()
	var all []object
	for _, f := range manifests(t) {
		objs, err := decodeFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, objs...)
	}
	return all
}

func find[T metav1.Object](t *testing.T, objs []object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T in the manifests, found %d", zero, len(found))
	}
	return found[0]
}

func TestManifests_everyYAMLIsApplied(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	got := slices.Sorted(slices.Values(manifests(t)))
	if !slices.Equal(files, got) {
		t.Errorf("kustomization.yaml applies %v, the directory holds %v", got, files)
	}
}

func TestManifests_strictAndNamespaceAgnostic(t *testing.T) {
	for _, o := range decodeAll(t) {
		name := o.file + ": " + o.kind + " " + o.obj.GetName()
		if ns := o.obj.GetNamespace(); ns != "" {
			t.Errorf("%s sets namespace %q: the manifests must apply to any namespace", name, ns)
		}
		if o.obj.GetLabels()["app.kubernetes.io/name"] != "spdk-agent" {
			t.Errorf("%s lacks the label app.kubernetes.io/name=spdk-agent", name)
		}
	}
}

func TestDecodeFile_rejectsUnknownFields(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  nmespace: x\n", "unknown field"},
		{"duplicate field", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n", "already set"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n", "unexpected v1 Pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "x.yaml")
			if err := os.WriteFile(f, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := decodeFile(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decodeFile = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSplitDocs(t *testing.T) {
	in := "# header\n---\na: 1\n---\n# only a comment\n---\nb: 2\n"
	docs := splitDocs([]byte(in))
	if len(docs) != 2 || !bytes.Contains(docs[0], []byte("a: 1")) || !bytes.Contains(docs[1], []byte("b: 2")) {
		t.Errorf("splitDocs = %q", docs)
	}
}
