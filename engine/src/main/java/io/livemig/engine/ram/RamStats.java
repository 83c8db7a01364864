package io.livemig.engine.ram;

import java.util.LinkedHashMap;
import java.util.Map;

/** RAM records counted by kind per block (saver and loader), plus XBZRLE pages skipped as unchanged. */
public final class RamStats {
    private final Map<String, long[]> byBlock = new LinkedHashMap<>();
    private long xbzrleUnchanged;
    private long xbzrleOverflow;

    void add(String block, RamRecord.Kind kind) {
        byBlock.computeIfAbsent(block, b -> new long[RamRecord.Kind.values().length])[kind.ordinal()]++;
    }

    void unchanged() {
        xbzrleUnchanged++;
    }

    void overflow() {
        xbzrleOverflow++;
    }

    /** Records of {@code kind} in {@code block}. */
    public long count(String block, RamRecord.Kind kind) {
        long[] c = byBlock.get(block);
        return c == null ? 0 : c[kind.ordinal()];
    }

    /** Records of {@code kind} over all blocks. */
    public long total(RamRecord.Kind kind) {
        long n = 0;
        for (long[] c : byBlock.values()) n += c[kind.ordinal()];
        return n;
    }

    public Iterable<String> blocks() {
        return byBlock.keySet();
    }

    /** Pages the XBZRLE saver skipped because the delta was empty. */
    public long xbzrleUnchanged() {
        return xbzrleUnchanged;
    }

    /** Pages sent as PAGE because the delta did not fit. */
    public long xbzrleOverflow() {
        return xbzrleOverflow;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        byBlock.forEach((b, c) -> {
            sb.append(b).append(':');
            for (RamRecord.Kind k : RamRecord.Kind.values()) {
                if (c[k.ordinal()] != 0) sb.append(' ').append(k).append('=').append(c[k.ordinal()]);
            }
            sb.append("; ");
        });
        return sb.append("xbzrle unchanged=").append(xbzrleUnchanged).append(", overflow=").append(xbzrleOverflow).toString();
    }
}
