package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.DirtyTrackerContract;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dirty-tracking contract on KVM_CLEAR_DIRTY_LOG with manual protect and initially-all-set (the first sync
 * reports every page, as KVM documents), clearing in 256 KiB chunks just before pages are copied.
 */
@ExtendWith(KvmTests.class)
class KvmDirtyClearContractTest extends DirtyTrackerContract {
    @BeforeEach
    void kvm() {
        KvmTests.assumeKvm();
    }

    @Override
    protected DirtyTracker.Backend backend() {
        return DirtyTracker.Backend.CLEAR;
    }

    @Override
    protected boolean firstSyncMayReportAllPages() {
        return true;
    }

    @Override
    protected GuestMachine createMachine(GuestMemory memory, MachineConfig config) {
        return KvmMachine.create(memory, KvmTests.underTcg() ? config.withAccelerator("kvm").withPauseTimeout(java.time.Duration.ofSeconds(60)) : config.withAccelerator("kvm"), KvmMachine.Options.defaults());
    }

    @Override
    protected ScriptedGuest scriptedGuest(GuestMachine machine) {
        return ((KvmMachine) machine).scriptedGuest().orElseThrow();
    }
}
