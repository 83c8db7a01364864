package io.livemig.kvm.hw;

import io.livemig.kvm.AbGuest;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The A-B boot sector, instruction by instruction against encodings taken from the Intel SDM (runs everywhere). */
class AbBootSectorTest {
    /** (address, bytes) of every instruction of the default image, in order. */
    private static final List<String[]> EXPECTED = List.of(
            new String[] {"7C00", "FA"},                 // cli
            new String[] {"7C01", "31C0"},               // xor ax,ax
            new String[] {"7C03", "8ED8"},               // mov ds,ax
            new String[] {"7C05", "E492"},               // in al,0x92
            new String[] {"7C07", "0C02"},               // or al,2
            new String[] {"7C09", "24FE"},               // and al,0xFE
            new String[] {"7C0B", "E692"},               // out 0x92,al
            new String[] {"7C0D", "66 0F0116 887C"},     // o32 lgdt [0x7C88]
            new String[] {"7C13", "0F20C0"},             // mov eax,cr0
            new String[] {"7C16", "0C01"},               // or al,1
            new String[] {"7C18", "0F22C0"},             // mov cr0,eax
            new String[] {"7C1B", "EA 207C 0800"},       // jmp 0x08:0x7C20
            new String[] {"7C20", "66B8 1000"},          // mov ax,0x10
            new String[] {"7C24", "8ED8"},               // mov ds,ax
            new String[] {"7C26", "8EC0"},               // mov es,ax
            new String[] {"7C28", "8ED0"},               // mov ss,ax
            new String[] {"7C2A", "8EE0"},               // mov fs,ax
            new String[] {"7C2C", "8EE8"},               // mov gs,ax
            new String[] {"7C2E", "66BA F803"},          // mov dx,0x3F8
            new String[] {"7C32", "B041"},               // mov al,'A'
            new String[] {"7C34", "EE"},                 // out dx,al
            new String[] {"7C35", "B8 00001000"},        // mov eax,0x100000
            new String[] {"7C3A", "C60000"},             // zero: mov byte [eax],0
            new String[] {"7C3D", "05 00100000"},        // add eax,0x1000
            new String[] {"7C42", "3D 00004006"},        // cmp eax,0x6400000
            new String[] {"7C47", "72F1"},               // jb zero (0x7C49 - 15 = 0x7C3A)
            new String[] {"7C49", "31DB"},               // xor ebx,ebx
            new String[] {"7C4B", "B8 00001000"},        // pass: mov eax,0x100000
            new String[] {"7C50", "FE00"},               // page: inc byte [eax]
            new String[] {"7C52", "05 00100000"},        // add eax,0x1000
            new String[] {"7C57", "3D 00004006"},        // cmp eax,0x6400000
            new String[] {"7C5C", "72F2"},               // jb page (0x7C5E - 14 = 0x7C50)
            new String[] {"7C5E", "43"},                 // inc ebx
            new String[] {"7C5F", "F6C33F"},             // test bl,0x3F
            new String[] {"7C62", "75E7"},               // jnz pass (0x7C64 - 25 = 0x7C4B)
            new String[] {"7C64", "B042"},               // mov al,'B'
            new String[] {"7C66", "EE"},                 // out dx,al
            new String[] {"7C67", "EBE2"});              // jmp pass (0x7C69 - 30 = 0x7C4B)

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    @Test
    void everyInstructionHasTheExpectedAddressAndEncoding() {
        GuestImage g = AbBootSector.image();
        List<X86Asm.Insn> code = g.listing();
        for (int i = 0; i < EXPECTED.size(); i++) {
            X86Asm.Insn in = code.get(i);
            String[] e = EXPECTED.get(i);
            assertEquals(Integer.parseInt(e[0], 16), 0x7C00 + in.offset(), "address of instruction " + i + " (" + in.text() + ")");
            assertArrayEquals(hex(e[1]), in.bytes(), "bytes of " + e[0] + ": " + in.text() + " was " + in.hex());
            assertFalse(in.text().isBlank(), "every instruction is commented");
        }
    }

    @Test
    void gdtGdtrAndBootSignature() {
        byte[] b = AbBootSector.image().bytes();
        assertEquals(512, b.length);
        assertEquals((byte) 0x55, b[510]);
        assertEquals((byte) 0xAA, b[511]);
        // GDT at 0x7C70: null, flat code 0x9A, flat data 0x92, granularity 4 KiB, 32-bit.
        assertArrayEquals(hex("0000000000000000 FFFF0000009ACF00 FFFF00000092CF00"), java.util.Arrays.copyOfRange(b, 0x70, 0x88));
        // gdtr at 0x7C88 (the lgdt operand): limit 23, base 0x7C70.
        assertArrayEquals(hex("1700 707C0000"), java.util.Arrays.copyOfRange(b, 0x88, 0x8E));
        for (int i = 0x8E; i < 510; i++) assertEquals(0, b[i], "padding byte " + i);
    }

    @Test
    void windowEndIsAParameterOfBothCompares() {
        long end = 0x2000_0000L; // 512 MiB
        GuestImage g = AbBootSector.image(end);
        byte[] b = g.bytes();
        assertArrayEquals(hex("3D 00000020"), java.util.Arrays.copyOfRange(b, 0x42, 0x47));
        assertArrayEquals(hex("3D 00000020"), java.util.Arrays.copyOfRange(b, 0x57, 0x5C));
        assertEquals(AbGuest.WINDOW_START_BYTES, AbBootSector.WINDOW_START);
        assertEquals((0x640_0000 - 0x10_0000) / 4096, AbBootSector.windowPages(AbBootSector.DEFAULT_WINDOW_END));
        assertEquals(25_344, AbBootSector.windowPages(AbBootSector.DEFAULT_WINDOW_END));
    }

    @Test
    void badWindowEndsAreRejected() {
        for (long bad : new long[] {0x10_0000, 0x10_0001, 0x64_0_0800L, 0xC000_1000L, 0}) {
            var e = assertThrows(IllegalArgumentException.class, () -> AbBootSector.image(bad));
            assertTrue(e.getMessage().contains("windowEnd=0x"), e.getMessage());
        }
    }

    @Test
    void idleGuestIsCliHltJumpBack() {
        GuestImage g = IdleGuest.image();
        assertArrayEquals(hex("FA F4 EBFD"), g.bytes());
        assertEquals(0x7C00, g.entryGpa());
        assertEquals(3, g.listing().size());
    }

    @Test
    void scriptedGuestInstructions() {
        GuestImage g = ScriptedGuestCode.image();
        String expected = "31ED F390 A1001000F0 39E8 74F5 89C5 8B0D041000F0 8B35081000F0 85C9 740A 8B3E FE07 83C604 49 EBF2"
                + " 89E8 66BAA005 EF EBD0";
        assertArrayEquals(hex(expected), g.bytes());
        assertEquals(ScriptedGuestCode.SCRATCH_GPA, g.entryGpa());
    }

    @Test
    void assemblerRejectsFarJumpsAndUndefinedLabels() {
        X86Asm a = new X86Asm(0);
        a.jcc8("jmp far", 0xEB, "far");
        a.padTo(300, 0x90, "nops");
        a.label("far");
        assertThrows(IllegalStateException.class, a::assemble);
        X86Asm b = new X86Asm(0);
        b.jcc8("jmp nowhere", 0xEB, "nowhere");
        assertThrows(IllegalStateException.class, b::assemble);
    }
}
