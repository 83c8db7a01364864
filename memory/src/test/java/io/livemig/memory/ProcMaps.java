package io.livemig.memory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Test helper: what /proc/self/smaps says about the mapping that holds an address. */
final class ProcMaps {
    private ProcMaps() {
    }

    /** The smaps entry (header under key "header", "Rss" etc. in kB, "VmFlags") of the VMA holding addr, or null. */
    static Map<String, String> smapsOf(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        Map<String, String> current = null;
        for (String line : lines) {
            int sp = line.indexOf(' ');
            String first = sp < 0 ? line : line.substring(0, sp);
            int dash = first.indexOf('-');
            if (dash > 0 && !first.endsWith(":") && isHex(first.substring(0, dash)) && isHex(first.substring(dash + 1))) {
                if (current != null) return current;
                long start = Long.parseUnsignedLong(first.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(first.substring(dash + 1), 16);
                if (address >= start && address < end) {
                    current = new LinkedHashMap<>();
                    current.put("header", line);
                    current.put("start", Long.toString(start));
                    current.put("end", Long.toString(end));
                }
            } else if (current != null) {
                int colon = line.indexOf(':');
                if (colon > 0) current.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return current;
    }

    static Map<String, String> smapsOf(MemorySegment seg) throws IOException {
        return smapsOf(seg.address());
    }

    /**
     * Resident bytes of exactly {@code seg}'s 4 KiB pages, from /proc/self/pagemap (bit 63 = present).
     * Per page, unlike smaps' Rss, which covers a whole VMA and the kernel merges neighbouring mappings.
     */
    static long residentBytes(MemorySegment seg) throws IOException {
        long first = seg.address() / 4096;
        long pages = (seg.byteSize() + 4095) / 4096;
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) (pages * 8)).order(ByteOrder.nativeOrder());
            long pos = first * 8;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos + buf.position());
                if (n <= 0) throw new IOException("short read of /proc/self/pagemap");
            }
            buf.flip();
            long present = 0;
            for (long i = 0; i < pages; i++) if (buf.getLong() < 0) present++;
            return present * 4096;
        }
    }

    static boolean isMapped(long address) throws IOException {
        return smapsOf(address) != null;
    }

    private static boolean isHex(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            if (Character.digit(s.charAt(i), 16) < 0) return false;
        }
        return true;
    }
}
