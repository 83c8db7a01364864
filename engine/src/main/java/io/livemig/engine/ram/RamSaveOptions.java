package io.livemig.engine.ram;

/**
 * RAM saver settings, validated before anything is allocated.
 *
 * @param xbzrle               send XBZRLE deltas for pages that are in the cache (capability {@code xbzrle})
 * @param xbzrleCacheSizeBytes migration parameter {@code xbzrle-cache-size} (QEMU default 64 MiB)
 * @param compress             send COMPRESS_PAGE records (legacy capability {@code compress})
 * @param compressLevel        zlib level 0..9 (parameter {@code compress-level}, default 1)
 */
public record RamSaveOptions(boolean xbzrle, long xbzrleCacheSizeBytes, boolean compress, int compressLevel) {
    public static final long DEFAULT_XBZRLE_CACHE_BYTES = 64L << 20;

    public RamSaveOptions {
        if (xbzrle && xbzrleCacheSizeBytes < RamRecord.PAGE_SIZE) {
            throw new IllegalArgumentException("xbzrleCacheSizeBytes=" + xbzrleCacheSizeBytes + ", expected >= 4096");
        }
        if (compressLevel < 0 || compressLevel > 9) {
            throw new IllegalArgumentException("compressLevel=" + compressLevel + ", expected 0..9");
        }
    }

    public static RamSaveOptions defaults() {
        return new RamSaveOptions(false, DEFAULT_XBZRLE_CACHE_BYTES, false, 1);
    }

    public RamSaveOptions withXbzrle(long cacheSizeBytes) {
        return new RamSaveOptions(true, cacheSizeBytes, compress, compressLevel);
    }

    public RamSaveOptions withCompress(int level) {
        return new RamSaveOptions(xbzrle, xbzrleCacheSizeBytes, true, level);
    }
}
