module github.com/svcnet/svcnet/bench

go 1.24.0

replace github.com/svcnet/svcnet => ../

require (
	github.com/stathat/consistent v1.0.0
	github.com/svcnet/svcnet v0.0.0
	k8s.io/apimachinery v0.33.0
)

require (
	github.com/go-logr/logr v1.4.2 // indirect
	k8s.io/klog/v2 v2.130.1 // indirect
	k8s.io/utils v0.0.0-20241104100929-3ea5e8cea738 // indirect
)
