package io.livemig.kvm.hw;

import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Bad machine input is rejected before /dev/kvm is opened (so these run on every host). */
class KvmMachineValidationTest {
    @Test
    void windowBeyondRamIsRejectedBeforeAnythingIsAllocated() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 64L << 20).build(); SerialSink s = SerialSink.none()) {
            var e = assertThrows(IllegalArgumentException.class, () -> KvmMachine.create(mem, MachineConfig.of("kvm", "ab", s)));
            assertTrue(e.getMessage().contains("abWindowEndBytes=0x6400000"), e.getMessage());
        }
    }

    @Test
    void memoryWithoutARamBlockIsRejected() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("other", 128L << 20).build(); SerialSink s = SerialSink.none()) {
            var e = assertThrows(IllegalArgumentException.class, () -> KvmMachine.create(mem, MachineConfig.of("kvm", "idle", s)));
            assertTrue(e.getMessage().contains("no block 'ram'"), e.getMessage());
        }
    }

    @Test
    void theJavaAcceleratorIsNotThisMachine() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 128L << 20).build(); SerialSink s = SerialSink.none()) {
            var e = assertThrows(IllegalArgumentException.class, () -> KvmMachine.create(mem, MachineConfig.of("java", "idle", s)));
            assertTrue(e.getMessage().contains("accelerator='java'"), e.getMessage());
        }
    }

    @Test
    void withoutKvmTheErrorSaysWhy() {
        var why = io.livemig.sys.HostCapabilities.kvmUnavailable();
        org.junit.jupiter.api.Assumptions.assumeTrue(why.isPresent(), "this host has KVM");
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 128L << 20).build(); SerialSink s = SerialSink.none()) {
            var e = assertThrows(UnsupportedOperationException.class, () -> KvmMachine.create(mem, MachineConfig.of("kvm", "idle", s)));
            assertEquals(why.get(), e.getMessage());
        }
    }
}
