package io.livemig.engine.multifd;

import io.livemig.memory.GuestMemory;
import io.livemig.transport.MigrationChannel;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * The destination side of multifd (spec section 3): the first accepted connection is the main channel
 * (handled by the caller); every later one is passed to {@link #addChannel}, whose thread reads the
 * {@code MultiFDInit_t}, checks magic, version, uuid (against this VM's own, as QEMU does) and id (below
 * the channel count, not seen before), then writes pages straight into {@link GuestMemory}.
 *
 * <p>Use from the main-channel loader thread:
 * <pre>
 *   MultifdReceiver r = new MultifdReceiver(memory, channels, compression, ownUuid);
 *   accept loop: r.addChannel(endpoint.accept())      // never blocks on the init packet
 *   at every RAM EOS on the main channel (precopy): r.syncMain(timeout)
 *   after the main stream's EOF: r.awaitEnd(timeout); r.close()
 * </pre>
 *
 * <p>Sync (spec 3.5): each channel, after a SYNC packet, counts one permit on {@link #syncArrivals} and
 * waits on its own {@code go} semaphore; {@link #syncMain} takes one permit per channel and then releases
 * every channel. Pages a channel reads after its SYNC therefore land only after every channel has placed
 * every page sent before the same EOS.
 */
public final class MultifdReceiver implements AutoCloseable {
    private final GuestMemory memory;
    private final int channelCount;
    private final MultifdCompression compression;
    private final byte[] uuid;
    private final List<MultifdRecvChannel> all = new CopyOnWriteArrayList<>();
    /** Identified channels by id; written under {@code this}, read by the main thread. */
    private final MultifdRecvChannel[] byId;
    private final Semaphore syncArrivals = new Semaphore(0);
    private final Semaphore identified = new Semaphore(0);
    private final AtomicReference<MultifdException> failure = new AtomicReference<>();
    /** Told once about the first failure (e.g. to shut down the main channel the loader blocks on). */
    private volatile java.util.function.Consumer<MultifdException> failureListener;
    /** Test hook run by each receive thread before it applies a packet; null in production. */
    volatile IntConsumer packetHook;

    /**
     * @param memory      destination RAM (blocks resolved by name; offsets bounds-checked against them)
     * @param channels    {@code multifd-channels} (1..255)
     * @param compression {@code multifd-compression} (must match the source's)
     * @param uuid        this VM's uuid, 16 bytes (all zero without {@code -uuid})
     */
    public MultifdReceiver(GuestMemory memory, int channels, MultifdCompression compression, byte[] uuid) {
        if (channels < 1 || channels > 255) {
            throw new IllegalArgumentException("multifd-channels=" + channels + ", expected 1..255");
        }
        if (uuid == null || uuid.length != MultifdInitDescriptor.UUID_BYTES) {
            throw new IllegalArgumentException("uuid must be 16 bytes");
        }
        this.memory = memory;
        this.channelCount = channels;
        this.compression = compression;
        this.uuid = uuid.clone();
        this.byId = new MultifdRecvChannel[channels];
    }

    int channelCount() {
        return channelCount;
    }

    byte[] uuid() {
        return uuid;
    }

    /** Starts a receive thread on {@code channel} (a connection accepted after the main channel). */
    public void addChannel(MigrationChannel channel) {
        if (all.size() >= channelCount) {
            channel.shutdown();
            throw new IllegalStateException("more connections than multifd-channels=" + channelCount + ": "
                    + channel.description());
        }
        MultifdRecvChannel c = new MultifdRecvChannel(channel, this, memory, compression);
        all.add(c);
        c.start(all.size() - 1);
    }

    /** Waits until all {@code multifd-channels} sent valid init packets. */
    public void awaitChannels(Duration timeout) throws MultifdException {
        acquire(identified, channelCount, timeout, "all " + channelCount + " multifd channels to identify themselves");
    }

    /**
     * Called at every RAM EOS read on the main channel (precopy): waits until every channel delivered one
     * SYNC packet, then lets them all continue.
     */
    public void syncMain(Duration timeout) throws MultifdException {
        acquire(syncArrivals, channelCount, timeout, "a SYNC packet on every multifd channel");
        for (MultifdRecvChannel c : byIdSnapshot()) c.go.release();
    }

    /** Waits until every channel saw a clean end of stream (the source finished). */
    public void awaitEnd(Duration timeout) throws MultifdException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (MultifdRecvChannel c : all) {
            try {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                c.thread().join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failWith(new MultifdException("multifd: interrupted while waiting for the channels to end", e));
            }
            checkNotFailed();
            if (c.thread().isAlive()) {
                throw failWith(new MultifdException("multifd: " + c + " still open " + timeout.toMillis()
                        + " ms after the main stream ended"));
            }
        }
        if (all.size() < channelCount) {
            throw failWith(new MultifdException("multifd: only " + all.size() + " of " + channelCount
                    + " channels connected"));
        }
    }

    /** Per-channel counters for query-migrate on the destination. */
    public MultifdStats stats() {
        long total = 0;
        long wire = 0;
        List<MultifdChannelStats> list = new ArrayList<>();
        for (MultifdRecvChannel c : byIdSnapshot()) {
            MultifdChannelStats s = c.stats();
            total += s.bytes();
            wire += s.wireBytes();
            list.add(s);
        }
        return new MultifdStats(total, wire, 0, 0, list);
    }

    /**
     * Registers who to tell about the first channel failure, from the failing thread: the loader blocked
     * on the main channel uses it to shut that channel down so the whole load fails promptly.
     */
    public void setFailureListener(java.util.function.Consumer<MultifdException> listener) {
        this.failureListener = listener;
        MultifdException f = failure.get();
        if (f != null && listener != null) listener.accept(f);
    }

    /** Every channel accepted so far (tests). */
    List<MultifdRecvChannel> channelsForTest() {
        return List.copyOf(all);
    }

    public MultifdException failure() {
        return failure.get();
    }

    // ---- called by the receive threads -------------------------------------------------------------

    synchronized void register(MultifdRecvChannel c) {
        int id = c.id();
        if (byId[id] != null) {
            throw new io.livemig.engine.stream.StreamFormatException("multifd.init.id", id,
                    "an id not already used by " + byId[id], MultifdInitDescriptor.ID_OFFSET);
        }
        byId[id] = c;
        identified.release();
    }

    void syncArrived() {
        syncArrivals.release();
    }

    void channelEnded(MultifdRecvChannel c) {
        // Nothing to wake: a syncMain waiting for this channel's SYNC notices c.ended within 50 ms.
    }

    void beforePacket(int id) {
        IntConsumer hook = packetHook;
        if (hook != null) hook.accept(id);
    }

    boolean failed() {
        return failure.get() != null;
    }

    void fail(MultifdRecvChannel c, Throwable t) {
        failWith(new MultifdException(c + " failed: " + t.getMessage(), t));
    }

    private MultifdException failWith(MultifdException e) {
        if (failure.compareAndSet(null, e)) {
            for (MultifdRecvChannel c : all) c.channel().shutdown();
            java.util.function.Consumer<MultifdException> l = failureListener;
            if (l != null) l.accept(e);
        }
        return failure.get();
    }

    private synchronized List<MultifdRecvChannel> byIdSnapshot() {
        List<MultifdRecvChannel> l = new ArrayList<>();
        for (MultifdRecvChannel c : byId) if (c != null) l.add(c);
        return l;
    }

    private void acquire(Semaphore s, int permits, Duration timeout, String what) throws MultifdException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int got = 0;
        try {
            while (got < permits) {
                checkNotFailed();
                long left = deadline - System.nanoTime();
                if (s.tryAcquire(Math.max(0, Math.min(left, 50_000_000L)), TimeUnit.NANOSECONDS)) {
                    got++;
                    continue;
                }
                for (MultifdRecvChannel c : all) {
                    if (c.ended) {
                        throw failWith(new MultifdException("multifd: " + c
                                + " ended (peer closed it) while waiting for " + what));
                    }
                }
                if (deadline - System.nanoTime() <= 0) {
                    throw failWith(new MultifdException("multifd: timed out after " + timeout.toMillis()
                            + " ms waiting for " + what + " (" + got + " of " + permits + ")"));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            s.release(got);
            throw failWith(new MultifdException("multifd: interrupted while waiting for " + what, e));
        }
    }

    private void checkNotFailed() throws MultifdException {
        MultifdException f = failure.get();
        if (f != null) throw new MultifdException(f.getMessage(), f);
    }

    /** Shuts every channel down, waits briefly for the threads, closes the connections. */
    @Override
    public void close() throws IOException {
        for (MultifdRecvChannel c : all) c.channel().shutdown();
        for (MultifdRecvChannel c : all) c.go.release(); // a thread holding after SYNC exits on failure/shutdown
        IOException first = null;
        for (MultifdRecvChannel c : all) {
            try {
                c.thread().join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                c.channel().close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
