package io.livemig.engine.multifd;

import io.livemig.transport.MigrationChannel;
import io.livemig.transport.zerocopy.ZeroCopySender;
import org.jctools.queues.atomic.SpscAtomicArrayQueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One multifd sender thread and its connection: it takes {@link PageBatch}es and SYNC requests from a
 * bounded single-producer/single-consumer queue (the migration thread is the only producer) and writes
 * each as one packet, header and pages in one gathering write straight from guest RAM
 * ({@code compression=none}), or header plus the channel's compressed payload (zlib/zstd).
 *
 * <p>Hand-off: {@link #queue} is a JCTools {@link SpscAtomicArrayQueue}; {@code offer} publishes the batch
 * with release semantics and {@code poll} acquires it. The producer unparks this thread after an offer;
 * this thread parks (bounded, 1 ms) when the queue is empty and unparks the producer after every packet so
 * a producer waiting for room wakes at once. The counters are written by this thread only and read by
 * others with acquire semantics ({@link AtomicLong#get()}).
 *
 * <p>With {@code zero-copy-send} the channel is a {@link ZeroCopySender}: the header goes with an ordinary
 * copying send (its buffer is reused at once), the pages with MSG_ZEROCOPY, and every SYNC packet is
 * followed by {@link ZeroCopySender#flushCompletions} so no page is modified-and-resent while the kernel
 * may still read it (QEMU 7.2 flushes at the same point).
 */
public final class MultifdSendChannel implements Runnable {
    /** The queue item asking for a SYNC packet. */
    static final Object SYNC = new Object();

    private final int id;
    private final MigrationChannel channel;
    private final MultifdSender owner;
    private final PacketCompressor compressor;
    private final SpscAtomicArrayQueue<Object> queue;
    private final Duration zeroCopyFlushTimeout;
    private volatile Thread thread;
    private volatile boolean stopRequested;

    final AtomicLong packets = new AtomicLong();
    final AtomicLong pages = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong wireBytes = new AtomicLong();
    /** SYNC packets written (and, with zero-copy, flushed); the migration thread waits on it. */
    final AtomicLong syncsDone = new AtomicLong();
    final AtomicLong zeroCopyMissedSyncs = new AtomicLong();

    MultifdSendChannel(int id, MigrationChannel channel, MultifdSender owner, PacketCompressor compressor,
                       int queueCapacity, Duration zeroCopyFlushTimeout) {
        this.id = id;
        this.channel = channel;
        this.owner = owner;
        this.compressor = compressor;
        this.queue = new SpscAtomicArrayQueue<>(queueCapacity);
        this.zeroCopyFlushTimeout = zeroCopyFlushTimeout;
    }

    public int id() {
        return id;
    }

    public MigrationChannel channel() {
        return channel;
    }

    void start() {
        Thread t = new Thread(this, "multifd-send-" + id);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    Thread thread() {
        return thread;
    }

    /** Producer side: hands an item over; false when the queue is full. */
    boolean offer(Object item) {
        if (!queue.offer(item)) return false;
        LockSupport.unpark(thread);
        return true;
    }

    /** Lets the thread finish once the queue is drained. */
    void requestStop() {
        stopRequested = true;
        LockSupport.unpark(thread);
    }

    MultifdChannelStats stats() {
        return new MultifdChannelStats(id, packets.get(), pages.get(), bytes.get(), wireBytes.get(), syncsDone.get());
    }

    @Override
    public void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(MultifdPacketDescriptor.BYTES, 8);
            MemorySegment[] runs = new MemorySegment[MultifdPacketDescriptor.PAGES_PER_PACKET];
            MemorySegment[] gather = new MemorySegment[MultifdPacketDescriptor.PAGES_PER_PACKET + 1];
            ZeroCopySender zeroCopy = channel instanceof ZeroCopySender z ? z : null;
            while (true) {
                Object item = queue.poll();
                if (item == null) {
                    if (owner.failed()) return;
                    if (stopRequested && queue.isEmpty()) return;
                    LockSupport.parkNanos(1_000_000);
                    continue;
                }
                if (item == SYNC) {
                    MultifdPacketDescriptor.encode(header, MultifdPacketDescriptor.FLAG_SYNC, 0, 0,
                            owner.nextPacketNum(), null, null);
                    channel.write(header);
                    if (zeroCopy != null && zeroCopy.flushCompletions(zeroCopyFlushTimeout) > 0) {
                        zeroCopyMissedSyncs.incrementAndGet();
                    }
                    packets.lazySet(packets.get() + 1);
                    bytes.lazySet(bytes.get() + MultifdPacketDescriptor.BYTES);
                    wireBytes.lazySet(wireBytes.get() + MultifdPacketDescriptor.BYTES);
                    syncsDone.set(syncsDone.get() + 1); // release: the migration thread may now write EOS
                } else {
                    PageBatch batch = (PageBatch) item;
                    int count = batch.count();
                    int n = PageBatch.runs(batch.block().segment(), batch.offsets(), count, runs);
                    long packetNum = owner.nextPacketNum();
                    long payloadBytes;
                    if (compressor == null) {
                        payloadBytes = (long) count * MultifdPacketDescriptor.PAGE_SIZE;
                        MultifdPacketDescriptor.encode(header, 0, count, (int) payloadBytes, packetNum,
                                batch.block().name(), batch.offsets());
                        if (zeroCopy != null) {
                            zeroCopy.write(header);
                            MemorySegment[] pagesOnly = new MemorySegment[n];
                            System.arraycopy(runs, 0, pagesOnly, 0, n);
                            zeroCopy.writeZeroCopy(pagesOnly);
                        } else {
                            gather[0] = header;
                            System.arraycopy(runs, 0, gather, 1, n);
                            MemorySegment[] srcs = n + 1 == gather.length ? gather : java.util.Arrays.copyOf(gather, n + 1);
                            channel.write(srcs);
                        }
                    } else {
                        MemorySegment payload = compressor.compress(runs, n);
                        payloadBytes = payload.byteSize();
                        MultifdPacketDescriptor.encode(header, owner.compression().flagBits(), count,
                                (int) payloadBytes, packetNum, batch.block().name(), batch.offsets());
                        channel.write(header, payload);
                    }
                    packets.lazySet(packets.get() + 1);
                    pages.lazySet(pages.get() + count);
                    bytes.lazySet(bytes.get() + MultifdPacketDescriptor.BYTES + (long) count * MultifdPacketDescriptor.PAGE_SIZE);
                    wireBytes.lazySet(wireBytes.get() + MultifdPacketDescriptor.BYTES + payloadBytes);
                }
                owner.wakeProducer();
            }
        } catch (Throwable t) {
            owner.fail(this, t);
        } finally {
            if (compressor != null) compressor.close();
            owner.wakeProducer();
        }
    }

    @Override
    public String toString() {
        return "multifd send channel " + id + " (" + channel.description() + ")";
    }
}
