package io.livemig.engine.multifd;

import java.util.List;

/**
 * A snapshot of multifd counters for query-migrate.
 *
 * @param multifdBytes              {@code multifd-bytes} as QEMU 7.2 counts it: per packet, the 1344-byte header
 *                                  plus the uncompressed page bytes (checked equal to QEMU's own value by
 *                                  {@code MultifdQemuInteropTest})
 * @param multifdWireBytes          header + payload bytes actually sent/received (smaller with compression)
 * @param dirtySyncMissedZeroCopy   syncs at which the kernel reported that zero-copy sends were copied
 *                                  ({@code dirty-sync-missed-zero-copy}); 0 without zero-copy-send
 * @param zeroCopyCopiedCompletions MSG_ZEROCOPY sends the kernel reported as copied (SO_EE_CODE_ZEROCOPY_COPIED)
 * @param channels                  per-channel counters, by channel id
 */
public record MultifdStats(long multifdBytes, long multifdWireBytes, long dirtySyncMissedZeroCopy,
                           long zeroCopyCopiedCompletions, List<MultifdChannelStats> channels) {
}
