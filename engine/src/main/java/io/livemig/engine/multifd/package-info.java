/**
 * Multifd as QEMU 7.2 speaks it (spec/qemu-stream-7.2.md section 3): extra connections that carry the
 * non-zero RAM pages of precopy in 1344-byte-header packets of up to 128 pages, straight from and into
 * guest RAM.
 *
 * <ul>
 *   <li>Wire formats: {@link io.livemig.engine.multifd.MultifdInitDescriptor} ({@code MultiFDInit_t}),
 *       {@link io.livemig.engine.multifd.MultifdPacketDescriptor} ({@code MultiFDPacket_t}); strict decoders
 *       throwing {@link io.livemig.engine.stream.StreamFormatException}.</li>
 *   <li>Compression per channel, never reset: {@link io.livemig.engine.multifd.PacketCompressor} /
 *       {@link io.livemig.engine.multifd.PacketDecompressor} (zlib via JDK Deflater/Inflater on direct buffers,
 *       zstd via the FFM binding {@code io.livemig.sys.zstd.ZstdNative}).</li>
 *   <li>Source: {@link io.livemig.engine.multifd.MultifdSender} owns N
 *       {@link io.livemig.engine.multifd.MultifdSendChannel} threads fed through bounded JCTools queues of
 *       {@link io.livemig.engine.multifd.PageBatch} descriptors; {@code syncMain()} before every RAM EOS.</li>
 *   <li>Destination: {@link io.livemig.engine.multifd.MultifdReceiver} owns one
 *       {@link io.livemig.engine.multifd.MultifdRecvChannel} thread per connection after the main one;
 *       {@code syncMain(timeout)} at every RAM EOS read on the main channel.</li>
 *   <li>zero-copy-send: channels are {@code io.livemig.transport.zerocopy.ZeroCopySender}s; completions are
 *       flushed at every SYNC, {@code dirty-sync-missed-zero-copy} counted in
 *       {@link io.livemig.engine.multifd.MultifdStats}.</li>
 * </ul>
 */
package io.livemig.engine.multifd;
