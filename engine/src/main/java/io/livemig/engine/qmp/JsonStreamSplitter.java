package io.livemig.engine.qmp;

import java.io.IOException;
import java.io.Reader;

/**
 * Cuts a QMP byte stream into top-level JSON texts, as QEMU's JSON streamer does: an object or array
 * ends when its brackets balance (strings and escapes respected), a bare scalar ends at whitespace.
 * Validation is left to {@link Json#parse}, so a broken text still yields one error reply.
 */
final class JsonStreamSplitter {
    /** Longest single message accepted (QEMU's token limit is 64 MiB). */
    static final int MAX_MESSAGE_CHARS = 64 << 20;

    private final Reader in;
    private final StringBuilder buf = new StringBuilder();

    JsonStreamSplitter(Reader in) {
        this.in = in;
    }

    /** The next top-level text, or null at end of stream. */
    String next() throws IOException {
        buf.setLength(0);
        int depth = 0;
        boolean inString = false;
        boolean escape = false;
        boolean scalar = false;
        while (true) {
            int ch = in.read();
            if (ch < 0) {
                return buf.isEmpty() || buf.toString().isBlank() ? null : buf.toString();
            }
            char c = (char) ch;
            if (buf.length() >= MAX_MESSAGE_CHARS) {
                throw new IOException("QMP message longer than " + MAX_MESSAGE_CHARS + " characters");
            }
            if (scalar) {
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t') return buf.toString();
                if (c == '{' || c == '[' || c == '}' || c == ']') {
                    // QEMU would report the scalar and start over; we report the whole run as one error.
                    buf.append(c);
                    return buf.toString();
                }
                buf.append(c);
                continue;
            }
            if (depth == 0 && !inString && buf.isEmpty()) {
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
                buf.append(c);
                if (c == '{' || c == '[') {
                    depth = 1;
                } else if (c == '"') {
                    inString = true;
                } else if (c == '}' || c == ']') {
                    return buf.toString();
                } else {
                    scalar = true;
                }
                continue;
            }
            buf.append(c);
            if (inString) {
                if (escape) {
                    escape = false;
                } else if (c == '\\') {
                    escape = true;
                } else if (c == '"') {
                    inString = false;
                    if (depth == 0) return buf.toString();
                }
                continue;
            }
            switch (c) {
                case '"' -> inString = true;
                case '{', '[' -> depth++;
                case '}', ']' -> {
                    if (--depth == 0) return buf.toString();
                }
                default -> {
                }
            }
        }
    }
}
