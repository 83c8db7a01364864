package io.livemig.engine.stream;

/**
 * The only exception a loader throws for bad input: names the field, the value read, what was expected
 * and the byte offset in the stream where the field starts. Message format:
 * {@code <field>=<value>, expected <expected> (at stream offset <offset>)}.
 *
 * <p>I/O failures of the underlying channel are not bad input and surface as
 * {@link java.io.UncheckedIOException}.
 */
public final class StreamFormatException extends RuntimeException {
    private final String field;
    private final String value;
    private final String expected;
    private final long offset;

    public StreamFormatException(String field, Object value, String expected, long offset) {
        this(field, value, expected, offset, null);
    }

    public StreamFormatException(String field, Object value, String expected, long offset, Throwable cause) {
        super(field + "=" + value + ", expected " + expected + " (at stream offset " + offset + ")", cause);
        this.field = field;
        this.value = String.valueOf(value);
        this.expected = expected;
        this.offset = offset;
    }

    /** The field being decoded, e.g. {@code "ram.record.offset"}. */
    public String field() {
        return field;
    }

    /** The value found, as text ({@code "end of stream"} when the stream was truncated). */
    public String value() {
        return value;
    }

    /** What a valid stream has there. */
    public String expected() {
        return expected;
    }

    /** Byte offset in the stream at which the offending field starts. */
    public long offset() {
        return offset;
    }

    /** Hex rendering used in messages: {@code 0x1f}. */
    public static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
