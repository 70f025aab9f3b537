// Package replica is one replica of a control plane whose state lives in
// etcd: the embeddable core of examples/controller, so that the cluster
// demo and the tests run several replicas in one process.
//
// Replicas that share a key prefix elect one leader with
// etcd.RunWhileLeading. Only the leader works; the others stand by and take
// over when it resigns or dies. On each takeover the new leader:
//
//  1. builds a fresh allocator.Services and restores the snapshot the
//     previous leader persisted under AllocationsKey (etcd.SnapshotStore);
//  2. repairs it against the Services published under ServicesKey, what
//     the nodes serve (etcd.ServicesRepair): a published value the snapshot
//     lacks (the old leader died before persisting it) is allocated again
//     under its service's key, one another key holds is reported as a
//     duplicate, never silently reassigned, and a held key nobody publishes
//     is released after three passes;
//  3. runs controlplane.Run on the Source, persisting every change of the
//     allocator to AllocationsKey and publishing through an
//     etcd.ServicePublisher, both guarded by the leadership
//     (etcd.Leadership.Guard): a replica that lost its leadership can write
//     neither, so it never overwrites its successor; every Revision it
//     publishes is above those published before it, so node agents that
//     program by Revision see each change;
//  4. repeats the repair every Config.RepairInterval while it leads.
//
// Services restored that the first input after a takeover no longer has
// (deleted while no replica led) are released to the allocator's grace
// period by the control plane's first Resolve, as the old leader would
// have done.
//
// Takeover bound: a leader that resigns (its context ends, or its work
// fails) is replaced as soon as a standby's campaign sees the election key
// go, a few etcd round trips. A leader that dies without resigning holds
// its lease until etcd expires it: a standby leads at most Config.TTL (plus
// etcd's lease expiry check, 500 ms, and a raft election timeout when the
// etcd leader died too) after the last keep-alive, then restores and
// repairs before it publishes.
//
// Keys, below Config.Prefix (default "/svcnet"): "/leader/" the election,
// "/allocations" the allocator snapshot, "/services/<namespace>/<name>"
// the published Services that nodes follow (etcd.NewServiceDelivery).
package replica
