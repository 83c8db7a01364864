package io.livemig.kvm.java;

import io.livemig.kvm.MachineStateFile;
import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The "destination process" of the cross-process save/restore test: loads state + RAM from a file into a fresh
 * JavaMachine, runs it until it printed 2 'B's, stops it and runs the consistency check.
 * Prints {@code RESULT ...} lines; exit 0 = consistent and continued mid-loop, 1 = check failed, 2 = error.
 */
public final class AbRestoreMain {
    public static void main(String[] args) {
        try {
            Path file = Path.of(args[0]);
            long ramBytes = MachineStateFile.ramBytes(file);
            try (GuestMemory memory = GuestMemory.builder().anonymous("ram", ramBytes).build();
                 SerialSink serial = SerialSink.none()) {
                MachineState state = MachineStateFile.read(file, memory);
                JavaMachine m = JavaMachine.create(memory, MachineConfig.of("java", "ab", serial));
                m.loadState(state);
                System.out.println("RESULT loaded " + m.workload(0).position());
                m.start();
                boolean bs = serial.awaitCount(AbGuest.PASS_CHAR, 2, Duration.ofSeconds(20));
                AbConsistencyCheck.Result r = AbConsistencyCheck.stopAndCheck(m, AbGuest.DEFAULT_WINDOW_END_BYTES,
                        Duration.ofSeconds(5));
                m.close();
                System.out.println("RESULT serial=" + serial.tail());
                System.out.println("RESULT " + r.message());
                boolean ok = bs && serial.count(AbGuest.START_CHAR) == 0 && r.consistent();
                System.out.println("RESULT " + (ok ? "PASS" : "FAIL") + " bs=" + bs + " as=" + serial.count('A'));
                System.exit(ok ? 0 : 1);
            }
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.exit(2);
        }
    }
}
