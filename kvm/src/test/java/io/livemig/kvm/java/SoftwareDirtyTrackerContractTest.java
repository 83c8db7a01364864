package io.livemig.kvm.java;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.DirtyTrackerContract;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.memory.GuestMemory;

/** The dirty-tracking contract on the Java machine's software bitmap: runs on every host. */
class SoftwareDirtyTrackerContractTest extends DirtyTrackerContract {
    @Override
    protected DirtyTracker.Backend backend() {
        return DirtyTracker.Backend.SOFTWARE;
    }

    @Override
    protected GuestMachine createMachine(GuestMemory memory, MachineConfig config) {
        return JavaMachine.create(memory, config.withAccelerator("java"));
    }

    @Override
    protected ScriptedGuest scriptedGuest(GuestMachine machine) {
        return ((JavaMachine) machine).scriptedGuest().orElseThrow();
    }
}
