package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;

/**
 * The contract again with the smallest ring (1024 entries): the A-B guest dirties 25,344 pages a pass, so its vCPU
 * hits KVM_EXIT_DIRTY_RING_FULL constantly, and the contract's copy-and-compare proves no entry is lost there.
 */
class KvmDirtyRingFullContractTest extends KvmDirtyRingContractTest {
    @Override
    protected DirtyTracker.Config trackerConfig() {
        return new DirtyTracker.Config(DirtyTracker.Backend.RING, 256L << 10, DirtyRingHarvester.MIN_ENTRIES);
    }
}
