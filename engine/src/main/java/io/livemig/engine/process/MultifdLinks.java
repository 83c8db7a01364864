package io.livemig.engine.process;

import io.livemig.engine.migration.MigrationParameters;
import io.livemig.engine.multifd.MultifdChannelStats;
import io.livemig.engine.multifd.MultifdCompression;
import io.livemig.engine.multifd.MultifdException;
import io.livemig.engine.multifd.MultifdReceiver;
import io.livemig.engine.multifd.MultifdSender;
import io.livemig.engine.multifd.MultifdStats;
import io.livemig.engine.qmp.Json;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.ram.RamSaver;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.MigrationUri;
import io.livemig.transport.Transports;
import io.livemig.transport.zerocopy.MemoryLockCheck;
import io.livemig.transport.zerocopy.ZeroCopySender;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The multifd connections of one migration of a {@code livemig run} process (capability {@code multifd},
 * spec section 3): {@link Outgoing} connects the channels after the main one and is the
 * {@link RamSaver.MultifdHook} of the stream; {@link Incoming} accepts every connection after the main
 * one and supplies the RAM EOS hook ({@code syncMain}) of the load. Used by {@link MigrationManager} only.
 */
final class MultifdLinks {
    /** How long the destination waits for all channels' init packets after the main connection. */
    static final Duration CHANNELS_TIMEOUT = Duration.ofSeconds(15);
    /** How long the destination waits at a RAM EOS for every channel's SYNC (or after EOF for the channels' end). */
    static final Duration SYNC_TIMEOUT = Duration.ofSeconds(60);

    private MultifdLinks() {
    }

    /** The uuid as QEMU's {@code qemu_uuid} raw bytes (all zero without one). */
    static byte[] uuidBytes(Optional<UUID> uuid) {
        ByteBuffer b = ByteBuffer.allocate(16);
        uuid.ifPresent(u -> b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()));
        return b.array();
    }

    static void requireSocketUri(MigrationUri uri) throws IOException {
        if (!(uri instanceof MigrationUri.Tcp) && !(uri instanceof MigrationUri.Unix)) {
            throw new IOException("multifd needs a socket migration URI (tcp: or unix:), not '" + uri.text() + "'");
        }
    }

    /** query-migrate additions: {@code ram.multifd-bytes} and livemig's per-channel counters. */
    @SuppressWarnings("unchecked")
    static void addToQuery(Map<String, Object> m, MultifdStats s, int configuredChannels, String compression) {
        if (s == null) return;
        Object ram = m.get("ram");
        if (ram instanceof Map<?, ?> r) {
            ((Map<String, Object>) r).put("multifd-bytes", s.multifdBytes());
            ((Map<String, Object>) r).put("dirty-sync-missed-zero-copy", s.dirtySyncMissedZeroCopy());
        }
        List<Object> channels = new ArrayList<>();
        for (MultifdChannelStats c : s.channels()) {
            channels.add(Json.obj("id", (long) c.id(), "packets", c.packets(), "pages", c.pages(), "bytes", c.bytes(),
                    "wire-bytes", c.wireBytes(), "syncs", c.syncs()));
        }
        m.put("x-livemig-multifd", Json.obj("channels-configured", (long) configuredChannels,
                "compression", compression, "multifd-bytes", s.multifdBytes(), "wire-bytes", s.multifdWireBytes(),
                "zero-copy-copied-completions", s.zeroCopyCopiedCompletions(), "channels", channels));
    }

    /** Source side: N connections to the main channel's URI, in order, each announced by its init packet. */
    static final class Outgoing implements RamSaver.MultifdHook, AutoCloseable {
        private final MultifdSender sender;
        private final List<RamBlock> blocks;
        private final List<MemoryLockCheck.Locked> locks = new ArrayList<>();
        private volatile MultifdStats last;

        /** Connects and announces every channel; the caller has connected the main channel already. */
        Outgoing(MigrationUri uri, GuestMemory memory, MigrationParameters.Snapshot params, Optional<UUID> uuid,
                 boolean zeroCopySend) throws IOException {
            requireSocketUri(uri);
            MultifdSender.Config config;
            try {
                config = MultifdSender.Config.fromParameters(params, uuidBytes(uuid), zeroCopySend);
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage(), e);
            }
            InetSocketAddress zcAddr = null;
            if (zeroCopySend) {
                if (!(uri instanceof MigrationUri.Tcp t)) {
                    throw new IOException("zero-copy-send needs a tcp: migration URI, not '" + uri.text() + "'");
                }
                zcAddr = new InetSocketAddress(InetAddress.getByName(t.host().isEmpty() ? "127.0.0.1" : t.host()), t.port());
            }
            this.sender = new MultifdSender(config);
            this.blocks = memory.blocks();
            try {
                if (zeroCopySend) {
                    for (RamBlock b : blocks) locks.add(MemoryLockCheck.lock(b.segment(), "RAM block '" + b.name() + "'"));
                }
                for (int i = 0; i < config.channels(); i++) {
                    MigrationChannel ch = zeroCopySend ? ZeroCopySender.connectTcp(zcAddr) : Transports.connect(uri);
                    try {
                        sender.addChannel(ch);
                    } catch (IOException | RuntimeException e) {
                        ch.shutdown();
                        ch.close();
                        throw e;
                    }
                }
            } catch (IOException | RuntimeException e) {
                close();
                throw new IOException("multifd: " + e.getMessage(), e);
            }
        }

        int channels() {
            return sender.config().channels();
        }

        String compression() {
            return sender.config().compression().qapiName();
        }

        @Override
        public void queuePage(int blockIndex, RamRegion block, long offset) {
            try {
                sender.queuePage(blocks.get(blockIndex), offset);
            } catch (MultifdException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        }

        @Override
        public void beforeEos() {
            try {
                sender.syncMain();
            } catch (MultifdException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
        }

        /** Bytes sent on the multifd channels as QEMU counts them (multifd-bytes). */
        long bytes() {
            return sender.stats().multifdBytes();
        }

        /** After the main stream completed: drain, end every channel cleanly. */
        void finish() throws IOException {
            sender.finish();
            last = sender.stats();
        }

        MultifdStats stats() {
            MultifdStats s = last;
            return s != null ? s : sender.stats();
        }

        /** Shuts every channel down now (cancel, failure). */
        void shutdown() {
            for (var c : sender.channels()) c.channel().shutdown();
        }

        @Override
        public void close() {
            last = sender.stats();
            try {
                sender.close();
            } catch (IOException e) {
                // the migration's outcome is decided already
            }
            for (MemoryLockCheck.Locked l : locks) l.close();
            locks.clear();
        }
    }

    /**
     * Destination side: every connection accepted after the main one is a multifd channel (7.2 does not
     * peek, spec 3.1); its init packet is checked by {@link MultifdReceiver}. A connection beyond
     * {@code multifd-channels} fails the migration (the source uses more channels).
     */
    static final class Incoming implements AutoCloseable {
        private final MultifdReceiver receiver;
        private final MigrationChannel main;
        private final int channels;
        private final String compression;
        private final Thread acceptor;
        private volatile String failure;
        private volatile boolean closed;

        Incoming(GuestMemory memory, MigrationParameters.Snapshot params, Optional<UUID> uuid, IncomingEndpoint ep,
                 MigrationChannel main) throws IOException {
            requireSocketUri(ep.boundUri());
            MultifdCompression c;
            try {
                c = MultifdCompression.fromQapiName(params.multifdCompression());
                this.receiver = new MultifdReceiver(memory, params.multifdChannels(), c, uuidBytes(uuid));
            } catch (IllegalArgumentException e) {
                throw new IOException(e.getMessage(), e);
            }
            this.main = main;
            this.channels = params.multifdChannels();
            this.compression = c.qapiName();
            receiver.setFailureListener(e -> main.shutdown());
            this.acceptor = new Thread(() -> acceptLoop(ep), "multifd-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        private void acceptLoop(IncomingEndpoint ep) {
            int accepted = 0;
            while (!closed) {
                MigrationChannel ch;
                try {
                    ch = ep.accept();
                } catch (IOException e) {
                    return; // the endpoint was closed: the migration is over
                }
                if (closed) {
                    ch.shutdown();
                    return;
                }
                accepted++;
                try {
                    receiver.addChannel(ch);
                } catch (IllegalStateException e) {
                    fail("multifd: the source opened more than multifd-channels=" + channels
                            + " multifd connections (connection " + accepted + "); set the same multifd-channels on both sides");
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // refused anyway
                    }
                }
            }
        }

        private void fail(String message) {
            if (failure == null) failure = message;
            main.shutdown();
        }

        /** Waits until every channel identified itself (QEMU starts loading only then). */
        void awaitChannels() throws IOException {
            try {
                receiver.awaitChannels(CHANNELS_TIMEOUT);
            } catch (MultifdException e) {
                throw new IOException(e.getMessage() + " (the source must use multifd with the same multifd-channels="
                        + channels + ")", e);
            }
        }

        /** The RAM EOS hook: QEMU 7.2's multifd_recv_sync_main. */
        Runnable eosHook() {
            return () -> {
                try {
                    receiver.syncMain(SYNC_TIMEOUT);
                } catch (MultifdException e) {
                    throw new UncheckedIOException(e.getMessage(), e);
                }
            };
        }

        /** After the main stream's EOF: every channel must end cleanly. */
        void awaitEnd() throws IOException {
            receiver.awaitEnd(SYNC_TIMEOUT);
        }

        /** The multifd failure that brought the load down, if any, else null. */
        String failureMessage() {
            if (failure != null) return failure;
            MultifdException e = receiver.failure();
            return e == null ? null : e.getMessage();
        }

        int channels() {
            return channels;
        }

        String compression() {
            return compression;
        }

        MultifdStats stats() {
            return receiver.stats();
        }

        @Override
        public void close() {
            closed = true;
            try {
                receiver.close();
            } catch (IOException e) {
                // the load's outcome is decided already
            }
        }
    }
}
