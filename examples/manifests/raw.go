package manifests

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The raw types mirror the manifest's JSON; parse.go checks them and turns
// them into the typed values of types.go.

type rawMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	DeletionTimestamp *string           `json:"deletionTimestamp"`
}

type rawHeader struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Metadata   rawMeta `json:"metadata"`
}

// intOrString is a Kubernetes port reference: a number or a name. A string
// of digits is a number, as Kubernetes reads it.
type intOrString struct {
	Int int64
	Str string
}

func (v *intOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 32); err == nil {
			v.Int = n
			return nil
		}
		v.Str = s
		return nil
	}
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a port number or name: %w", err)
	}
	v.Int = int64(n)
	return nil
}

type rawServicePort struct {
	Name        string      `json:"name"`
	Protocol    string      `json:"protocol"`
	Port        int64       `json:"port"`
	TargetPort  intOrString `json:"targetPort"`
	NodePort    int64       `json:"nodePort"`
	AppProtocol string      `json:"appProtocol"`
}

type rawService struct {
	Metadata rawMeta `json:"metadata"`
	Spec     struct {
		Type                  string            `json:"type"`
		Selector              map[string]string `json:"selector"`
		Ports                 []rawServicePort  `json:"ports"`
		ClusterIP             string            `json:"clusterIP"`
		ClusterIPs            []string          `json:"clusterIPs"`
		IPFamilies            []string          `json:"ipFamilies"`
		IPFamilyPolicy        string            `json:"ipFamilyPolicy"`
		ExternalName          string            `json:"externalName"`
		ExternalIPs           []string          `json:"externalIPs"`
		ExternalTrafficPolicy string            `json:"externalTrafficPolicy"`
		InternalTrafficPolicy string            `json:"internalTrafficPolicy"`
		SessionAffinity       string            `json:"sessionAffinity"`
		SessionAffinityConfig *struct {
			ClientIP *struct {
				TimeoutSeconds *int64 `json:"timeoutSeconds"`
			} `json:"clientIP"`
		} `json:"sessionAffinityConfig"`
		LoadBalancerIP           string   `json:"loadBalancerIP"`
		LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges"`
		HealthCheckNodePort      int64    `json:"healthCheckNodePort"`
		AllocateLBNodePorts      *bool    `json:"allocateLoadBalancerNodePorts"`
		PublishNotReadyAddresses bool     `json:"publishNotReadyAddresses"`
		TrafficDistribution      string   `json:"trafficDistribution"`
	} `json:"spec"`
	Status struct {
		LoadBalancer struct {
			Ingress []struct {
				IP string `json:"ip"`
			} `json:"ingress"`
		} `json:"loadBalancer"`
	} `json:"status"`
}

type rawContainer struct {
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int64  `json:"containerPort"`
		Protocol      string `json:"protocol"`
	} `json:"ports"`
	RestartPolicy string `json:"restartPolicy"`
}

type rawPod struct {
	Metadata rawMeta `json:"metadata"`
	Spec     struct {
		NodeName       string         `json:"nodeName"`
		Hostname       string         `json:"hostname"`
		Subdomain      string         `json:"subdomain"`
		Containers     []rawContainer `json:"containers"`
		InitContainers []rawContainer `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		Phase  string `json:"phase"`
		PodIP  string `json:"podIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

type rawEndpoint struct {
	Addresses  []string `json:"addresses"`
	Conditions struct {
		Ready       *bool `json:"ready"`
		Serving     *bool `json:"serving"`
		Terminating *bool `json:"terminating"`
	} `json:"conditions"`
	Hostname  string `json:"hostname"`
	NodeName  string `json:"nodeName"`
	Zone      string `json:"zone"`
	TargetRef *Ref   `json:"targetRef"`
}

type rawSlice struct {
	Metadata    rawMeta       `json:"metadata"`
	AddressType string        `json:"addressType"`
	Endpoints   []rawEndpoint `json:"endpoints"`
	Ports       []struct {
		Name        string `json:"name"`
		Protocol    string `json:"protocol"`
		Port        *int64 `json:"port"`
		AppProtocol string `json:"appProtocol"`
	} `json:"ports"`
}

type rawNode struct {
	Metadata rawMeta `json:"metadata"`
	Status   struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}
