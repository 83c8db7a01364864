package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * CLEAR's exactness the way a migration uses it: after each sync every reported page is "sent"
 * (clearBeforeSend, then copied), and then the next sync reports exactly the pages the guest wrote in between.
 * (Without the sends, KVM's manual-protect log keeps every unsent page dirty, as api.rst documents, so each sync
 * reports a superset; the shared contract's known-pages case does not send and so does not apply to CLEAR.)
 */
@ExtendWith(KvmTests.class)
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class KvmDirtyClearSendTest {
    @BeforeEach
    void kvm() {
        KvmTests.assumeKvm();
    }

    @Test
    void afterSendingWhatASyncReportedTheNextSyncReportsExactlyTheNewWrites() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 128L << 20).build(); SerialSink serial = SerialSink.none();
             KvmMachine m = KvmMachine.create(mem, KvmTests.config("scripted", serial), KvmMachine.Options.defaults())) {
            RamBlock ram = mem.block("ram");
            ScriptedGuest guest = m.scriptedGuest().orElseThrow();
            m.start();
            try (DirtyTracker t = m.startDirtyTracking(new DirtyTracker.Config(DirtyTracker.Backend.CLEAR, 1L << 20, 0))) {
                TreeSet<Long> first = syncAndSend(t, ram);
                assertEquals(ram.pages(), first.size(), "initially-all-set: the first sync reports every page");
                Random rnd = new Random(7);
                for (int round = 0; round < 6; round++) {
                    TreeSet<Long> expected = new TreeSet<>();
                    List<Long> gpas = new ArrayList<>();
                    for (int i = 0; i < 1 + rnd.nextInt(400); i++) {
                        long page = rnd.nextInt((int) ram.pages());
                        expected.add(page);
                        gpas.add(page * 4096 + rnd.nextInt(4096));
                    }
                    guest.incrementBytes(gpas.stream().mapToLong(Long::longValue).toArray(), KvmTests.waitTime());
                    assertEquals(expected, syncAndSend(t, ram), "round " + round);
                }
                assertEquals(new TreeSet<Long>(), syncAndSend(t, ram), "quiet sync");
            }
        }
    }

    private static TreeSet<Long> syncAndSend(DirtyTracker t, RamBlock ram) {
        DirtyBitmap bm = new DirtyBitmap(ram.pages());
        t.sync(b -> bm);
        TreeSet<Long> got = new TreeSet<>();
        for (long p = bm.nextSetBit(0); p >= 0; p = bm.nextSetBit(p + 1)) {
            t.clearBeforeSend(ram, p, 1);
            got.add(p);
        }
        return got;
    }
}
