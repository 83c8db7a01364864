package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.memory.GuestMemory;
import io.livemig.transport.MigrationChannel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One multifd receive thread and its connection: reads the {@code MultiFDInit_t} (identifying the
 * channel), then packets; pages go straight into guest RAM at their offsets (one read per run of
 * consecutive pages for {@code compression=none}, or decompressed from the payload by the channel's own
 * zlib/zstd stream). After a SYNC packet the thread reports to the main channel and holds until the main
 * channel's RAM EOS released it (spec 3.5).
 *
 * <p>Cross-thread state: {@link #go} is the main channel's release of this channel after a sync (a
 * {@link Semaphore}, as QEMU's {@code sem_sync}); the counters are written by this thread only and read
 * with acquire semantics; {@link #ended} is set (release) when the peer closed the channel at a packet
 * boundary.
 */
public final class MultifdRecvChannel implements Runnable {
    private final MigrationChannel channel;
    private final MultifdReceiver owner;
    private final GuestMemory memory;
    private final MultifdCompression compression;
    private volatile int id = -1;
    private volatile Thread thread;
    volatile boolean ended;

    final Semaphore go = new Semaphore(0);
    final AtomicLong packets = new AtomicLong();
    final AtomicLong pages = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong wireBytes = new AtomicLong();
    final AtomicLong syncs = new AtomicLong();
    /** Bytes consumed from the channel, for error offsets; this thread only. */
    private long streamOffset;

    MultifdRecvChannel(MigrationChannel channel, MultifdReceiver owner, GuestMemory memory,
                       MultifdCompression compression) {
        this.channel = channel;
        this.owner = owner;
        this.memory = memory;
        this.compression = compression;
    }

    /** The channel id from its init packet, or -1 before it was read. */
    public int id() {
        return id;
    }

    public MigrationChannel channel() {
        return channel;
    }

    void start(int ordinal) {
        Thread t = new Thread(this, "multifd-recv-" + ordinal);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    Thread thread() {
        return thread;
    }

    MultifdChannelStats stats() {
        return new MultifdChannelStats(id, packets.get(), pages.get(), bytes.get(), wireBytes.get(), syncs.get());
    }

    @Override
    public void run() {
        PacketDecompressor decompressor = null;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment init = arena.allocate(MultifdInitDescriptor.BYTES, 8);
            readFully(init, "multifd.init", "the MultiFDInit_t packet");
            MultifdInitDescriptor.Init in = MultifdInitDescriptor.decode(init, 0, owner.uuid(), owner.channelCount());
            id = in.channelId();
            owner.register(this);
            decompressor = PacketDecompressor.create(compression);
            MemorySegment header = arena.allocate(MultifdPacketDescriptor.BYTES, 8);
            MemorySegment payload = compression == MultifdCompression.NONE ? null
                    : arena.allocate(MultifdPacketDescriptor.MAX_COMPRESSED_PAYLOAD_BYTES, 8);
            MemorySegment[] runs = new MemorySegment[MultifdPacketDescriptor.PAGES_PER_PACKET];
            while (true) {
                long headerOffset = streamOffset;
                if (!readHeader(header)) {
                    ended = true; // clean end of stream at a packet boundary
                    owner.channelEnded(this);
                    return;
                }
                MultifdPacketDescriptor.Header h =
                        MultifdPacketDescriptor.decode(header, headerOffset, memory, compression);
                owner.beforePacket(id);
                long payloadBytes = 0;
                if (h.normalPages() > 0) {
                    int n = PageBatch.runs(h.block().segment(), h.offsets(), h.normalPages(), runs);
                    if (decompressor == null) {
                        for (int i = 0; i < n; i++) readFully(runs[i], "multifd.packet.pages", "page data");
                        payloadBytes = (long) h.normalPages() * MultifdPacketDescriptor.PAGE_SIZE;
                    } else {
                        MemorySegment p = payload.asSlice(0, h.nextPacketSize());
                        long payloadOffset = streamOffset;
                        readFully(p, "multifd.packet.payload", "the compressed payload");
                        decompressor.decompress(p, runs, n, payloadOffset);
                        payloadBytes = h.nextPacketSize();
                    }
                }
                packets.lazySet(packets.get() + 1);
                pages.lazySet(pages.get() + h.normalPages());
                bytes.lazySet(bytes.get() + MultifdPacketDescriptor.BYTES
                        + (long) h.normalPages() * MultifdPacketDescriptor.PAGE_SIZE);
                wireBytes.lazySet(wireBytes.get() + MultifdPacketDescriptor.BYTES + payloadBytes);
                if (h.sync()) {
                    syncs.set(syncs.get() + 1);
                    owner.syncArrived();
                    // Hold until the main channel reached its EOS and every channel synced.
                    while (!go.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                        if (owner.failed()) return;
                    }
                }
            }
        } catch (Throwable t) {
            owner.fail(this, t);
        } finally {
            if (decompressor != null) decompressor.close();
        }
    }

    /** Reads a whole header; false on end of stream before its first byte. */
    private boolean readHeader(MemorySegment header) throws IOException {
        int n = channel.read(header);
        if (n < 0) return false;
        streamOffset += n;
        if (n < header.byteSize()) readFully(header.asSlice(n), "multifd.packet.header", "a packet header");
        return true;
    }

    private void readFully(MemorySegment dst, String field, String what) throws IOException {
        long done = 0;
        long size = dst.byteSize();
        while (done < size) {
            int n = channel.read(dst.asSlice(done));
            if (n < 0) {
                throw new StreamFormatException(field, "end of stream",
                        (size - done) + " more bytes of " + what, streamOffset);
            }
            done += n;
            streamOffset += n;
        }
    }

    @Override
    public String toString() {
        return "multifd receive channel " + (id < 0 ? "(unidentified)" : String.valueOf(id)) + " ("
                + channel.description() + ")";
    }
}
