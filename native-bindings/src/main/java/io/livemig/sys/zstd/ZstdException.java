package io.livemig.sys.zstd;

/** A zstd call returned an error code; the message names the call and {@code ZSTD_getErrorName}'s text. */
public final class ZstdException extends RuntimeException {
    private final String call;
    private final String errorName;

    public ZstdException(String call, String errorName) {
        super(call + " failed: " + errorName);
        this.call = call;
        this.errorName = errorName;
    }

    /** The zstd function that failed, e.g. {@code ZSTD_decompressStream}. */
    public String call() {
        return call;
    }

    /** zstd's error text, e.g. {@code Unknown frame descriptor}. */
    public String errorName() {
        return errorName;
    }
}
