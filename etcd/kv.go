package etcd

import "go.etcd.io/etcd/api/v3/mvccpb"

// mvccKV is etcd's stored key-value pair.
type mvccKV = mvccpb.KeyValue
