package io.livemig.engine.multifd;

import io.livemig.memory.RamBlock;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.zerocopy.ZeroCopySender;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The source side of multifd (spec section 3): N {@link MultifdSendChannel}s, fed by the migration thread.
 *
 * <p>Use from the migration thread (the only thread that calls the non-stats methods):
 * <pre>
 *   MultifdSender s = new MultifdSender(MultifdSender.Config.of(channels, compression, level, uuid));
 *   for each connection after the main one: s.addChannel(Transports.connect(uri));   // writes MultiFDInit_t
 *   each dirty non-zero page:  s.queuePage(block, offset);       // 128 pages = one packet, round robin
 *   before every RAM EOS on the main channel (setup, each PART, END): s.syncMain();   // spec 3.5
 *   at the end: s.finish(); s.close();
 * </pre>
 * Zero pages never go through here (7.2 sends them as ZERO records on the main channel).
 *
 * <p>Ordering: {@link #syncMain} sends the partial batch, queues one SYNC packet behind everything already
 * queued on every channel, and waits until every channel has written it (and, with zero-copy, reaped all
 * completions). Only then may the caller write the EOS record: the destination waits at that EOS until
 * every channel has delivered its SYNC and holds each channel until all have, so no page of pass n+1 can
 * be written to guest RAM before every page of pass n.
 *
 * <p>Failure: the first channel failure is kept, every channel is shut down (so blocked writers wake),
 * and every later call throws a {@link MultifdException} naming the channel and the cause.
 */
public final class MultifdSender implements AutoCloseable {

    /**
     * Configuration, validated before anything is allocated.
     *
     * @param channels            {@code multifd-channels} (1..255)
     * @param compression         {@code multifd-compression}
     * @param level               {@code multifd-zlib-level} (0..9) or {@code multifd-zstd-level} (0..20)
     * @param uuid                the source's uuid, 16 bytes (all zero without {@code -uuid})
     * @param queueCapacity       page batches queued per channel (>= 2)
     * @param stallTimeout        longest wait for queue room or a SYNC before giving up
     * @param zeroCopySend        whether channels are {@link ZeroCopySender}s (needs compression none)
     */
    public record Config(int channels, MultifdCompression compression, int level, byte[] uuid, int queueCapacity,
                         Duration stallTimeout, boolean zeroCopySend) {
        public Config {
            if (channels < 1 || channels > 255) {
                throw new IllegalArgumentException("multifd-channels=" + channels + ", expected 1..255");
            }
            if (compression == null) throw new IllegalArgumentException("multifd-compression must be set");
            if (compression == MultifdCompression.ZLIB && (level < 0 || level > 9)) {
                throw new IllegalArgumentException("multifd-zlib-level=" + level + ", expected 0..9");
            }
            if (compression == MultifdCompression.ZSTD && (level < 0 || level > 20)) {
                throw new IllegalArgumentException("multifd-zstd-level=" + level + ", expected 0..20");
            }
            if (uuid == null || uuid.length != MultifdInitDescriptor.UUID_BYTES) {
                throw new IllegalArgumentException("uuid must be 16 bytes");
            }
            if (queueCapacity < 2) throw new IllegalArgumentException("queueCapacity=" + queueCapacity + ", expected >= 2");
            if (stallTimeout == null || stallTimeout.isNegative() || stallTimeout.isZero()) {
                throw new IllegalArgumentException("stallTimeout=" + stallTimeout + ", expected > 0");
            }
            if (zeroCopySend && compression != MultifdCompression.NONE) {
                // QEMU 7.2's text for the same rejection.
                throw new IllegalArgumentException("Zero copy only available for non-compressed non-TLS multifd migration");
            }
            uuid = uuid.clone();
        }

        /**
         * From the QMP parameters ({@code multifd-channels}, {@code multifd-compression} and the matching
         * level); {@code zeroCopySend} is the {@code zero-copy-send} capability.
         */
        public static Config fromParameters(io.livemig.engine.migration.MigrationParameters.Snapshot p, byte[] uuid,
                                            boolean zeroCopySend) {
            MultifdCompression c = MultifdCompression.fromQapiName(p.multifdCompression());
            int level = c == MultifdCompression.ZSTD ? p.multifdZstdLevel() : p.multifdZlibLevel();
            return of(p.multifdChannels(), c, level, uuid).withZeroCopySend(zeroCopySend);
        }

        /** Defaults: 4 batches queued per channel, 60 s stall timeout, no zero-copy. */
        public static Config of(int channels, MultifdCompression compression, int level, byte[] uuid) {
            return new Config(channels, compression, level, uuid, 4, Duration.ofSeconds(60), false);
        }

        public Config withZeroCopySend(boolean on) {
            return new Config(channels, compression, level, uuid, queueCapacity, stallTimeout, on);
        }

        public Config withStallTimeout(Duration d) {
            return new Config(channels, compression, level, uuid, queueCapacity, d, zeroCopySend);
        }

        public Config withQueueCapacity(int n) {
            return new Config(channels, compression, level, uuid, n, stallTimeout, zeroCopySend);
        }
    }

    private final Config config;
    private final List<MultifdSendChannel> channels = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Shared by all channels, like QEMU's packet_num counter. */
    private final AtomicLong packetNum = new AtomicLong();
    private final AtomicReference<MultifdException> failure = new AtomicReference<>();
    /** The migration thread, unparked by channel threads when queue room frees up; set on every hand-off. */
    private volatile Thread producer;
    private PageBatch current;
    private int nextChannel;
    private long syncGeneration;

    public MultifdSender(Config config) {
        this.config = config;
        this.producer = Thread.currentThread();
    }

    public Config config() {
        return config;
    }

    MultifdCompression compression() {
        return config.compression;
    }

    long nextPacketNum() {
        return packetNum.getAndIncrement();
    }

    /**
     * Adds the next multifd connection (ids are given in order 0..channels-1): writes its
     * {@code MultiFDInit_t} at once (so a destination that reads init packets as it accepts never waits on
     * a connection we have not started) and starts its thread.
     *
     * @throws IOException when the init packet cannot be written
     */
    public MultifdSendChannel addChannel(MigrationChannel channel) throws IOException {
        checkNotFailed();
        int id = channels.size();
        if (id >= config.channels) {
            throw new IllegalStateException("already " + config.channels + " multifd channels (multifd-channels="
                    + config.channels + ")");
        }
        if (config.zeroCopySend && !(channel instanceof ZeroCopySender)) {
            throw new IllegalArgumentException("zero-copy-send needs ZeroCopySender channels, got " + channel.description());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment init = arena.allocate(MultifdInitDescriptor.BYTES);
            MultifdInitDescriptor.encode(init, config.uuid, id);
            channel.write(init);
        }
        MultifdSendChannel c = new MultifdSendChannel(id, channel, this,
                PacketCompressor.create(config.compression, config.level), config.queueCapacity, config.stallTimeout);
        channels.add(c);
        c.start();
        return c;
    }

    /** The channels added so far, by id. */
    public List<MultifdSendChannel> channels() {
        return List.copyOf(channels);
    }

    /** Queues one dirty non-zero page; a full batch (128 pages) goes to the next channel with room. */
    public void queuePage(RamBlock block, long offset) throws MultifdException {
        if (current != null && current.block() != block) flush();
        if (current == null) current = new PageBatch(block);
        current.add(offset);
        if (current.isFull()) flush();
    }

    /** Sends the partially filled batch, if any. */
    public void flush() throws MultifdException {
        producer = Thread.currentThread();
        PageBatch b = current;
        current = null;
        if (b == null || b.count() == 0) return;
        requireAllChannels();
        long deadline = System.nanoTime() + config.stallTimeout.toNanos();
        int n = channels.size();
        while (true) {
            checkNotFailed();
            for (int i = 0; i < n; i++) {
                MultifdSendChannel c = channels.get(nextChannel);
                nextChannel = (nextChannel + 1) % n;
                if (c.offer(b)) return;
            }
            if (System.nanoTime() > deadline) {
                throw failWith(new MultifdException("multifd: no channel took a page batch for "
                        + config.stallTimeout.toMillis() + " ms (all " + n + " queues full)"));
            }
            LockSupport.parkNanos(1_000_000); // fallback only: channel threads unpark us after every packet
        }
    }

    /**
     * The 7.2 sync before a RAM EOS on the main channel (spec 3.5): partial batch out, one SYNC packet per
     * channel, and wait (at most the stall timeout) until every channel wrote it.
     */
    public void syncMain() throws MultifdException {
        flush();
        producer = Thread.currentThread();
        requireAllChannels();
        long target = ++syncGeneration;
        long deadline = System.nanoTime() + config.stallTimeout.toNanos();
        for (MultifdSendChannel c : channels) {
            while (!c.offer(MultifdSendChannel.SYNC)) {
                checkNotFailed();
                if (System.nanoTime() > deadline) throw failWith(stalled("queue a SYNC on", c));
                LockSupport.parkNanos(1_000_000); // fallback only: channel threads unpark us after every packet
            }
        }
        for (MultifdSendChannel c : channels) {
            while (c.syncsDone.get() < target) {
                checkNotFailed();
                if (System.nanoTime() > deadline) throw failWith(stalled("write the SYNC packet on", c));
                LockSupport.parkNanos(1_000_000); // fallback only: channel threads unpark us after every packet
            }
        }
    }

    /**
     * Ends the multifd phase: flushes, lets every thread drain its queue and exit (bounded by the stall
     * timeout), then ends each connection's write direction so the destination sees a clean end of stream.
     */
    public void finish() throws MultifdException {
        flush();
        for (MultifdSendChannel c : channels) c.requestStop();
        long deadline = System.nanoTime() + config.stallTimeout.toNanos();
        for (MultifdSendChannel c : channels) {
            try {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                c.thread().join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failWith(new MultifdException("multifd: interrupted while finishing", e));
            }
            if (c.thread().isAlive()) throw failWith(stalled("finish", c));
        }
        checkNotFailed();
        for (MultifdSendChannel c : channels) {
            try {
                c.channel().shutdownOutput();
            } catch (IOException e) {
                throw failWith(new MultifdException(c + ": shutdown of the write direction failed: " + e.getMessage(), e));
            }
        }
    }

    /** Counters for query-migrate ({@code multifd-bytes}, {@code dirty-sync-missed-zero-copy}, per channel). */
    public MultifdStats stats() {
        long total = 0;
        long wire = 0;
        long missed = 0;
        long copied = 0;
        List<MultifdChannelStats> list = new ArrayList<>();
        for (MultifdSendChannel c : List.copyOf(channels)) {
            MultifdChannelStats s = c.stats();
            list.add(s);
            total += s.bytes();
            wire += s.wireBytes();
            missed += c.zeroCopyMissedSyncs.get();
            if (c.channel() instanceof ZeroCopySender z) copied += z.copiedCompletions();
        }
        return new MultifdStats(total, wire, missed, copied, list);
    }

    /** The first failure, or null. */
    public MultifdException failure() {
        return failure.get();
    }

    boolean failed() {
        return failure.get() != null;
    }

    void wakeProducer() {
        LockSupport.unpark(producer);
    }

    void fail(MultifdSendChannel c, Throwable t) {
        failWith(new MultifdException(c + " failed: " + t.getMessage(), t));
    }

    private MultifdException failWith(MultifdException e) {
        if (failure.compareAndSet(null, e)) {
            for (MultifdSendChannel c : channels) c.channel().shutdown();
            wakeProducer();
        }
        return failure.get();
    }

    private MultifdException stalled(String what, MultifdSendChannel c) {
        return new MultifdException("multifd: timed out after " + config.stallTimeout.toMillis() + " ms waiting to "
                + what + " " + c);
    }

    private void requireAllChannels() {
        if (channels.size() != config.channels) {
            throw new IllegalStateException("only " + channels.size() + " of " + config.channels
                    + " multifd channels added");
        }
    }

    private void checkNotFailed() throws MultifdException {
        MultifdException f = failure.get();
        if (f != null) throw new MultifdException(f.getMessage(), f);
    }

    /** Stops the threads (if still running) and closes every connection. */
    @Override
    public void close() throws IOException {
        for (MultifdSendChannel c : channels) {
            c.requestStop();
            c.channel().shutdown();
        }
        IOException first = null;
        for (MultifdSendChannel c : channels) {
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
