package io.livemig.engine.stream;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

/** Header, configuration, section framing, footers, commands, return path; every error names field/value/expected/offset. */
class StreamFramingTest {
    private static final HexFormat HEX = HexFormat.of();

    private static StreamFormatException fails(String hex, java.util.function.Consumer<StreamReader> parse) {
        return assertThrows(StreamFormatException.class, () -> parse.accept(StreamReader.of(HEX.parseHex(hex))));
    }

    @Test
    void fileHeader() {
        assertEquals("5145564d00000003", HEX.formatHex(StreamWriter.toBytes(SectionType::writeFileHeader)));
        StreamFormatException e = fails("5145564e00000003", SectionType::readFileHeader);
        assertEquals("header.magic=0x5145564e, expected 0x5145564d (\"QEVM\") (at stream offset 0)", e.getMessage());
        e = fails("5145564d00000002", SectionType::readFileHeader);
        assertEquals("header.version", e.field());
        assertEquals(4, e.offset());
        assertTrue(e.expected().contains("obsolete"));
        e = fails("5145564d000000", SectionType::readFileHeader);
        assertEquals("header.version=end of stream, expected 1 more byte(s) (at stream offset 7)", e.getMessage());
    }

    @Test
    void configurationNone() {
        byte[] b = StreamWriter.toBytes(w -> ConfigurationSection.of("none").write(w));
        assertEquals("07000000046e6f6e65", HEX.formatHex(b));
        StreamReader r = StreamReader.of(b);
        assertEquals(7, r.u8("t"));
        ConfigurationSection c = ConfigurationSection.readAfterType(r);
        assertEquals("none", c.machineName());
        c.validateAgainst("none", List.of(), Optional.empty(), 8);
        ConfigurationSection.of("no").validateAgainst("none", List.of(), Optional.empty(), 8); // prefix accepted
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> ConfigurationSection.of("pc").validateAgainst("none", List.of(), Optional.empty(), 8));
        assertEquals("configuration.name=\"pc\", expected \"none\" (or a prefix of it) (at stream offset 8)", e.getMessage());
    }

    @Test
    void configurationSubsections() {
        UUID u = UUID.fromString("12345678-9abc-def0-1122-334455667788");
        ConfigurationSection c = new ConfigurationSection("pc-i440fx-7.2", Optional.of(14), List.of("x-ignore-shared"), Optional.of(u));
        byte[] b = StreamWriter.toBytes(c::write);
        String hex = HEX.formatHex(b);
        assertTrue(hex.contains("05" + "12" + HEX.formatHex("configuration/uuid".getBytes()) + "00000001" + "123456789abcdef01122334455667788"), hex);
        StreamReader r = StreamReader.of(b);
        r.u8("t");
        assertEquals(c, ConfigurationSection.readAfterType(r));
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> c.validateAgainst("pc-i440fx-7.2", List.of("x-ignore-shared"), Optional.of(UUID.randomUUID()), 8));
        assertTrue(e.getMessage().startsWith("configuration/target-page-bits.bits=14"), e.getMessage());
        ConfigurationSection c2 = new ConfigurationSection("pc", Optional.empty(), List.of(), Optional.of(u));
        e = assertThrows(StreamFormatException.class,
                () -> c2.validateAgainst("pc-i440fx-7.2", List.of(), Optional.of(UUID.randomUUID()), 8));
        assertEquals("configuration/uuid", e.field());
        // unknown configuration subsection
        byte[] bad = StreamWriter.toBytes(w -> {
            w.u8(7).be32(4).bytes("none".getBytes());
            w.u8(5).countedString("configuration/bogus").be32(1);
        });
        StreamReader rb = StreamReader.of(bad);
        rb.u8("t");
        e = assertThrows(StreamFormatException.class, () -> ConfigurationSection.readAfterType(rb));
        assertEquals("configuration.subsection.name", e.field());
        assertEquals(10, e.offset());
        // a huge name length is bounded before allocation
        e = fails("07ffffffff", rr -> { rr.u8("t"); ConfigurationSection.readAfterType(rr); });
        assertEquals("configuration.name_length=4294967295, expected <= 255 (at stream offset 1)", e.getMessage());
    }

    @Test
    void sectionHeadersAndFooters() {
        byte[] full = StreamWriter.toBytes(w -> SectionHeader.full(SectionType.SECTION_FULL, 4, "globalstate", 0, 1).write(w));
        assertEquals("04" + "00000004" + "0b" + HEX.formatHex("globalstate".getBytes()) + "00000000" + "00000001", HEX.formatHex(full));
        assertEquals("0200000002", HEX.formatHex(StreamWriter.toBytes(w -> SectionHeader.part(2).write(w))));
        assertEquals("0300000002", HEX.formatHex(StreamWriter.toBytes(w -> SectionHeader.end(2).write(w))));
        assertEquals("7e00000002", HEX.formatHex(StreamWriter.toBytes(w -> SectionHeader.writeFooter(w, 2))));
        StreamReader r = StreamReader.of(full);
        r.u8("t");
        SectionHeader h = SectionHeader.readAfterType(r, SectionType.SECTION_FULL);
        assertEquals(SectionHeader.full(SectionType.SECTION_FULL, 4, "globalstate", 0, 1), h);

        StreamFormatException e = fails("7f00000002", rr -> SectionHeader.readFooter(rr, 2, "ram"));
        assertEquals("section.footer", e.field());
        assertEquals("0x7f", e.value());
        assertEquals(0, e.offset());
        e = fails("7e00000003", rr -> SectionHeader.readFooter(rr, 2, "ram"));
        assertEquals("section.footer.id=3, expected 2 (the id of section ram) (at stream offset 1)", e.getMessage());
        e = fails("0000000200", rr -> SectionHeader.readAfterType(rr, SectionType.SECTION_START));
        assertEquals("section.idstr.length", e.field());
        assertEquals(4, e.offset());
    }

    @Test
    void commands() {
        assertEquals("08000200040000000a", HEX.formatHex(StreamWriter.toBytes(w -> MigCommand.ping(10).write(w))));
        StreamFormatException e = fails("00020003000000", MigCommand::readAfterType);
        assertEquals("command.len=3, expected 4 for PING (at stream offset 2)", e.getMessage());
        e = fails("00000000", MigCommand::readAfterType);
        assertEquals("command.cmd", e.field());
        e = fails("000b0000", MigCommand::readAfterType);
        assertEquals("11", e.value());
        e = fails("00030008", MigCommand::readAfterType);
        assertTrue(e.expected().contains("0 or 16"));
        MigCommand c = MigCommand.readAfterType(StreamReader.of(HEX.parseHex("000100 00".replace(" ", ""))));
        assertEquals(MigCommand.OPEN_RETURN_PATH, c.cmd());
    }

    @Test
    void returnPathMessagesFromRealCapture() {
        String capture = "000200040000000100030010" + "0000000003ff0000" + "00001000" + "0372616d"
                + "0004000c0000000003ff100000001000" + "0001000400000000";
        StreamReader r = StreamReader.of(HEX.parseHex(capture));
        assertEquals(new ReturnPathMessage.Pong(1), ReturnPathMessage.read(r, 1 << 20));
        assertEquals(new ReturnPathMessage.ReqPagesId(0x3FF0000L, 0x1000, "ram"), ReturnPathMessage.read(r, 1 << 20));
        assertEquals(new ReturnPathMessage.ReqPages(0x3FF1000L, 0x1000), ReturnPathMessage.read(r, 1 << 20));
        assertEquals(new ReturnPathMessage.Shut(0), ReturnPathMessage.read(r, 1 << 20));
        assertTrue(r.atEnd());
        byte[] again = StreamWriter.toBytes(w -> {
            ReturnPathMessage.write(w, new ReturnPathMessage.Pong(1));
            ReturnPathMessage.write(w, new ReturnPathMessage.ReqPagesId(0x3FF0000L, 0x1000, "ram"));
            ReturnPathMessage.write(w, new ReturnPathMessage.ReqPages(0x3FF1000L, 0x1000));
            ReturnPathMessage.write(w, new ReturnPathMessage.Shut(0));
        });
        assertEquals(capture, HEX.formatHex(again));
        byte[] bm = StreamWriter.toBytes(w -> ReturnPathMessage.write(w, new ReturnPathMessage.RecvBitmap("ram", new byte[16])));
        ReturnPathMessage.RecvBitmap back = (ReturnPathMessage.RecvBitmap) ReturnPathMessage.read(StreamReader.of(bm), 16);
        assertEquals(16, back.bitmap().length);
        StreamFormatException e = assertThrows(StreamFormatException.class, () -> ReturnPathMessage.read(StreamReader.of(bm), 8));
        assertEquals("rp.recv_bitmap.size", e.field());
        e = fails("00070000", rr -> ReturnPathMessage.read(rr, 0));
        assertEquals("rp.type=7, expected 1..6 (at stream offset 0)", e.getMessage());
        e = fails("00060004 00000002".replace(" ", ""), rr -> ReturnPathMessage.read(rr, 0));
        assertEquals("rp.resume_ack.value", e.field());
    }

    @Test
    void vmdescTrailerBounded() {
        StreamFormatException e = fails("7fffffff", VmDescriptionTrailer::readAfterType);
        assertEquals("vmdesc.length", e.field());
        assertEquals("{}", VmDescriptionTrailer.readAfterType(StreamReader.of(HEX.parseHex("000000027b7d"))));
    }
}
