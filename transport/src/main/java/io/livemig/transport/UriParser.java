package io.livemig.transport;

import java.nio.file.Path;

/**
 * QEMU's URI grammar for migration endpoints. Messages follow QEMU's wording where QEMU has one
 * ({@code unknown migration protocol: X}, {@code error parsing address 'X'}) and always quote the URI.
 */
final class UriParser {
    /** Longest Unix socket path: {@code sizeof(sockaddr_un.sun_path)} minus the NUL. */
    static final int MAX_UNIX_PATH_BYTES = 107;

    private UriParser() {
    }

    static MigrationUri parse(String uri) {
        if (uri == null || uri.isEmpty()) {
            throw new UriException(String.valueOf(uri), "unknown migration protocol: (empty URI)");
        }
        int colon = uri.indexOf(':');
        if (colon < 0) {
            throw new UriException(uri, "unknown migration protocol: " + uri);
        }
        String scheme = uri.substring(0, colon);
        String rest = uri.substring(colon + 1);
        return switch (scheme) {
            case "tcp" -> parseTcp(uri, rest);
            case "unix" -> parseUnix(uri, rest);
            case "exec" -> {
                if (rest.isBlank()) throw new UriException(uri, "exec URI '" + uri + "' has no command");
                yield new MigrationUri.Exec(rest);
            }
            case "fd" -> parseFd(uri, rest);
            case "file" -> parseFile(uri, rest);
            default -> throw new UriException(uri, "unknown migration protocol: " + uri);
        };
    }

    private static MigrationUri parseTcp(String uri, String rest) {
        String host;
        String portText;
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0 || close + 1 >= rest.length() || rest.charAt(close + 1) != ':') {
                throw new UriException(uri, "error parsing IPv6 address '" + rest + "' in URI '" + uri + "'");
            }
            host = rest.substring(1, close);
            portText = rest.substring(close + 2);
        } else {
            int last = rest.lastIndexOf(':');
            if (last < 0) {
                throw new UriException(uri, "error parsing address '" + rest + "' in URI '" + uri
                        + "': expected HOST:PORT");
            }
            host = rest.substring(0, last);
            portText = rest.substring(last + 1);
            if (host.indexOf(':') >= 0) {
                throw new UriException(uri, "error parsing address '" + rest + "' in URI '" + uri
                        + "': an IPv6 address must be written in brackets, [ADDR]:PORT");
            }
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new UriException(uri, "error parsing port '" + portText + "' in URI '" + uri
                    + "': expected a number 0..65535");
        }
        if (port < 0 || port > 65535) {
            throw new UriException(uri, "port=" + port + " in URI '" + uri + "' is out of range, expected 0..65535");
        }
        return new MigrationUri.Tcp(host, port);
    }

    private static MigrationUri parseUnix(String uri, String rest) {
        if (rest.isEmpty()) throw new UriException(uri, "unix URI '" + uri + "' has no socket path");
        int bytes = rest.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_UNIX_PATH_BYTES) {
            throw new UriException(uri, "UNIX socket path '" + rest + "' is too long (" + bytes
                    + " bytes, at most " + MAX_UNIX_PATH_BYTES + ")");
        }
        return new MigrationUri.Unix(Path.of(rest));
    }

    private static MigrationUri parseFd(String uri, String rest) {
        try {
            int fd = Integer.parseInt(rest);
            if (fd < 0) throw new NumberFormatException();
            return new MigrationUri.Fd(fd);
        } catch (NumberFormatException e) {
            // QEMU also accepts names registered with getfd; livemig has no getfd, so only numbers.
            throw new UriException(uri, "invalid file descriptor '" + rest + "' in URI '" + uri
                    + "': expected a non-negative number");
        }
    }

    private static MigrationUri parseFile(String uri, String rest) {
        String path = rest;
        long offset = 0;
        int comma = rest.lastIndexOf(",offset=");
        if (comma >= 0) {
            path = rest.substring(0, comma);
            String off = rest.substring(comma + ",offset=".length());
            try {
                offset = ByteSizes.parse(off);
            } catch (NumberFormatException e) {
                throw new UriException(uri, "file URI '" + uri + "' has invalid offset '" + off
                        + "': expected a non-negative number (suffixes K, M, G allowed)");
            }
        } else if (rest.indexOf(',') >= 0) {
            throw new UriException(uri, "file URI '" + uri + "' has unknown option '"
                    + rest.substring(rest.indexOf(',') + 1) + "', expected offset=N");
        }
        if (path.isEmpty()) throw new UriException(uri, "file URI '" + uri + "' has no path");
        return new MigrationUri.File(Path.of(path), offset);
    }
}
