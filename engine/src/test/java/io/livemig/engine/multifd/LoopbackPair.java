package io.livemig.engine.multifd;

import io.livemig.memory.GuestMemory;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.MigrationUri;
import io.livemig.transport.Transports;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Test harness: a livemig multifd sender and receiver over real loopback TCP, plus a main channel that
 * carries one byte per RAM EOS (standing in for the RAM section's EOS record) so the destination calls
 * {@link MultifdReceiver#syncMain} at the same points as the real loader.
 */
final class LoopbackPair implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(30);

    final MultifdSender sender;
    final MultifdReceiver receiver;
    final MigrationChannel sourceMain;
    final MigrationChannel destMain;
    private final IncomingEndpoint endpoint;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment eosByte = arena.allocate(1);
    private final MemorySegment readByte = arena.allocate(1);

    /** Channels are plain tcp unless {@code connector} is given (e.g. zero-copy sockets). */
    interface Connector {
        MigrationChannel connect(MigrationUri.Tcp uri) throws IOException;
    }

    LoopbackPair(GuestMemory dest, MultifdSender.Config config, Connector connector) throws Exception {
        endpoint = Transports.listen("tcp:127.0.0.1:0");
        receiver = new MultifdReceiver(dest, config.channels(), config.compression(), config.uuid());
        CompletableFuture<MigrationChannel> acceptor = CompletableFuture.supplyAsync(() -> {
            try {
                MigrationChannel main = endpoint.accept(); // the first connection is the main channel (7.2)
                for (int i = 0; i < config.channels(); i++) receiver.addChannel(endpoint.accept());
                return main;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        MigrationUri.Tcp uri = (MigrationUri.Tcp) endpoint.boundUri();
        sourceMain = Transports.connect(uri);
        sender = new MultifdSender(config);
        for (int i = 0; i < config.channels(); i++) {
            sender.addChannel(connector == null ? Transports.connect(uri) : connector.connect(uri));
        }
        destMain = acceptor.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        receiver.awaitChannels(WAIT);
    }

    /** Source: multifd sync then the EOS "record" on the main channel. */
    void sourceEos() throws IOException {
        sender.syncMain();
        sourceMain.write(eosByte);
    }

    /** Destination: read one EOS from the main channel and sync the multifd channels. */
    void destEos() throws IOException {
        destMain.readFully(readByte);
        receiver.syncMain(WAIT);
    }

    @Override
    public void close() throws java.io.IOException {
        try {
            sender.close();
        } finally {
            try {
                receiver.close();
            } finally {
                sourceMain.close();
                destMain.close();
                endpoint.close();
                arena.close();
            }
        }
    }
}
