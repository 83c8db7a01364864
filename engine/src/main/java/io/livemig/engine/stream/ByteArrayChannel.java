package io.livemig.engine.stream;

import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/** A readable channel over a byte array (tests, the analyzer, fuzzing). */
public final class ByteArrayChannel implements ReadableByteChannel {
    private final byte[] bytes;
    private int pos;
    private boolean open = true;

    public ByteArrayChannel(byte[] bytes) {
        this.bytes = bytes;
    }

    @Override
    public int read(ByteBuffer dst) {
        if (pos >= bytes.length) return -1;
        int n = Math.min(dst.remaining(), bytes.length - pos);
        dst.put(bytes, pos, n);
        pos += n;
        return n;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }
}
