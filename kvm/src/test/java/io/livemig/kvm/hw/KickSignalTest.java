package io.livemig.kvm.hw;

import io.livemig.sys.LibC;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The signal half of the vCPU kick, without KVM: a thread that blocked {@link KickSignal#SIGNAL} receives a tgkill
 * as a pending signal (never delivered, so no handler and no process death) and consumes it with sigtimedwait.
 * (That KVM_RUN returns EINTR for it is the KVM half, tested by the KVM pause tests.)
 */
class KickSignalTest {
    @Test
    @Timeout(30)
    void aBlockedKickStaysPendingUntilDrained() throws Exception {
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch sent = new CountDownLatch(1);
        CompletableFuture<int[]> result = new CompletableFuture<>();
        int[] tid = new int[1];
        long[] kvmMask = new long[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                kvmMask[0] = KickSignal.blockInCurrentThread();
                tid[0] = LibC.gettid();
                int before = KickSignal.drain();
                blocked.countDown();
                assertTrue(sent.await(10, TimeUnit.SECONDS));
                int first = KickSignal.drain();
                int second = KickSignal.drain();
                result.complete(new int[] {before, first, second});
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        assertTrue(KickSignal.send(tid[0]));
        assertTrue(KickSignal.send(tid[0])); // standard semantics of a real-time signal: queued, drained one by one
        sent.countDown();
        int[] r = result.get(10, TimeUnit.SECONDS);
        t.join();
        assertEquals(0, r[0], "nothing pending before the kick");
        assertEquals(2, r[1], "both kicks consumed by sigtimedwait");
        assertEquals(0, r[2], "nothing left");
        assertEquals(0, kvmMask[0] & (1L << (KickSignal.SIGNAL - 1)), "the KVM_RUN mask leaves the kick deliverable");
        // No kick after the thread ended: HotSpot restores the creation-time signal mask while a thread exits, and a
        // kick arriving then would be delivered with its default action (process exit). KvmMachine never sends one
        // after a run loop marked itself dead and drained (see KvmMachine.kickAll).
    }

    @Test
    void theKickSignalIsNotOneTheJvmOrGlibcUses() {
        assertTrue(KickSignal.SIGNAL >= 34 && KickSignal.SIGNAL <= 64, "a real-time signal above glibc's reserved 32, 33");
    }
}
