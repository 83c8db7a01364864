package io.livemig.engine.multifd;

/**
 * Counters of one multifd channel, for query-migrate.
 *
 * @param id        channel id (as in its init packet)
 * @param packets   packets written/read (data and SYNC)
 * @param pages     normal pages carried
 * @param bytes     header + uncompressed page bytes per packet: what QEMU 7.2 adds to {@code multifd-bytes}
 *                  (it counts {@code packet_len + pages x page size} whatever the compression)
 * @param wireBytes header + payload bytes actually on the wire (compressed size with zlib/zstd)
 * @param syncs     SYNC packets
 */
public record MultifdChannelStats(int id, long packets, long pages, long bytes, long wireBytes, long syncs) {
}
