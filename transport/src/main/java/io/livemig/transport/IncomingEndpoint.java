package io.livemig.transport;

import java.io.IOException;

/**
 * The listening side of an incoming migration: for tcp/unix a bound, listening socket; for exec, fd and
 * file the one stream that is already there. Obtain with {@link Transports#listen}.
 */
public interface IncomingEndpoint extends AutoCloseable {

    /** Where peers connect, with the port actually bound ({@code tcp:0.0.0.0:0} becomes {@code tcp:0.0.0.0:41234}). */
    MigrationUri boundUri();

    /** Blocks until a peer connects; {@link #close()} from another thread makes it fail. Only once. */
    MigrationChannel accept() throws IOException;

    /** Stops listening (and unlinks a unix socket path we created). Idempotent. */
    @Override
    void close();
}
