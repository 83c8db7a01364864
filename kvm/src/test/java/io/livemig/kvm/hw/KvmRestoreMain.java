package io.livemig.kvm.hw;

import io.livemig.kvm.MachineStateFile;
import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;

import java.nio.file.Path;

/**
 * The second process of the cross-process restore test: loads a {@link MachineStateFile} into a fresh KVM machine,
 * resumes it, waits for two 'B's (and no 'A'), pauses, runs the RAM consistency check. Prints one line starting
 * with {@code OK} or {@code FAIL} and exits 0 or 1.
 */
public final class KvmRestoreMain {
    private KvmRestoreMain() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int code = 1;
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", MachineStateFile.ramBytes(file)).build();
             SerialSink serial = SerialSink.none()) {
            MachineState state = MachineStateFile.read(file, mem);
            try (KvmMachine m = KvmMachine.create(mem, KvmTests.config("ab", serial), KvmMachine.Options.defaults())) {
                // RAM was loaded before create(): create() writes the boot sector at 0x7C00, which is the same bytes.
                m.loadState(state);
                m.start();
                boolean b = serial.awaitCount('B', 2, KvmTests.waitTime());
                m.pause();
                AbConsistencyCheck.Result r = AbConsistencyCheck.check(mem, KvmTests.abWindowEnd());
                if (!b) {
                    System.out.println("FAIL no 'B' within " + KvmTests.waitTime() + ": '" + serial.tail() + "' " + m.failure());
                } else if (serial.count('A') != 0) {
                    System.out.println("FAIL restored guest printed 'A' (it restarted instead of continuing): " + serial.tail());
                } else if (!r.consistent()) {
                    System.out.println("FAIL " + r.message());
                } else {
                    System.out.println("OK " + serial.count('B') + " B, " + r.message());
                    code = 0;
                }
            }
        } catch (Throwable t) {
            System.out.println("FAIL " + t);
            t.printStackTrace(System.out);
        }
        System.exit(code);
    }
}
