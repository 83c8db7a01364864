package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.DirtyTrackerContract;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/** The dirty-tracking contract on the per-vCPU KVM dirty ring (the tracker config's default ring size). */
@ExtendWith(KvmTests.class)
class KvmDirtyRingContractTest extends DirtyTrackerContract {
    @BeforeEach
    void kvm() {
        KvmTests.assumeKvm();
    }

    @Override
    protected DirtyTracker.Backend backend() {
        return DirtyTracker.Backend.RING;
    }

    @Override
    protected GuestMachine createMachine(GuestMemory memory, MachineConfig config) {
        return KvmMachine.create(memory, KvmTests.underTcg() ? config.withAccelerator("kvm").withPauseTimeout(java.time.Duration.ofSeconds(60)) : config.withAccelerator("kvm"), KvmMachine.Options.withDirtyRing(trackerConfig().ringEntries()));
    }

    @Override
    protected ScriptedGuest scriptedGuest(GuestMachine machine) {
        return ((KvmMachine) machine).scriptedGuest().orElseThrow();
    }
}
