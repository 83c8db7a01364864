package io.livemig.kvm.java;

import io.livemig.kvm.ScriptedGuest;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A guest that increments bytes on command ({@link ScriptedGuest}), for tests that must know exactly which
 * pages the guest wrote. One command at a time: the control thread publishes it through {@link #pending}
 * (an AtomicReference: release on set, acquire on the vCPU's read) and kicks the vCPU; the vCPU writes the
 * bytes and publishes progress through the volatile {@link Command#done} count.
 */
public final class ScriptedWriterWorkload implements JavaWorkload, ScriptedGuest {
    private final AtomicReference<Command> pending = new AtomicReference<>();
    private volatile Runnable kick = () -> { };

    private static final class Command {
        final long[] gpas;
        volatile int done;

        Command(long[] gpas) {
            this.gpas = gpas;
        }
    }

    @Override
    public String name() {
        return "scripted";
    }

    @Override
    public void attach(Runnable kickVcpu) {
        this.kick = kickVcpu;
    }

    @Override
    public boolean step(GuestAccess guest, int maxPageWrites) {
        Command c = pending.get();
        if (c == null) return false;
        int i = c.done;
        int end = Math.min(c.gpas.length, i + maxPageWrites);
        for (; i < end; i++) {
            long gpa = c.gpas[i];
            guest.writeByte(gpa, (byte) (guest.readByte(gpa) + 1));
        }
        if (i == c.gpas.length) {
            pending.compareAndSet(c, null); // before publishing completion: the caller may post the next command at once
            c.done = i;
            return false;
        }
        c.done = i;
        return true;
    }

    @Override
    public synchronized void incrementBytes(long[] guestPhysicalAddresses, Duration timeout) {
        Command c = new Command(guestPhysicalAddresses.clone());
        if (!pending.compareAndSet(null, c)) throw new IllegalStateException("scripted guest: a command is still running");
        kick.run();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (c.done < c.gpas.length) {
            if (System.nanoTime() - deadline > 0) {
                pending.compareAndSet(c, null);
                throw new IllegalStateException("scripted guest: wrote " + c.done + " of " + c.gpas.length
                        + " bytes within " + timeout.toMillis() + " ms (is the machine paused or failed?)");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
        }
    }

    /** Only between commands (no state survives a command). */
    @Override
    public byte[] saveState() {
        if (pending.get() != null) throw new IllegalStateException("scripted guest: cannot save mid-command");
        return new byte[0];
    }

    @Override
    public void loadState(byte[] state) {
        if (state.length != 0) {
            throw new IllegalArgumentException("scripted state: length=" + state.length + ", expected 0");
        }
    }
}
