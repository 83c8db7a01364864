package io.livemig.kvm.java;

import io.livemig.kvm.MachineStateFile;
import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class JavaMachineSaveRestoreTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** A source A-B machine that ran past 2 'B's and is now paused mid-pass. */
    private static JavaMachine pausedMidPass(GuestMemory memory, SerialSink serial) throws Exception {
        JavaMachine src = JavaMachine.create(memory, MachineConfig.of("java", "ab", serial));
        src.start();
        assertTrue(serial.awaitCount('B', 2, WAIT), "source printed no 'B': " + serial.tail());
        for (int tries = 0; ; tries++) { // pause away from a pass boundary, so "mid-loop" is really tested
            src.pause();
            if (AbConsistencyCheck.check(memory).loopPositionGpa() > 0 || tries > 50) break;
            src.resume();
            Thread.sleep(1);
        }
        return src;
    }

    @Test
    void restoredInAFreshMachineContinuesMidLoop() throws Exception {
        try (GuestMemory srcMem = TestRam.create(); GuestMemory dstMem = TestRam.create();
             SerialSink srcSerial = SerialSink.none(); SerialSink dstSerial = SerialSink.none()) {
            JavaMachine src = pausedMidPass(srcMem, srcSerial);
            MachineState state = src.saveState();
            assertEquals("java", state.accelerator());
            assertEquals(List.of("cpu0/ab"), state.entries().stream().map(MachineState.Entry::name).toList());
            AbConsistencyCheck.Result srcResult = AbConsistencyCheck.check(srcMem);
            assertTrue(srcResult.consistent(), srcResult.message());

            MemorySegment.copy(TestRam.ram(srcMem), 0, TestRam.ram(dstMem), 0, TestRam.DEFAULT_BYTES);
            JavaMachine dst = JavaMachine.create(dstMem, MachineConfig.of("java", "ab", dstSerial));
            dst.loadState(state);
            assertEquals(src.workload(0).position(), dst.workload(0).position());
            assertArrayEquals(state.entry("cpu0/ab").data(), dst.saveState().entry("cpu0/ab").data());
            long firstPage = AbGuest.WINDOW_START_BYTES;
            byte before = TestRam.ram(dstMem).get(ValueLayout.JAVA_BYTE, firstPage);

            dst.start();
            assertTrue(dstSerial.awaitCount('B', 2, WAIT), "destination printed no 'B': " + dstSerial.tail());
            assertEquals(0, dstSerial.count('A'), "destination restarted the guest: " + dstSerial.tail());
            AbConsistencyCheck.Result r = AbConsistencyCheck.stopAndCheck(dst, AbGuest.DEFAULT_WINDOW_END_BYTES, WAIT);
            assertTrue(r.consistent(), r.message());
            assertNotEquals(before, TestRam.ram(dstMem).get(ValueLayout.JAVA_BYTE, firstPage));
            // the source, still paused, is also consistent and unharmed
            assertTrue(AbConsistencyCheck.check(srcMem).consistent(), AbConsistencyCheck.check(srcMem).message());
            src.resume();
            long bs = srcSerial.count('B');
            assertTrue(srcSerial.awaitCount('B', bs + 1, WAIT));
            src.close();
            dst.close();
        }
    }

    @Test
    void loadStateRejectsMismatchedState() throws Exception {
        try (GuestMemory mem = TestRam.create(); SerialSink serial = SerialSink.none()) {
            JavaMachine idle = JavaMachine.create(mem, MachineConfig.of("java", "idle", serial));
            JavaMachine ab = JavaMachine.create(mem, MachineConfig.of("java", "ab", serial));
            MachineState abState = ab.saveState();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> idle.loadState(abState));
            assertTrue(e.getMessage().contains("cpu0/idle"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ab.loadState(new MachineState("kvm", abState.entries())));
            byte[] bad = abState.entry("cpu0/ab").data().clone();
            bad[0] = 'X';
            e = assertThrows(IllegalArgumentException.class,
                    () -> ab.loadState(new MachineState("java", List.of(new MachineState.Entry("cpu0/ab", bad)))));
            assertTrue(e.getMessage().contains("magic"), e.getMessage());
            idle.close();
            ab.close();
        }
    }

    @Test
    void restoredInAnotherProcessFromAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ab.state");
        try (GuestMemory mem = TestRam.create(); SerialSink serial = SerialSink.none()) {
            JavaMachine src = pausedMidPass(mem, serial);
            MachineStateFile.write(file, src.saveState(), TestRam.ram(mem));
            Child c = runChild(file);
            assertEquals(0, c.exit, c.output);
            assertTrue(c.output.contains("RESULT A-B RAM consistent"), c.output);
            assertTrue(c.output.contains("RESULT PASS"), c.output);
            assertTrue(AbConsistencyCheck.check(mem).consistent());
            src.close();
        }
    }

    @Test
    void anotherProcessDetectsACorruptedPage(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ab-bad.state");
        try (GuestMemory mem = TestRam.create(); SerialSink serial = SerialSink.none()) {
            JavaMachine src = pausedMidPass(mem, serial);
            MemorySegment ram = TestRam.ram(mem);
            long victim = 50L << 20;
            ram.set(ValueLayout.JAVA_BYTE, victim, (byte) (ram.get(ValueLayout.JAVA_BYTE, victim) + 100));
            MachineStateFile.write(file, src.saveState(), ram);
            Child c = runChild(file);
            assertEquals(1, c.exit, c.output);
            assertTrue(c.output.contains("INCONSISTENT") && c.output.contains("0x" + Long.toHexString(victim)), c.output);
            src.close();
        }
    }

    private record Child(int exit, String output) {
    }

    private static Child runChild(Path stateFile) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), AbRestoreMain.class.getName(), stateFile.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out;
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child JVM did not finish within 60 s: " + cmd);
        }
        out = p.getInputStream().readAllBytes();
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
