package endpointslice

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var familyChoices = [][]corev1.IPFamily{
	{corev1.IPv4Protocol}, {corev1.IPv6Protocol},
	{corev1.IPv4Protocol, corev1.IPv6Protocol}, {corev1.IPv6Protocol, corev1.IPv4Protocol},
}

// generate makes one service, a handful of nodes in two or three zones,
// and up to 300 pods: selected or not, dual-stack or single, some sharing
// a node's address (host network), ready or not, terminating, finished,
// with named ports that resolve to different numbers on different pods.
func generate(rng *rand.Rand, i int) testCase {
	c := testCase{max: []int{1, 3, 10, 25, 100}[rng.IntN(5)]}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("svc%d", i), UID: types.UID(fmt.Sprintf("uid-%d", i))},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.1",
			IPFamilies: familyChoices[rng.IntN(len(familyChoices))], PublishNotReadyAddresses: rng.IntN(6) == 0},
	}
	if rng.IntN(4) == 0 {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	if rng.IntN(3) == 0 {
		svc.Labels = map[string]string{"team": "a"}
		if rng.IntN(2) == 0 {
			svc.Labels["service.kubernetes.io/headless"] = ""
			svc.Labels["kubernetes.io/service-name"] = "other"
		}
	}
	if rng.IntN(4) == 0 {
		svc.Spec.TrafficDistribution = ptr.To([]string{corev1.ServiceTrafficDistributionPreferClose,
			corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode}[rng.IntN(3)])
	}
	nPorts := 1 + rng.IntN(3)
	for p := range nPorts {
		sp := corev1.ServicePort{Protocol: []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}[rng.IntN(2)], Port: int32(80 + p)}
		if nPorts > 1 || rng.IntN(2) == 0 {
			sp.Name = fmt.Sprintf("p%d", p)
		}
		if rng.IntN(2) == 0 {
			sp.TargetPort = intstr.FromString("http")
			sp.Protocol = corev1.ProtocolTCP
		} else {
			sp.TargetPort = intstr.FromInt32(int32(8000 + p))
		}
		if rng.IntN(5) == 0 {
			sp.AppProtocol = ptr.To("http")
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	c.svc = svc
	for n := range 2 + rng.IntN(5) {
		c.nodes = append(c.nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node%d", n),
			Labels: map[string]string{corev1.LabelTopologyZone: fmt.Sprintf("zone%d", n%3)}}})
	}
	for range rng.IntN(300) {
		c.pods = append(c.pods, newPod(rng, &c))
	}
	return c
}

var podSeq int

func newPod(rng *rand.Rand, c *testCase) *corev1.Pod {
	podSeq++
	node := rng.IntN(len(c.nodes))
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("pod%d", podSeq), UID: types.UID(fmt.Sprintf("pod-uid-%d", podSeq)),
			Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: c.nodes[node].Name, Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(8080 + rng.IntN(2)), Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if rng.IntN(8) == 0 {
		p.Labels["app"] = "db"
	}
	if rng.IntN(10) == 0 {
		p.Spec.Containers[0].Ports = nil // the named port does not resolve
	}
	if rng.IntN(6) == 0 {
		p.Spec.Hostname, p.Spec.Subdomain = fmt.Sprintf("h%d", podSeq), c.svc.Name
	}
	var v4, v6 netip.Addr
	if rng.IntN(5) == 0 { // host network: the node's address
		v4 = netip.AddrFrom4([4]byte{192, 168, 0, byte(node)})
		v6 = netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(node)})
	} else {
		v4 = netip.AddrFrom4([4]byte{10, byte(podSeq >> 16), byte(podSeq >> 8), byte(podSeq)})
		v6 = netip.AddrFrom16([16]byte{0xfd, 1, 13: byte(podSeq >> 16), 14: byte(podSeq >> 8), 15: byte(podSeq)})
	}
	switch rng.IntN(4) {
	case 0:
		p.Status.PodIPs = []corev1.PodIP{{IP: v4.String()}}
	case 1:
		p.Status.PodIPs = []corev1.PodIP{{IP: v6.String()}}
	default:
		p.Status.PodIPs = []corev1.PodIP{{IP: v4.String()}, {IP: v6.String()}}
	}
	if rng.IntN(15) == 0 {
		p.Status.PodIPs = nil
	}
	if len(p.Status.PodIPs) > 0 {
		p.Status.PodIP = p.Status.PodIPs[0].IP
	}
	setReady(p, rng.IntN(4) > 0)
	if rng.IntN(8) == 0 {
		p.DeletionTimestamp = &metav1.Time{}
	}
	if rng.IntN(20) == 0 {
		p.Status.Phase = []corev1.PodPhase{corev1.PodSucceeded, corev1.PodFailed}[rng.IntN(2)]
	}
	return p
}

func setReady(p *corev1.Pod, ready bool) {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
}

// churn removes, adds and flips pods, as time between two resyncs would.
func churn(rng *rand.Rand, c *testCase) {
	var kept []*corev1.Pod
	for _, p := range c.pods {
		switch r := rng.IntN(10); {
		case r == 0: // deleted
		case r < 3:
			q := p.DeepCopy()
			setReady(q, rng.IntN(2) == 0)
			kept = append(kept, q)
		default:
			kept = append(kept, p)
		}
	}
	for range rng.IntN(60) {
		kept = append(kept, newPod(rng, c))
	}
	c.pods = kept
}
