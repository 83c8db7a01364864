package io.livemig.transport;

import java.nio.file.Path;

/**
 * A migration endpoint as QEMU spells it: {@code tcp:HOST:PORT}, {@code unix:PATH}, {@code exec:CMD},
 * {@code fd:N}, {@code file:PATH[,offset=N]}. Parse with {@link #parse}; open with
 * {@link Transports#connect} (outgoing) or {@link Transports#listen} (incoming).
 */
public sealed interface MigrationUri {

    /** The URI in QEMU's spelling (round-trips through {@link #parse}). */
    String text();

    /** {@code tcp:HOST:PORT}; HOST may be a name, an IPv4 address, {@code [IPv6]}, or empty/0 for "any" on incoming. */
    record Tcp(String host, int port) implements MigrationUri {
        public String text() {
            return "tcp:" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** {@code unix:PATH}: a Unix domain stream socket. */
    record Unix(Path path) implements MigrationUri {
        public String text() {
            return "unix:" + path;
        }
    }

    /** {@code exec:CMD}: {@code sh -c CMD}; outgoing writes its stdin, incoming reads its stdout. */
    record Exec(String command) implements MigrationUri {
        public String text() {
            return "exec:" + command;
        }
    }

    /** {@code fd:N}: an already open file descriptor the process inherited. */
    record Fd(int fd) implements MigrationUri {
        public String text() {
            return "fd:" + fd;
        }
    }

    /** {@code file:PATH[,offset=N]}: a regular file, starting at byte {@code offsetBytes}. */
    record File(Path path, long offsetBytes) implements MigrationUri {
        public String text() {
            return "file:" + path + (offsetBytes != 0 ? ",offset=" + offsetBytes : "");
        }
    }

    /**
     * Parses {@code uri}.
     *
     * @throws UriException naming the URI and what is wrong with it
     */
    static MigrationUri parse(String uri) {
        return UriParser.parse(uri);
    }
}
