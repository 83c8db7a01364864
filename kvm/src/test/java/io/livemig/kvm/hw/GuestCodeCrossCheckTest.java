package io.livemig.kvm.hw;

import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Independent checks of the hand-assembled guests with tools of this host, where installed (skipped, with the
 * reason, where not): GNU objdump must decode the same instruction boundaries, bytes and mnemonics; and
 * QEMU's TCG (no KVM needed) must boot the A-B boot sector through SeaBIOS, print 'A' then 'B's, and leave RAM
 * that passes the spec's consistency check (dumped with the monitor's pmemsave).
 */
class GuestCodeCrossCheckTest {
    private static final Pattern LINE = Pattern.compile("^\\s*([0-9a-f]+):\\s+((?:[0-9a-f]{2} )+)\\s*(\\S+)");

    record Decoded(long address, String bytes, String mnemonic) {
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    private static List<Decoded> objdump(Path img, String machine, long vma, long start, long stop) throws Exception {
        Process p = new ProcessBuilder("objdump", "-D", "-b", "binary", "-m" + machine, "--adjust-vma=0x" + Long.toHexString(vma),
                "--start-address=0x" + Long.toHexString(start), "--stop-address=0x" + Long.toHexString(stop), img.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<Decoded> r = new ArrayList<>();
        for (String line : out.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (m.find()) r.add(new Decoded(Long.parseLong(m.group(1), 16), m.group(2).replace(" ", "").toUpperCase(), m.group(3)));
        }
        return r;
    }

    private static void compare(List<X86Asm.Insn> listing, long origin, List<Decoded> decoded, List<String> mnemonics) {
        assertEquals(mnemonics.size(), decoded.size(), "objdump decoded " + decoded);
        for (int i = 0; i < decoded.size(); i++) {
            X86Asm.Insn in = listing.get(i);
            Decoded d = decoded.get(i);
            assertEquals(origin + in.offset(), d.address(), "boundary of " + in.text());
            assertEquals(in.hex().replace(" ", ""), d.bytes(), "bytes of " + in.text());
            assertEquals(mnemonics.get(i), d.mnemonic(), "objdump's mnemonic for " + in.text());
        }
    }

    @Test
    void objdumpDecodesTheAbBootSectorAsListed(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("objdump"), "objdump (binutils) not installed");
        GuestImage g = AbBootSector.image();
        Path img = dir.resolve("ab.img");
        Files.write(img, g.bytes());
        List<X86Asm.Insn> l = g.listing();
        List<Decoded> real = objdump(img, "i8086", 0x7C00, 0x7C00, 0x7C20);
        compare(l.subList(0, 12), 0x7C00, real,
                List.of("cli", "xor", "mov", "in", "or", "and", "out", "lgdtl", "mov", "or", "mov", "ljmp"));
        List<Decoded> prot = objdump(img, "i386", 0x7C00, 0x7C20, 0x7C69);
        compare(l.subList(12, 38), 0x7C00, prot,
                List.of("mov", "mov", "mov", "mov", "mov", "mov", "mov", "mov", "out", "mov", "movb", "add", "cmp", "jb",
                        "xor", "mov", "incb", "add", "cmp", "jb", "inc", "test", "jne", "mov", "out", "jmp"));
    }

    @Test
    void objdumpDecodesTheScriptedGuestAsListed(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("objdump"), "objdump (binutils) not installed");
        GuestImage g = ScriptedGuestCode.image();
        Path img = dir.resolve("s.img");
        Files.write(img, g.bytes());
        long o = ScriptedGuestCode.SCRATCH_GPA;
        compare(g.listing(), o, objdump(img, "i386", o, o, o + g.bytes().length),
                List.of("xor", "pause", "mov", "cmp", "je", "mov", "mov", "mov", "test", "je", "mov", "incb", "add", "dec", "jmp",
                        "mov", "mov", "out", "jmp"));
    }

    @Test
    @Timeout(180)
    void qemuTcgBootsTheAbBootSectorAndItsRamPassesTheConsistencyCheck(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("qemu-system-x86_64"), "qemu-system-x86_64 not installed");
        Path img = dir.resolve("ab.img");
        Files.write(img, AbBootSector.image().bytes());
        Path serial = dir.resolve("serial.txt");
        Path mon = dir.resolve("mon.sock");
        Path dump = dir.resolve("ram.bin");
        Process q = new ProcessBuilder("qemu-system-x86_64", "-accel", "tcg", "-display", "none", "-m", "128",
                "-drive", "format=raw,file=" + img, "-serial", "file:" + serial,
                "-monitor", "unix:" + mon + ",server=on,wait=off", "-no-reboot")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            String out = "";
            while (System.nanoTime() < deadline) {
                out = Files.exists(serial) ? Files.readString(serial, StandardCharsets.ISO_8859_1) : "";
                if (out.length() >= 3) break;
                assertTrue(q.isAlive(), "qemu exited: " + Files.readString(dir.resolve("qemu.log")));
                Thread.sleep(100);
            }
            assertTrue(out.length() >= 3, "serial output after 90 s: '" + out + "'");
            assertTrue(out.matches("AB+"), "serial is 'A' then only 'B's: '" + out + "'");
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(mon));
                send(ch, "stop\n");
                send(ch, "pmemsave 0 " + AbGuest.DEFAULT_WINDOW_END_BYTES + " \"" + dump + "\"\n");
                send(ch, "quit\n");
                ByteBuffer sink = ByteBuffer.allocate(65536);
                while (ch.read(sink) >= 0) sink.clear(); // until qemu closes the monitor on quit
            }
            assertTrue(q.waitFor(30, TimeUnit.SECONDS), "qemu did not quit");
            assertEquals(AbGuest.DEFAULT_WINDOW_END_BYTES, Files.size(dump));
            try (Arena arena = Arena.ofConfined(); FileChannel fc = FileChannel.open(dump, StandardOpenOption.READ)) {
                MemorySegment ram = fc.map(FileChannel.MapMode.READ_ONLY, 0, Files.size(dump), arena);
                AbConsistencyCheck.Result r = AbConsistencyCheck.check(ram, AbGuest.WINDOW_START_BYTES, AbGuest.DEFAULT_WINDOW_END_BYTES);
                assertTrue(r.consistent(), r.message());
                System.out.println("QEMU TCG A-B: serial '" + out.substring(0, Math.min(out.length(), 20)) + "...' ("
                        + out.length() + " bytes), " + r.message());
            }
        } finally {
            q.destroyForcibly();
            q.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void send(SocketChannel ch, String cmd) throws IOException, InterruptedException {
        ByteBuffer b = ByteBuffer.wrap(cmd.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) ch.write(b);
        Thread.sleep(300); // the HMP monitor handles one line at a time; pmemsave finishes before the next prompt
    }
}
