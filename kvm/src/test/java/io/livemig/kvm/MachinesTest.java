package io.livemig.kvm;

import io.livemig.kvm.java.JavaMachine;
import io.livemig.memory.GuestMemory;
import io.livemig.sys.HostCapabilities;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MachinesTest {
    private final GuestMemory memory = GuestMemory.builder().anonymous("ram", 128L << 20).build();
    private final SerialSink serial = SerialSink.none();

    @AfterEach
    void close() {
        memory.close();
    }

    private static String[] lines(ByteArrayOutputStream b) {
        String s = b.toString(StandardCharsets.UTF_8);
        return s.isEmpty() ? new String[0] : s.split("\n");
    }

    @Test
    void autoOnThisHostPicksJavaAndSaysWhyOnce() {
        Optional<String> why = HostCapabilities.kvmUnavailable();
        assumeTrue(why.isPresent(), "this host has a usable /dev/kvm; the fallback case is covered by the injected-probe test");
        PrintStream realErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        GuestMachine m;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            m = Machines.create("auto", memory, "ab", serial);
        } finally {
            System.setErr(realErr);
        }
        try (m) {
            assertInstanceOf(JavaMachine.class, m);
            assertEquals("java", m.accelerator());
            String[] l = lines(err);
            assertEquals(1, l.length, err.toString(StandardCharsets.UTF_8));
            assertEquals("livemig: /dev/kvm unavailable (" + why.get() + "); using the java machine", l[0]);
        }
    }

    @Test
    void explicitKvmWithoutKvmFailsWithTheReason() {
        Optional<String> why = HostCapabilities.kvmUnavailable();
        assumeTrue(why.isPresent(), "this host has a usable /dev/kvm");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Machines.create("kvm", memory, "ab", serial));
        assertTrue(e.getMessage().contains(why.get()), e.getMessage());
    }

    @Test
    void injectedProbe() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        try (GuestMachine m = Machines.create(memory, MachineConfig.of("auto", "idle", serial), ps, () -> Optional.of("test reason"))) {
            assertEquals("java", m.accelerator());
        }
        assertArrayEquals(new String[]{"livemig: /dev/kvm unavailable (test reason); using the java machine"}, lines(err));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Machines.create(memory, MachineConfig.of("kvm", "idle", serial), ps, () -> Optional.of("test reason")));
        assertEquals("accelerator 'kvm' unavailable: test reason (use 'java' or 'auto' to run the guest as Java threads)", e.getMessage());
        try (GuestMachine m = Machines.create(memory, MachineConfig.of("java", "ab", serial), ps, () -> Optional.of("ignored"))) {
            assertEquals("java", m.accelerator());
        }
        assertEquals(1, lines(err).length, "explicit java prints nothing");
    }

    @Test
    void autoFallsBackWhenTheKvmMachineCannotBeCreated() {
        assumeTrue(HostCapabilities.kvmUnavailable().isPresent(), "this host has a usable /dev/kvm");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        // the probe says yes, but /dev/kvm cannot really be used here: auto must still end on the java machine
        try (GuestMachine m = Machines.create(memory, MachineConfig.of("auto", "idle", serial), ps, Optional::empty)) {
            assertEquals("java", m.accelerator());
        }
        String[] l = lines(err);
        assertEquals(1, l.length, err.toString(StandardCharsets.UTF_8));
        assertTrue(l[0].startsWith("livemig: /dev/kvm unavailable (creating the KVM machine failed: ")
                && l[0].endsWith("); using the java machine"), l[0]);
    }

    @Test
    void configIsValidatedBeforeAnythingIsAllocated() {
        assertThrows(IllegalArgumentException.class, () -> MachineConfig.of("tcg", "ab", serial));
        assertThrows(IllegalArgumentException.class, () -> MachineConfig.of("java", "linux", serial));
        assertThrows(IllegalArgumentException.class, () -> MachineConfig.of("java", "ab", serial).withVcpuCount(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MachineConfig.of("java", "ab", serial).withAbWindowEndBytes(12345));
        assertTrue(e.getMessage().startsWith("abWindowEndBytes=0x3039"), e.getMessage());
    }
}
