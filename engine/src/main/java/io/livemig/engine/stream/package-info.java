/**
 * The QEMU 7.2 migration stream (spec/qemu-stream-7.2.md): byte-level readers and writers with stream
 * offsets ({@link io.livemig.engine.stream.StreamReader}, {@link io.livemig.engine.stream.StreamWriter}),
 * one descriptor class per wire format (file header and type bytes in
 * {@link io.livemig.engine.stream.SectionType}, {@link io.livemig.engine.stream.SectionHeader} with footers,
 * {@link io.livemig.engine.stream.ConfigurationSection}, {@link io.livemig.engine.stream.MigCommand},
 * {@link io.livemig.engine.stream.VmDescriptionTrailer}, {@link io.livemig.engine.stream.ReturnPathMessage}),
 * and the whole-stream API: {@link io.livemig.engine.stream.MigrationStreams#saveAll} /
 * {@link io.livemig.engine.stream.MigrationStreams#loadAll} for a paused migration and
 * {@link io.livemig.engine.stream.OutgoingStream} for callers that drive RAM passes themselves.
 *
 * <p>Every decoder reports bad input only as {@link io.livemig.engine.stream.StreamFormatException}
 * ({@code field=value, expected ... (at stream offset N)}); channel failures are
 * {@link java.io.UncheckedIOException}.
 */
package io.livemig.engine.stream;
