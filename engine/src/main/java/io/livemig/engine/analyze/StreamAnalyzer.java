package io.livemig.engine.analyze;

import io.livemig.engine.ram.RamLoader;
import io.livemig.engine.ram.RamRecord;
import io.livemig.engine.stream.ConfigurationSection;
import io.livemig.engine.stream.MigCommand;
import io.livemig.engine.stream.SectionHeader;
import io.livemig.engine.stream.SectionType;
import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.VmDescriptionTrailer;
import io.livemig.engine.vmstate.GlobalStateSection;
import io.livemig.engine.vmstate.JsonOut;
import io.livemig.engine.vmstate.TimerSection;
import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateCodec;
import io.livemig.engine.vmstate.VmStateDescription;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@code livemig analyze FILE [--json]}: decodes a QEMU 7.2 or livemig stream (header, configuration,
 * every section with id/version/size, RAM records by kind per block, device fields through the vmdesc
 * trailer) and reports where and why a broken stream stops parsing.
 */
public final class StreamAnalyzer {
    public static final int EXIT_OK = 0;
    public static final int EXIT_BAD_STREAM = 1;
    public static final int EXIT_IO = 2;
    private static final int MAX_HEX = 64;

    private StreamAnalyzer() {
    }

    /** One top-level element of the stream. */
    public record Section(long offset, String type, int sectionId, String idstr, int instanceId, int version,
                          long bodyBytes, List<String> fields) {}

    /** Everything found, up to the first error. */
    public record Report(long fileBytes, int fileVersion, String machine, String uuid, List<String> capabilities,
                         List<Section> sections, List<String> commands, RamLoader ram, Integer vmdescBytes,
                         boolean eofSeen, StreamFormatException error, String errorSection) {
        public boolean ok() {
            return error == null;
        }
    }

    /** Entry point for the CLI; returns the exit code (0 ok, 1 broken stream, 2 unreadable file). */
    public static int run(Path file, boolean json, PrintStream out, PrintStream err) {
        Report r;
        try (FileChannel ch = FileChannel.open(file)) {
            Object vmdesc = findVmdesc(ch);
            ch.position(0);
            r = analyze(ch, ch.size(), vmdesc, RamLoader.forAnalysis());
        } catch (IOException | UncheckedIOException e) {
            err.println("livemig analyze: cannot read " + file + ": " + e.getMessage());
            return EXIT_IO;
        }
        if (json) out.println(toJson(file.toString(), r));
        else printText(file.toString(), r, out);
        if (!r.ok()) {
            err.println("livemig analyze: stream stops parsing at offset " + r.error().offset()
                    + (r.errorSection() == null ? "" : " in " + r.errorSection()) + ": " + r.error().getMessage());
            return EXIT_BAD_STREAM;
        }
        return EXIT_OK;
    }

    /** Analyzes an in-memory stream. */
    public static Report analyze(byte[] stream) {
        return analyze(stream, RamLoader.forAnalysis());
    }

    /**
     * Analyzes an in-memory stream, applying RAM records with {@code ram} (a real {@link RamLoader} loads
     * the RAM of a stream whose devices this process has no handlers for, decoding them via the vmdesc).
     */
    public static Report analyze(byte[] stream, RamLoader ram) {
        return analyze(new io.livemig.engine.stream.ByteArrayChannel(stream), stream.length, findVmdesc(stream), ram);
    }

    /** The parsed vmdesc JSON located at the end of the file (as analyze-migration.py does), or null. */
    static Object findVmdesc(FileChannel ch) throws IOException {
        long size = ch.size();
        int tailLen = (int) Math.min(size, VmDescriptionTrailer.MAX_JSON_BYTES + 5L);
        ByteBuffer b = ByteBuffer.allocate(tailLen);
        ch.position(size - tailLen);
        while (b.hasRemaining() && ch.read(b) >= 0) { }
        return findVmdesc(b.array());
    }

    static Object findVmdesc(byte[] tail) {
        int n = tail.length;
        for (int p = n - 6; p >= 0; p--) {
            if (tail[p] != 0x06 || tail[p + 5] != '{') continue;
            long len = ByteBuffer.wrap(tail, p + 1, 4).getInt() & 0xFFFFFFFFL;
            if (len != n - (p + 5)) continue;
            try {
                return io.livemig.engine.qmp.Json.parse(new String(tail, p + 5, (int) len, StandardCharsets.UTF_8));
            } catch (io.livemig.engine.qmp.Json.ParseException e) {
                return null;
            }
        }
        return null;
    }

    static Report analyze(ReadableByteChannel ch, long fileBytes, Object vmdesc, RamLoader ram) {
        StreamReader r = new StreamReader(ch);
        List<Section> sections = new ArrayList<>();
        List<String> commands = new ArrayList<>();
        int version = 0;
        String machine = null;
        String uuid = null;
        List<String> caps = List.of();
        Integer vmdescBytes = null;
        boolean eof = false;
        String current = "file header";
        List<Map<String, Object>> described = vmdescDevices(vmdesc);
        java.util.Map<Integer, String> live = new java.util.HashMap<>();
        try {
            SectionType.readFileHeader(r);
            version = SectionType.FILE_VERSION;
            current = "configuration";
            if (r.peekU8() == SectionType.CONFIGURATION.code()) {
                r.u8("configuration.type");
                ConfigurationSection c = ConfigurationSection.readAfterType(r);
                machine = c.machineName();
                uuid = c.uuid().map(Object::toString).orElse(null);
                caps = c.capabilities();
            }
            while (true) {
                long at = r.position();
                current = "top level at offset " + at;
                int type = r.u8("section.type");
                SectionType st = SectionType.of(type);
                if (st == SectionType.EOF) {
                    eof = true;
                    break;
                }
                if (st == SectionType.COMMAND) {
                    MigCommand c = MigCommand.readAfterType(r);
                    commands.add("@" + at + " " + MigCommand.name(c.cmd()) + " len=" + c.payload().length
                            + (c.payload().length == 4 ? " value=" + c.be32Payload() : ""));
                    if (c.cmd() == MigCommand.PACKAGED) {
                        throw new StreamFormatException("command.cmd", "PACKAGED", "a precopy stream (postcopy blobs are not analyzed)", at + 1);
                    }
                    continue;
                }
                if (st != SectionType.SECTION_START && st != SectionType.SECTION_FULL
                        && st != SectionType.SECTION_PART && st != SectionType.SECTION_END) {
                    throw new StreamFormatException("section.type", StreamFormatException.hex(type),
                            "START 0x1, PART 0x2, END 0x3, FULL 0x4, COMMAND 0x8 or EOF 0x0", at);
                }
                SectionHeader h = SectionHeader.readAfterType(r, st);
                String idstr = h.idstr() != null ? h.idstr() : live.get(h.sectionId());
                current = st + " section id " + h.sectionId() + (idstr == null ? "" : " (" + idstr + ")") + " at offset " + at;
                long bodyAt = r.position();
                List<String> fields = new ArrayList<>();
                if (h.isFull()) {
                    if (st == SectionType.SECTION_START) live.put(h.sectionId(), h.idstr());
                    if (h.idstr().equals(RamRecord.IDSTR)) {
                        ram.loadBody(r);
                    } else {
                        decodeDevice(r, h, described, fields);
                    }
                } else {
                    if (idstr == null) {
                        throw new StreamFormatException("section.id", h.sectionId() & 0xFFFFFFFFL,
                                "the id of a section started earlier " + live, at + 1);
                    }
                    if (!idstr.equals(RamRecord.IDSTR)) {
                        throw new StreamFormatException("section.id", h.sectionId(), "a RAM section (only RAM is iterative here)", at + 1);
                    }
                    ram.loadBody(r);
                }
                long body = r.position() - bodyAt;
                SectionHeader.readFooter(r, h.sectionId(), idstr);
                sections.add(new Section(at, st.name().replace("SECTION_", ""), h.sectionId(), idstr,
                        h.isFull() ? h.instanceId() : -1, h.isFull() ? h.versionId() : -1, body, fields));
            }
            current = "after EOF";
            if (!r.atEnd()) {
                long at = r.position();
                int b = r.u8("vmdesc.type");
                if (b != SectionType.VMDESCRIPTION.code()) {
                    throw new StreamFormatException("vmdesc.type", StreamFormatException.hex(b), "0x6 (vmdesc) or end of file", at);
                }
                String text = VmDescriptionTrailer.readAfterType(r);
                vmdescBytes = text.getBytes(StandardCharsets.UTF_8).length;
                if (!r.atEnd()) {
                    throw new StreamFormatException("trailing data", "more bytes after the vmdesc", "end of file", r.position());
                }
            }
            return new Report(fileBytes, version, machine, uuid, caps, sections, commands, ram, vmdescBytes, eof, null, null);
        } catch (StreamFormatException e) {
            return new Report(fileBytes, version, machine, uuid, caps, sections, commands, ram, vmdescBytes, eof, e, current);
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> vmdescDevices(Object vmdesc) {
        List<Map<String, Object>> list = new ArrayList<>();
        if (vmdesc instanceof Map<?, ?> m && m.get("devices") instanceof List<?> l) {
            for (Object o : l) if (o instanceof Map<?, ?> d) list.add((Map<String, Object>) d);
        }
        return list;
    }

    private static void decodeDevice(StreamReader r, SectionHeader h, List<Map<String, Object>> described, List<String> out) {
        for (Map<String, Object> d : described) {
            if (h.idstr().equals(d.get("name")) && Long.valueOf(h.instanceId()).equals(d.get("instance_id"))) {
                decodeDescribed(r, d, "", out);
                return;
            }
        }
        VmStateDescription known = h.idstr().equals(TimerSection.IDSTR) ? TimerSection.DESCRIPTION
                : h.idstr().equals(GlobalStateSection.IDSTR) ? GlobalStateSection.DESCRIPTION : null;
        if (known == null) {
            throw new StreamFormatException("section.idstr", "\"" + h.idstr() + "\"",
                    "a section described in the vmdesc trailer (no trailer entry, so its length is unknown)", r.position());
        }
        VmStateCodec.checkVersion(known, h.versionId() & 0xFFFFFFFFL, "section.version_id", r.position() - 4);
        VmState s = VmStateCodec.load(r, known, h.versionId());
        s.asMap().forEach((k, v) -> out.add(k + " = " + render(v)));
    }

    @SuppressWarnings("unchecked")
    private static void decodeDescribed(StreamReader r, Map<String, Object> d, String prefix, List<String> out) {
        Object fields = d.get("fields");
        if (fields instanceof List<?> fl) {
            for (Object fo : fl) {
                if (!(fo instanceof Map<?, ?> f)) continue;
                String name = prefix + f.get("name");
                String type = String.valueOf(f.get("type"));
                long size = f.get("size") instanceof Long l ? l : -1;
                long count = f.get("array_len") instanceof Long l ? l : 1;
                if (f.get("index") instanceof Long idx) name += "[" + idx + "]";
                if (size < 0 || size > (1 << 24) || count < 0 || count > (1 << 20)) {
                    throw new StreamFormatException("vmdesc." + name + ".size", size + " x " + count,
                            "a size in the vmdesc 0..16 MiB", r.position());
                }
                for (long i = 0; i < count; i++) {
                    String n = count > 1 ? name + "[" + i + "]" : name;
                    if (f.get("struct") instanceof Map<?, ?> st) {
                        long start = r.position();
                        decodeDescribed(r, (Map<String, Object>) st, n + ".", out);
                        if (r.position() - start != size) {
                            throw new StreamFormatException(n, (r.position() - start) + " bytes decoded",
                                    size + " bytes (vmdesc size)", start);
                        }
                    } else {
                        long at = r.position();
                        byte[] b = r.bytes((int) size, n);
                        out.add(n + " (" + type + ") = " + renderBytes(type, b));
                        if (at < 0) break;
                    }
                }
            }
        }
        if (d.get("subsections") instanceof List<?> subs) {
            for (Object so : subs) {
                if (!(so instanceof Map<?, ?> s)) continue;
                long at = r.position();
                int marker = r.u8("subsection");
                if (marker != SectionType.SUBSECTION.code()) {
                    throw new StreamFormatException("subsection", StreamFormatException.hex(marker), "0x5 (a subsection the vmdesc lists)", at);
                }
                String name = r.countedString("subsection.name", false);
                long version = r.be32u("subsection.version");
                out.add(prefix + "subsection " + name + " v" + version);
                decodeDescribed(r, (Map<String, Object>) s, prefix + name + ".", out);
            }
        }
    }

    private static String renderBytes(String type, byte[] b) {
        boolean intType = type.startsWith("int") || type.startsWith("uint") || type.equals("bool");
        if (intType && b.length >= 1 && b.length <= 8) {
            long v = 0;
            for (byte x : b) v = (v << 8) | (x & 0xFF);
            if (type.startsWith("int") && b.length < 8) v = (v << (64 - 8 * b.length)) >> (64 - 8 * b.length);
            return type.startsWith("uint") && b.length == 8 ? Long.toUnsignedString(v) : Long.toString(v);
        }
        return render(b);
    }

    private static String render(Object v) {
        if (v instanceof byte[] b) {
            int nz = b.length;
            while (nz > 0 && b[nz - 1] == 0) nz--;
            if (nz == 0) return "00 x" + b.length;
            String hex = HexFormat.ofDelimiter(" ").formatHex(b, 0, Math.min(nz, MAX_HEX));
            return hex + (nz > MAX_HEX ? " ..." : "") + (nz < b.length ? " (then 00 x" + (b.length - nz) + ")" : "");
        }
        return String.valueOf(v);
    }

    private static void printText(String file, Report r, PrintStream out) {
        out.println("file: " + file + " (" + r.fileBytes() + " bytes)");
        out.println("header: " + (r.fileVersion() == 0 ? "invalid" : "QEVM version " + r.fileVersion()));
        if (r.machine() != null) {
            out.println("configuration: machine \"" + r.machine() + "\""
                    + (r.uuid() == null ? "" : ", uuid " + r.uuid())
                    + (r.capabilities().isEmpty() ? "" : ", capabilities " + r.capabilities()));
        } else {
            out.println("configuration: (none)");
        }
        for (String c : r.commands()) out.println("command " + c);
        out.println("sections:");
        for (Section s : r.sections()) {
            out.printf("  @0x%x %-5s id=%d \"%s\"%s size=%d%n", s.offset(), s.type(), s.sectionId(), s.idstr(),
                    s.instanceId() >= 0 ? " instance=" + s.instanceId() + " version=" + s.version() : "", s.bodyBytes());
            for (String f : s.fields()) out.println("      " + f);
        }
        out.println("eof: " + (r.eofSeen() ? "yes" : "no"));
        out.println("vmdesc: " + (r.vmdescBytes() == null ? "absent" : r.vmdescBytes() + " bytes"));
        out.println("ram blocks:");
        for (Map.Entry<String, Long> b : r.ram().blockSizes().entrySet()) {
            StringBuilder sb = new StringBuilder();
            for (RamRecord.Kind k : RamRecord.Kind.values()) {
                long n = r.ram().stats().count(b.getKey(), k);
                if (n != 0) sb.append(' ').append(k).append('=').append(n);
            }
            out.printf("  %s (0x%x bytes):%s%n", b.getKey(), b.getValue(), sb);
        }
        out.println("ram totals: MEM_SIZE=" + r.ram().stats().total(RamRecord.Kind.MEM_SIZE)
                + " EOS=" + r.ram().stats().total(RamRecord.Kind.EOS));
        out.println(r.ok() ? "result: OK" : "result: ERROR at offset " + r.error().offset() + " in " + r.errorSection()
                + ": " + r.error().getMessage());
    }

    static String toJson(String file, Report r) {
        JsonOut j = new JsonOut();
        j.startObject(null).str("file", file).num("file_bytes", r.fileBytes()).num("version", r.fileVersion());
        if (r.machine() != null) {
            j.startObject("configuration").str("machine", r.machine());
            if (r.uuid() != null) j.str("uuid", r.uuid());
            j.startArray("capabilities");
            for (String c : r.capabilities()) j.str(null, c);
            j.endArray().endObject();
        }
        j.startArray("commands");
        for (String c : r.commands()) j.str(null, c);
        j.endArray();
        j.startArray("sections");
        for (Section s : r.sections()) {
            j.startObject(null).num("offset", s.offset()).str("type", s.type()).num("section_id", s.sectionId())
                    .str("idstr", String.valueOf(s.idstr()));
            if (s.instanceId() >= 0) j.num("instance_id", s.instanceId()).num("version", s.version());
            j.num("size", s.bodyBytes());
            if (!s.fields().isEmpty()) {
                j.startArray("fields");
                for (String f : s.fields()) j.str(null, f);
                j.endArray();
            }
            j.endObject();
        }
        j.endArray();
        j.startObject("ram");
        for (Map.Entry<String, Long> b : r.ram().blockSizes().entrySet()) {
            j.startObject(b.getKey()).num("size", b.getValue());
            for (RamRecord.Kind k : RamRecord.Kind.values()) {
                if (k == RamRecord.Kind.MEM_SIZE || k == RamRecord.Kind.EOS) continue;
                j.num(k.name(), r.ram().stats().count(b.getKey(), k));
            }
            j.endObject();
        }
        j.num("MEM_SIZE", r.ram().stats().total(RamRecord.Kind.MEM_SIZE)).num("EOS", r.ram().stats().total(RamRecord.Kind.EOS));
        j.endObject();
        j.bool("eof", r.eofSeen());
        if (r.vmdescBytes() != null) j.num("vmdesc_bytes", r.vmdescBytes());
        j.bool("ok", r.ok());
        if (!r.ok()) {
            j.startObject("error").num("offset", r.error().offset()).str("field", r.error().field())
                    .str("value", r.error().value()).str("expected", r.error().expected())
                    .str("section", String.valueOf(r.errorSection())).str("message", r.error().getMessage()).endObject();
        }
        j.endObject();
        return j.toString();
    }
}
