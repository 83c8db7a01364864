package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.StreamWriter;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.Channels;
import java.io.ByteArrayInputStream;
import java.util.List;

import static io.livemig.engine.ram.RamRecord.FLAG_CONTINUE;
import static io.livemig.engine.ram.RamRecord.FLAG_EOS;
import static io.livemig.engine.ram.RamRecord.FLAG_PAGE;
import static io.livemig.engine.ram.RamRecord.FLAG_ZERO;
import static io.livemig.engine.ram.RamRecord.PAGE_SIZE;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fresh-RAM fast path skips ZERO records only for pages the load has not written itself. */
class RamLoaderFreshRamTest {

    @Test
    void zeroAfterPageInTheSameLoadStillClearsThePage() {
        byte[] stream = StreamWriter.toBytes(w -> {
            byte[] page = new byte[PAGE_SIZE];
            java.util.Arrays.fill(page, (byte) 0x5A);
            w.be64(PAGE_SIZE | FLAG_PAGE).countedString("ram").bytes(page);   // page 1 written
            w.be64(PAGE_SIZE | FLAG_ZERO | FLAG_CONTINUE).u8(0);               // then zeroed again (pass 2)
            w.be64(2 * PAGE_SIZE | FLAG_ZERO | FLAG_CONTINUE).u8(0);           // page 2: fresh, skipped
            w.be64(3 * PAGE_SIZE | FLAG_ZERO | FLAG_CONTINUE).u8(0x11);        // page 3: non-zero fill
            w.be64(FLAG_EOS);
        });
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(4L * PAGE_SIZE, PAGE_SIZE);
            try (RamLoader loader = new RamLoader(List.of(new RamRegion("ram", ram)), false, true)) {
                loader.loadBody(new StreamReader(Channels.newChannel(new ByteArrayInputStream(stream))));
            }
            for (int i = 0; i < PAGE_SIZE; i++) {
                assertEquals(0, ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE, PAGE_SIZE + i), "page 1 byte " + i);
                assertEquals(0x11, ram.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 3L * PAGE_SIZE + i), "page 3 byte " + i);
            }
        }
    }
}
