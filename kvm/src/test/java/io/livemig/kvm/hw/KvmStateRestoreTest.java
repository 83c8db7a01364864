package io.livemig.kvm.hw;

import io.livemig.kvm.MachineStateFile;
import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The proof of vCPU state capture/restore: pause a running A-B guest, capture, copy RAM into a fresh VM, restore,
 * resume: it keeps printing 'B' (never 'A' again) and the RAM consistency check passes. Same process, and across
 * two processes via a file.
 */
@ExtendWith(KvmTests.class)
@Timeout(value = 40, unit = java.util.concurrent.TimeUnit.MINUTES)
class KvmStateRestoreTest {
    static final long RAM = 128L << 20;
    static final Duration WAIT = KvmTests.waitTime();

    @BeforeEach
    void kvm() {
        KvmTests.assumeKvm();
    }

    /** A source that has run a few passes and is paused mid-pass. */
    static MachineState runAndCapture(GuestMemory mem, SerialSink serial) throws Exception {
        try (KvmMachine src = KvmMachine.create(mem, KvmTests.config("ab", serial), KvmMachine.Options.defaults())) {
            src.start();
            assertTrue(serial.awaitCount('B', 2, WAIT), serial.tail() + " " + src.failure());
            Thread.sleep(3); // land somewhere inside a pass
            src.pause();
            MachineState s = src.saveState();
            AbConsistencyCheck.Result r = AbConsistencyCheck.check(mem, KvmTests.abWindowEnd());
            assertTrue(r.consistent(), "source: " + r.message());
            Set<String> names = new java.util.HashSet<>();
            for (MachineState.Entry e : s.entries()) names.add(e.name());
            for (String n : List.of("cpu0/regs", "cpu0/msrs", "cpu0/lapic", "cpu0/events", "cpu0/mp_state", "clock", "devices/port92")) {
                assertTrue(names.contains(n), "state has " + n + ": " + names);
            }
            assertTrue(names.contains("cpu0/sregs2") || names.contains("cpu0/sregs"));
            assertTrue(names.contains("cpu0/xsave") || names.contains("cpu0/fpu"));
            System.out.println("KVM state entries: " + s.entries().stream().map(e -> e.name() + "=" + e.data().length).toList());
            return s;
        }
    }

    @Test
    void sameProcessRestoreContinuesTheGuest() throws Exception {
        try (GuestMemory srcMem = GuestMemory.builder().anonymous("ram", RAM).build();
             GuestMemory dstMem = GuestMemory.builder().anonymous("ram", RAM).build();
             SerialSink srcSerial = SerialSink.none(); SerialSink dstSerial = SerialSink.none()) {
            MachineState state = runAndCapture(srcMem, srcSerial);
            MemorySegment.copy(srcMem.block("ram").segment(), 0, dstMem.block("ram").segment(), 0, RAM);
            try (KvmMachine dst = KvmMachine.create(dstMem, KvmTests.config("ab", dstSerial), KvmMachine.Options.defaults())) {
                dst.loadState(state);
                dst.start();
                assertTrue(dstSerial.awaitCount('B', 2, WAIT), "destination printed '" + dstSerial.tail() + "' " + dst.failure());
                dst.pause();
                assertEquals(0, dstSerial.count('A'), "the destination continued mid-loop, it did not reboot");
                AbConsistencyCheck.Result r = AbConsistencyCheck.check(dstMem, KvmTests.abWindowEnd());
                assertTrue(r.consistent(), "destination: " + r.message());
                // state survives a second round trip on the destination too
                MachineState again = dst.saveState();
                assertEquals(state.entries().size(), again.entries().size());
            }
        }
    }

    @Test
    void crossProcessRestoreViaAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ab.kvmstate");
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", RAM).build(); SerialSink serial = SerialSink.none()) {
            MachineState state = runAndCapture(mem, serial);
            MachineStateFile.write(file, state, mem.block("ram").segment());
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                KvmRestoreMain.class.getName(), file.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try {
            assertTrue(p.waitFor(WAIT.toSeconds() + 120, TimeUnit.SECONDS), "child did not finish");
        } finally {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.destroyForcibly();
        }
        System.out.println("child: " + out.strip());
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("OK "), out);
    }
}
