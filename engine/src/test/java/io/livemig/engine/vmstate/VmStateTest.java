package io.livemig.engine.vmstate;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.StreamWriter;
import io.livemig.engine.vmstate.VmStateField.IntField;
import io.livemig.engine.vmstate.VmStateField.StructField;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** vmstate framework: encodings of spec 5.1/5.3, versions, subsections, hooks, and the vmdesc JSON. */
class VmStateTest {
    private static final HexFormat HEX = HexFormat.of();

    /** The vmdesc of spec 9.2, byte for byte. */
    static final String QEMU_NONE_VMDESC = "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", \"instance_id\": 0, \"vmsd_name\": \"timer\", \"version\": 2, \"fields\": [{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", \"size\": 8}, {\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 8}, {\"name\": \"cpu_clock_offset\", \"type\": \"int64\", \"size\": 8}]}, {\"name\": \"globalstate\", \"instance_id\": 0, \"vmsd_name\": \"globalstate\", \"version\": 1, \"fields\": [{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, {\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}]}";

    @Test
    void timerAndGlobalstateAsQemuWritesThem() {
        VmDescWriter desc = new VmDescWriter(4096);
        byte[] timer = StreamWriter.toBytes(w -> desc.saveDevice(w, "timer", 0, TimerSection.DESCRIPTION, TimerSection.state(0, 0)));
        byte[] gs = StreamWriter.toBytes(w -> desc.saveDevice(w, "globalstate", 0, GlobalStateSection.DESCRIPTION,
                GlobalStateSection.state("prelaunch")));
        assertEquals("00".repeat(24), HEX.formatHex(timer));
        assertEquals("0000000a" + HEX.formatHex("prelaunch".getBytes()) + "00".repeat(91), HEX.formatHex(gs));
        assertEquals(486, QEMU_NONE_VMDESC.length());
        assertEquals(QEMU_NONE_VMDESC, desc.finish());
    }

    @Test
    void timerVersion1HasNoClockOffset() {
        VmState s = VmStateCodec.load(StreamReader.of(HEX.parseHex("0000000000000005" + "00".repeat(8))), TimerSection.DESCRIPTION, 1);
        assertEquals(5, s.getLong("cpu_ticks_offset"));
        assertFalse(s.has("cpu_clock_offset"));
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> VmStateCodec.checkVersion(TimerSection.DESCRIPTION, 3, "section.version_id", 77));
        assertEquals("section.version_id=3, expected 1..2 for timer (at stream offset 77)", e.getMessage());
    }

    @Test
    void globalstateRunStateChecked() {
        byte[] bad = StreamWriter.toBytes(w -> w.be32(5).bytes("nope\0".getBytes()).zeros(95));
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> VmStateCodec.load(StreamReader.of(bad), GlobalStateSection.DESCRIPTION, 1));
        assertEquals("globalstate.post_load", e.field());
        assertTrue(e.getMessage().contains("\"nope\" is not a QEMU RunState"), e.getMessage());
        byte[] unterminated = StreamWriter.toBytes(w -> w.be32(101).bytes(new byte[100]).u8(0));
        unterminated[4 + 0] = 'x';
        for (int i = 4; i < 104; i++) unterminated[i] = 'x';
        e = assertThrows(StreamFormatException.class,
                () -> VmStateCodec.load(StreamReader.of(unterminated), GlobalStateSection.DESCRIPTION, 1));
        assertTrue(e.getMessage().contains("no NUL"), e.getMessage());
    }

    static final VmStateDescription INNER = VmStateDescription.builder("inner").version(1)
            .uint16("a").bool("flag").build();
    static final VmStateDescription SUB_A = VmStateDescription.builder("dev/a").version(2).minimumVersion(1).uint32("x").build();
    static final VmStateDescription SUB_B = VmStateDescription.builder("dev/b").version(1).int8("y").build();

    static VmStateDescription device(List<String> hooks) {
        return VmStateDescription.builder("dev").version(3).minimumVersion(2)
                .int8("i8").uint8("u8").int16("i16").int32("i32").uint64("u64")
                .intEqual("magic", 4, false, 0xCAFE)
                .unused(3)
                .buffer("fixed", 4)
                .uint8("n")
                .vbuffer("data", "n", 16)
                .array("arr", new IntField("e", 2, false, false, 0, 0), 3)
                .varray("list", new StructField("e", INNER, 0), "n", 16)
                .struct("nested", INNER)
                .intField("late", 4, true, 3)
                .subsection(SUB_A, s -> s.getLong("u8") > 0)
                .subsection(SUB_B, s -> true)
                .preSave(s -> hooks.add("pre_save"))
                .postSave(s -> hooks.add("post_save"))
                .preLoad((s, v) -> hooks.add("pre_load v" + v))
                .postLoad((s, v) -> hooks.add("post_load v" + v))
                .build();
    }

    static VmState deviceState() {
        List<Object> list = new ArrayList<>();
        list.add(new VmState().putLong("a", 1).put("flag", true));
        list.add(new VmState().putLong("a", 2).put("flag", false));
        return new VmState().putLong("i8", -2).putLong("u8", 200).putLong("i16", -3).putLong("i32", -4).putLong("u64", -1)
                .put("fixed", new byte[] {1, 2, 3, 4}).putLong("n", 2).put("data", new byte[] {9, 8})
                .put("arr", List.of(7L, 8L, 9L)).put("list", list)
                .put("nested", new VmState().putLong("a", 0x1234).put("flag", true)).putLong("late", 42)
                .put("dev/a", new VmState().putLong("x", 5)).put("dev/b", new VmState().putLong("y", -1));
    }

    @Test
    void everyFieldKindRoundTripsWithSubsectionsAndHooks() {
        List<String> hooks = new ArrayList<>();
        VmStateDescription d = device(hooks);
        JsonOut json = new JsonOut();
        json.startObject(null);
        byte[] b = StreamWriter.toBytes(w -> VmStateCodec.save(w, d, deviceState(), json));
        json.endObject();
        String expected = "fe" + "c8" + "fffd" + "fffffffc" + "ffffffffffffffff" + "0000cafe" + "000000" + "01020304" + "02"
                + "0908" + "000700080009" + "000101" + "000200" + "123401" + "0000002a"
                + "05" + "05" + HEX.formatHex("dev/a".getBytes()) + "00000002" + "00000005"
                + "05" + "05" + HEX.formatHex("dev/b".getBytes()) + "00000001" + "ff";
        assertEquals(expected, HEX.formatHex(b));
        assertEquals(List.of("pre_save", "post_save"), hooks);
        String j = json.toString();
        assertTrue(j.contains("{\"name\": \"arr\", \"array_len\": 3, \"type\": \"uint16\", \"size\": 2}"), j);
        assertTrue(j.contains("{\"name\": \"list\", \"index\": 1, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"inner\", \"version\": 1, \"fields\": [{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, {\"name\": \"flag\", \"type\": \"bool\", \"size\": 1}]}, \"size\": 3}"), j);
        assertTrue(j.contains("{\"name\": \"magic\", \"type\": \"uint32 equal\", \"size\": 4}"), j);
        assertTrue(j.contains("\"subsections\": [{\"vmsd_name\": \"dev/a\", \"version\": 2, \"fields\": [{\"name\": \"x\", \"type\": \"uint32\", \"size\": 4}]}, {\"vmsd_name\": \"dev/b\""), j);

        hooks.clear();
        VmState s = VmStateCodec.load(StreamReader.of(b), d, 3);
        assertEquals(List.of("pre_load v3", "post_load v3"), hooks);
        assertEquals(-2, s.getLong("i8"));
        assertEquals(200, s.getLong("u8"));
        assertEquals(-1, s.getLong("u64"));
        assertArrayEquals(new byte[] {9, 8}, s.getBytes("data"));
        assertEquals(List.of(7L, 8L, 9L), s.getList("arr"));
        assertEquals(0x1234, s.getStruct("nested").getLong("a"));
        assertEquals(2, ((VmState) s.getList("list").get(1)).getLong("a"));
        assertEquals(5, s.getStruct("dev/a").getLong("x"));
        assertEquals(-1, s.getStruct("dev/b").getLong("y"));
    }

    @Test
    void subsectionsLoadInAnyOrderAndOnlyWhenNeeded() {
        VmStateDescription d = device(new ArrayList<>());
        VmState st = deviceState().putLong("u8", 0); // dev/a not needed
        byte[] b = StreamWriter.toBytes(w -> VmStateCodec.save(w, d, st, null));
        assertFalse(HEX.formatHex(b).contains(HEX.formatHex("dev/a".getBytes())));
        VmState loaded = VmStateCodec.load(StreamReader.of(b), d, 3);
        assertFalse(loaded.has("dev/a"));
        assertTrue(loaded.has("dev/b"));
    }

    @Test
    void unknownSubsectionWithPrefixFailsAndForeignByteIsLeft() {
        VmStateDescription d = VmStateDescription.builder("dev").version(1).uint8("v")
                .subsection(SUB_B, s -> true).build();
        byte[] unknown = StreamWriter.toBytes(w -> w.u8(1).u8(5).countedString("dev/zzz").be32(1));
        StreamFormatException e = assertThrows(StreamFormatException.class, () -> VmStateCodec.load(StreamReader.of(unknown), d, 1));
        assertEquals("dev.subsection.name=\"dev/zzz\", expected a known subsection of dev [dev/b] (at stream offset 2)", e.getMessage());
        // b before nothing else, then a footer byte: the footer is left in the stream
        byte[] withFooter = StreamWriter.toBytes(w -> w.u8(1).u8(5).countedString("dev/b").be32(1).u8(0x7f).u8(0x7e));
        StreamReader r = StreamReader.of(withFooter);
        VmState s = VmStateCodec.load(r, d, 1);
        assertEquals(0x7f, s.getStruct("dev/b").getLong("y"));
        assertEquals(0x7e, r.peekU8());
        // a 0x05 whose name lacks the prefix is not a subsection of dev
        byte[] other = StreamWriter.toBytes(w -> w.u8(1).u8(5).countedString("xyz/b").be32(1));
        StreamReader r2 = StreamReader.of(other);
        VmStateCodec.load(r2, d, 1);
        assertEquals(5, r2.peekU8());
        // subsection version above the description's
        byte[] tooNew = StreamWriter.toBytes(w -> w.u8(1).u8(5).countedString("dev/b").be32(2).u8(0));
        e = assertThrows(StreamFormatException.class, () -> VmStateCodec.load(StreamReader.of(tooNew), d, 1));
        assertEquals("dev/b.version", e.field());
        assertEquals(8, e.offset());
    }

    @Test
    void subsectionOrderIsFree() {
        VmStateDescription d = VmStateDescription.builder("dev").version(1).uint8("v")
                .subsection(SUB_A, s -> true).subsection(SUB_B, s -> true).build();
        byte[] reversed = StreamWriter.toBytes(w -> w.u8(1).u8(5).countedString("dev/b").be32(1).u8(3)
                .u8(5).countedString("dev/a").be32(1).be32(9));
        VmState s = VmStateCodec.load(StreamReader.of(reversed), d, 1);
        assertEquals(3, s.getStruct("dev/b").getLong("y"));
        assertEquals(9, s.getStruct("dev/a").getLong("x"));
    }

    @Test
    void boundsAndEqualChecks() {
        VmStateDescription d = device(new ArrayList<>());
        byte[] good = StreamWriter.toBytes(w -> VmStateCodec.save(w, d, deviceState(), null));
        byte[] badMagic = good.clone();
        badMagic[19] = 0x00; // 0000ca00
        StreamFormatException e = assertThrows(StreamFormatException.class, () -> VmStateCodec.load(StreamReader.of(badMagic), d, 3));
        assertEquals("dev.magic=51712, expected 51966 (an equal-checked field) (at stream offset 16)", e.getMessage());
        byte[] bigCount = good.clone();
        bigCount[27] = 17; // n = 17 > 16
        e = assertThrows(StreamFormatException.class, () -> VmStateCodec.load(StreamReader.of(bigCount), d, 3));
        assertEquals("dev.data.size(n)=17, expected 0..16 (at stream offset 28)", e.getMessage());
        byte[] truncated = java.util.Arrays.copyOf(good, 30);
        e = assertThrows(StreamFormatException.class, () -> VmStateCodec.load(StreamReader.of(truncated), d, 3));
        assertEquals("dev.arr[0]", e.field());
        assertEquals("end of stream", e.value());
    }
}
