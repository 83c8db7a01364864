package io.livemig.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;

/** Opens {@link MigrationUri}s: {@link #connect} for the source, {@link #listen} for the destination. */
public final class Transports {
    /**
     * Listen backlog for tcp/unix: room for the main connection plus every multifd channel (QEMU 7.2 passes
     * multifd-channels; 255 is its maximum), so a source that connects all channels at once is not refused.
     */
    public static final int LISTEN_BACKLOG = 256;

    private Transports() {
    }

    /** Parses and connects; see {@link #connect(MigrationUri)}. */
    public static MigrationChannel connect(String uri) throws IOException {
        return connect(MigrationUri.parse(uri));
    }

    /**
     * Opens the outgoing stream: connects a socket, starts the exec child, takes over the fd, or creates
     * the file. Errors say {@code Failed to connect to 'ADDR': REASON} as QEMU does.
     */
    public static MigrationChannel connect(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.Tcp t -> {
                InetSocketAddress addr = new InetSocketAddress(resolve(uri, t.host()), t.port());
                SocketChannel sc = SocketChannel.open(family(addr));
                try {
                    sc.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    sc.connect(addr);
                } catch (IOException e) {
                    sc.close();
                    throw new IOException("Failed to connect to '" + t.host() + ":" + t.port() + "': "
                            + e.getMessage(), e);
                }
                yield new NioMigrationChannel(uri.text() + " (to " + sc.getRemoteAddress() + ")", sc, sc, sc);
            }
            case MigrationUri.Unix u -> {
                SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    sc.connect(UnixDomainSocketAddress.of(u.path()));
                } catch (IOException e) {
                    sc.close();
                    throw new IOException("Failed to connect to '" + u.path() + "': " + e.getMessage(), e);
                }
                yield new NioMigrationChannel(uri.text(), sc, sc, sc);
            }
            case MigrationUri.Exec e -> ExecMigrationChannel.start(e.command(), true);
            case MigrationUri.Fd f -> new FdMigrationChannel(f.fd());
            case MigrationUri.File f -> {
                FileChannel fc;
                try {
                    fc = f.offsetBytes() == 0
                            ? FileChannel.open(f.path(), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING)
                            : FileChannel.open(f.path(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    fc.position(f.offsetBytes());
                } catch (IOException e) {
                    throw new IOException("Could not open '" + f.path() + "': " + e.getMessage(), e);
                }
                yield new NioMigrationChannel(uri.text(), null, fc, fc);
            }
        };
    }

    /** Parses and listens; see {@link #listen(MigrationUri)}. */
    public static IncomingEndpoint listen(String uri) throws IOException {
        return listen(MigrationUri.parse(uri));
    }

    /**
     * Prepares the incoming side. tcp and unix bind and listen now (so the bound port can be reported
     * before anyone connects; an existing unix socket file is replaced, as QEMU does); exec starts the
     * child on {@link IncomingEndpoint#accept()}; fd and file open on accept too.
     */
    public static IncomingEndpoint listen(MigrationUri uri) throws IOException {
        return switch (uri) {
            case MigrationUri.Tcp t -> {
                String host = t.host().isEmpty() ? "0.0.0.0" : t.host();
                InetSocketAddress addr = new InetSocketAddress(resolve(uri, host), t.port());
                ServerSocketChannel ss = ServerSocketChannel.open(family(addr));
                try {
                    ss.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                    ss.bind(addr, LISTEN_BACKLOG);
                } catch (IOException e) {
                    ss.close();
                    throw new IOException("Failed to bind socket for '" + uri.text() + "': " + e.getMessage(), e);
                }
                int port = ((InetSocketAddress) ss.getLocalAddress()).getPort();
                MigrationUri bound = new MigrationUri.Tcp(host, port);
                yield new SocketEndpoint(bound, ss, null);
            }
            case MigrationUri.Unix u -> {
                ServerSocketChannel ss = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    Files.deleteIfExists(u.path());
                    ss.bind(UnixDomainSocketAddress.of(u.path()), LISTEN_BACKLOG);
                } catch (IOException e) {
                    ss.close();
                    throw new IOException("Failed to bind socket to '" + u.path() + "': " + e.getMessage(), e);
                }
                yield new SocketEndpoint(uri, ss, u.path());
            }
            case MigrationUri.Exec e -> new OneShotEndpoint(uri, () -> ExecMigrationChannel.start(e.command(), false));
            case MigrationUri.Fd f -> new OneShotEndpoint(uri, () -> new FdMigrationChannel(f.fd()));
            case MigrationUri.File f -> new OneShotEndpoint(uri, () -> {
                FileChannel fc;
                try {
                    fc = FileChannel.open(f.path(), StandardOpenOption.READ);
                    fc.position(f.offsetBytes());
                } catch (IOException ex) {
                    throw new IOException("Could not open '" + f.path() + "': " + ex.getMessage(), ex);
                }
                return new NioMigrationChannel(uri.text(), fc, null, fc);
            });
        };
    }

    private static InetAddress resolve(MigrationUri uri, String host) throws IOException {
        try {
            return InetAddress.getByName(host.isEmpty() ? "0.0.0.0" : host);
        } catch (IOException e) {
            throw new IOException("address resolution failed for '" + host + "' in URI '" + uri.text() + "': "
                    + e.getMessage(), e);
        }
    }

    private static StandardProtocolFamily family(InetSocketAddress a) {
        return a.getAddress() instanceof java.net.Inet6Address ? StandardProtocolFamily.INET6
                : StandardProtocolFamily.INET;
    }

    private static final class SocketEndpoint implements IncomingEndpoint {
        private final MigrationUri bound;
        private final ServerSocketChannel server;
        private final Path unlinkOnClose;
        private final AtomicBoolean closed = new AtomicBoolean();

        SocketEndpoint(MigrationUri bound, ServerSocketChannel server, Path unlinkOnClose) {
            this.bound = bound;
            this.server = server;
            this.unlinkOnClose = unlinkOnClose;
        }

        @Override
        public MigrationUri boundUri() {
            return bound;
        }

        @Override
        public MigrationChannel accept() throws IOException {
            SocketChannel sc;
            try {
                sc = server.accept();
            } catch (ClosedChannelException e) {
                throw new IOException(bound.text() + ": stopped listening before a peer connected", e);
            }
            if (bound instanceof MigrationUri.Tcp) sc.setOption(StandardSocketOptions.TCP_NODELAY, true);
            String peer = bound instanceof MigrationUri.Tcp ? " (from " + sc.getRemoteAddress() + ")" : "";
            return new NioMigrationChannel(bound.text() + peer, sc, sc, sc);
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) return;
            try {
                server.close();
            } catch (IOException e) {
                // nothing left to release
            }
            if (unlinkOnClose != null) {
                try {
                    Files.deleteIfExists(unlinkOnClose);
                } catch (IOException e) {
                    // a stale socket file is harmless; the next listen replaces it
                }
            }
        }
    }

    @FunctionalInterface
    private interface ChannelOpener {
        MigrationChannel open() throws IOException;
    }

    private static final class OneShotEndpoint implements IncomingEndpoint {
        private final MigrationUri uri;
        private final ChannelOpener opener;

        OneShotEndpoint(MigrationUri uri, ChannelOpener opener) {
            this.uri = uri;
            this.opener = opener;
        }

        @Override
        public MigrationUri boundUri() {
            return uri;
        }

        @Override
        public MigrationChannel accept() throws IOException {
            return opener.open();
        }

        @Override
        public void close() {
        }
    }
}
