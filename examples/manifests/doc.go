// Package manifests loads a directory of Kubernetes-style YAML manifests —
// Services, Pods, EndpointSlices and Nodes, several to a file separated by
// "---", or in a v1 List — into typed values, and watches it for changes.
//
// Everything it returns is checked as far as the dataplane needs: addresses
// are netip values that the kernel can program (never the unspecified,
// loopback, link-local or a multicast address), ports are in range, a
// service's ports are unique by name and by number and protocol, label
// keys and selectors are valid for the selector package, and across
// Services no ClusterIP, external address:port or node port is claimed
// twice. External IPs are refused unless [Config.ExternalIPCIDRs] allows
// them, as Kubernetes' DenyServiceExternalIPs does by default
// (CVE-2020-8554).
//
// One bad file, document or object never keeps the others out: each is
// refused alone with an [*Error] naming the file, the document and the
// field. Only regular files are read (a FIFO, a device, a directory or a
// symlink loop is refused without blocking), each at most
// [Config.MaxFileBytes] and all together at most [Config.MaxTotalBytes].
//
// A [Loader] remembers which file each object came from: an object already
// loaded keeps its place when a duplicate appears in another file, even one
// that sorts earlier, and the newcomer is refused against its own file. Of
// two Services that claim one address, the one loaded before keeps it.
//
// [Loader.Watch] watches the directory with inotify and re-reads only the
// files that changed, after a debounce that constant churn cannot starve.
//
//	l := manifests.NewLoader(manifests.Config{Dir: "/etc/svcnet/manifests"})
//	err := l.Watch(ctx, func(set manifests.Set, errs []error) {
//		for _, err := range errs {
//			log.Print(err) // "web.yaml: document 2: spec.externalIPs[0]: ..."
//		}
//		apply(set)
//	})
//
// Values convert to the library's with one expression where the shapes
// agree (allocator.ServiceType(s.Type), endpoints.TargetPort(p.TargetPort),
// endpoints.Port(slicePort); Protocol, TrafficPolicy and IPFamily are the
// endpoints package's own), and [Pod.Workload], [EndpointSlice.Slice] and
// [Set.Zones] give what the endpoints package and a control plane read.
//
// A reader that pulls rather than being called (a control plane's source
// asking for "the input after generation N") passes a [Latest]'s Store to
// Watch and calls [Latest.Next].
//
// A file truncated and rewritten (as editors and kubectl-style writers do)
// is reported faithfully: a load while it is empty, or cut at a "---", has
// fewer objects. Keeping the addresses of an object that disappears for a
// moment is the control plane's business, not this package's.
package manifests
