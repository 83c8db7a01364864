package io.livemig.kvm.hw;

import io.livemig.kvm.AbGuest;

import static io.livemig.kvm.hw.X86Asm.cat;
import static io.livemig.kvm.hw.X86Asm.le32;

/**
 * The A-B test guest of {@code spec/ab-guest.md} (contract constants in {@link AbGuest}), as a 512-byte boot sector of hand-encoded machine code.
 *
 * <p>It starts where a BIOS leaves a boot sector (real mode, CS:IP = 0000:7C00) so the very same bytes
 * boot under {@code qemu-system-x86_64 -drive format=raw,file=ab.img} for side-by-side runs; the KVM VMM
 * starts the vCPU there directly (no BIOS). It enables A20 through port 0x92, switches to flat 32-bit
 * protected mode with a 3-entry GDT, prints 'A', zeroes byte 0 of every 4 KiB page in
 * [{@value #WINDOW_START}, windowEnd), then forever increments those bytes in ascending order and prints
 * 'B' after every 64th complete pass. It uses no stack, never enables interrupts and writes no other RAM.
 *
 * <p>RAM effects (the contract shared with the Java fallback guest): only byte 0 of the pages in the
 * window is ever written, so the RAM consistency check of the spec applies to both.
 *
 * <p>Registers in the loop: EAX = current page address, EBX = pass counter (low 6 bits matter),
 * DX = 0x3F8 (COM1 THR), AL = output byte when printing.
 */
public final class AbBootSector {
    /** Boot-sector load address. */
    public static final long LOAD_GPA = 0x7C00;
    /** First page of the window (1 MiB), from the shared contract. */
    public static final long WINDOW_START = AbGuest.WINDOW_START_BYTES;
    /** The spec's default window end (100 MiB, exclusive): 25,344 pages. */
    public static final long DEFAULT_WINDOW_END = AbGuest.DEFAULT_WINDOW_END_BYTES;
    /** The largest window end: RAM above 3 GiB is not identity-mapped below 4 GiB on a PC layout. */
    public static final long MAX_WINDOW_END = 0xC000_0000L;
    /** COM1 transmit holding register. */
    public static final int SERIAL_PORT = AbGuest.SERIAL_PORT;
    /** PS/2 system control port A: bit 1 = A20 gate ("fast A20"), bit 0 = fast reset. */
    public static final int A20_PORT = 0x92;
    public static final int PAGE_BYTES = (int) AbGuest.PAGE_SIZE_BYTES;
    /** 'B' is printed after every this many complete passes (the code tests the low 6 bits of the count). */
    public static final int PASSES_PER_B = AbGuest.PASSES_PER_PASS_CHAR;

    private AbBootSector() {
    }

    /** The spec's guest: window [1 MiB, 100 MiB). */
    public static GuestImage image() {
        return image(DEFAULT_WINDOW_END);
    }

    /** Number of pages the guest touches for a window end. */
    public static long windowPages(long windowEnd) {
        return (windowEnd - WINDOW_START) / PAGE_BYTES;
    }

    /** Throws IllegalArgumentException unless {@code windowEnd} is a usable window end. */
    public static void validateWindowEnd(long windowEnd) {
        if (windowEnd % PAGE_BYTES != 0 || windowEnd <= WINDOW_START || windowEnd > MAX_WINDOW_END) {
            throw new IllegalArgumentException("windowEnd=0x" + Long.toHexString(windowEnd)
                    + ", expected a multiple of 4096 in (0x100000, 0xC0000000]");
        }
    }

    /** The guest with a window [1 MiB, windowEnd); RAM must reach at least windowEnd. */
    public static GuestImage image(long windowEnd) {
        validateWindowEnd(windowEnd);
        X86Asm a = new X86Asm(LOAD_GPA);

        // ---- 16-bit real mode, CS:IP = 0000:7C00 ------------------------------------------------------
        a.emit("cli                          ; interrupts stay off for good", 0xFA);
        a.emit("xor ax, ax                   ; 31 /r, ModRM 11 000 000", 0x31, 0xC0);
        a.emit("mov ds, ax                   ; 8E /r (Sreg=DS=3): DS = 0 for the lgdt operand", 0x8E, 0xD8);
        a.emit("in al, 0x92                  ; E4 ib: read system control port A", 0xE4, A20_PORT);
        a.emit("or al, 2                     ; 0C ib: bit 1 = A20 enabled", 0x0C, 0x02);
        a.emit("and al, 0xFE                 ; 24 ib: keep bit 0 (fast reset) clear", 0x24, 0xFE);
        a.emit("out 0x92, al                 ; E6 ib: A20 on", 0xE6, A20_PORT);
        a.emitAbs16("o32 lgdt [gdtr]              ; 66 0F 01 /2, ModRM 00 010 110 = disp16 (32-bit base)", 4, "gdtr",
                0x66, 0x0F, 0x01, 0x16, 0x00, 0x00);
        a.emit("mov eax, cr0                 ; 0F 20 /r, ModRM 11 000(cr0) 000(eax)", 0x0F, 0x20, 0xC0);
        a.emit("or al, 1                     ; 0C ib: CR0.PE", 0x0C, 0x01);
        a.emit("mov cr0, eax                 ; 0F 22 /r: protected mode on", 0x0F, 0x22, 0xC0);
        a.emitAbs16("jmp 0x08:pm32                ; EA ptr16:16 far jump loads CS = GDT[1] (flat code)", 1, "pm32",
                0xEA, 0x00, 0x00, 0x08, 0x00);

        // ---- 32-bit flat protected mode ---------------------------------------------------------------
        a.label("pm32");
        a.emit("mov ax, 0x10                 ; 66 B8 iw: selector GDT[2] (flat data)", 0x66, 0xB8, 0x10, 0x00);
        a.emit("mov ds, ax                   ; 8E /r, ModRM 11 011 000", 0x8E, 0xD8);
        a.emit("mov es, ax                   ; 8E /r, ModRM 11 000 000", 0x8E, 0xC0);
        a.emit("mov ss, ax                   ; 8E /r, ModRM 11 010 000 (no stack is used)", 0x8E, 0xD0);
        a.emit("mov fs, ax                   ; 8E /r, ModRM 11 100 000", 0x8E, 0xE0);
        a.emit("mov gs, ax                   ; 8E /r, ModRM 11 101 000", 0x8E, 0xE8);
        a.emit("mov dx, 0x3F8                ; 66 BA iw: COM1 THR", 0x66, 0xBA, SERIAL_PORT & 0xFF, SERIAL_PORT >>> 8);
        a.emit("mov al, 'A'                  ; B0 ib", 0xB0, AbGuest.START_CHAR);
        a.emit("out dx, al                   ; EE: print 'A' (no LSR polling)", 0xEE);
        a.emit("mov eax, 0x100000            ; B8 id: first page of the window", cat(new int[] {0xB8}, le32(WINDOW_START)));
        a.label("zero");
        a.emit("mov byte [eax], 0            ; C6 /0 ib, ModRM 00 000 000", 0xC6, 0x00, 0x00);
        a.emit("add eax, 0x1000              ; 05 id: next 4 KiB page", cat(new int[] {0x05}, le32(PAGE_BYTES)));
        a.emit(String.format("cmp eax, 0x%-16X; 3D id: window end (exclusive)", windowEnd), cat(new int[] {0x3D}, le32(windowEnd)));
        a.jcc8("jb zero                      ; 72 cb: unsigned below", 0x72, "zero");
        a.emit("xor ebx, ebx                 ; 31 /r, ModRM 11 011 011: pass counter = 0", 0x31, 0xDB);
        a.label("pass");
        a.emit("mov eax, 0x100000            ; B8 id: restart at the first page", cat(new int[] {0xB8}, le32(WINDOW_START)));
        a.label("page");
        a.emit("inc byte [eax]               ; FE /0, ModRM 00 000 000: byte 0 of the page += 1", 0xFE, 0x00);
        a.emit("add eax, 0x1000              ; 05 id", cat(new int[] {0x05}, le32(PAGE_BYTES)));
        a.emit(String.format("cmp eax, 0x%-16X; 3D id", windowEnd), cat(new int[] {0x3D}, le32(windowEnd)));
        a.jcc8("jb page                      ; 72 cb", 0x72, "page");
        a.emit("inc ebx                      ; 40+rd (32-bit mode): one more complete pass", 0x43);
        a.emit("test bl, 0x3F                ; F6 /0 ib, ModRM 11 000 011: pass count mod 64", 0xF6, 0xC3, PASSES_PER_B - 1);
        a.jcc8("jnz pass                     ; 75 cb: not a 64th pass", 0x75, "pass");
        a.emit("mov al, 'B'                  ; B0 ib", 0xB0, AbGuest.PASS_CHAR);
        a.emit("out dx, al                   ; EE: print 'B'", 0xEE);
        a.jcc8("jmp short pass               ; EB cb", 0xEB, "pass");

        // ---- data ---------------------------------------------------------------------------------------
        a.align(8, 0x00);
        a.label("gdt");
        a.dq("GDT[0] null descriptor", 0L);
        a.dq("GDT[1] 0x08 code: base 0, limit 0xFFFFF x 4K, P DPL0 exec/read (0x9A), G D/B (0xC)", 0x00CF_9A00_0000_FFFFL);
        a.dq("GDT[2] 0x10 data: base 0, limit 0xFFFFF x 4K, P DPL0 read/write (0x92), G D/B (0xC)", 0x00CF_9200_0000_FFFFL);
        a.label("gdtr");
        a.dw("gdtr.limit = 3 * 8 - 1", 3 * 8 - 1);
        a.emitAbs32("gdtr.base = linear address of gdt", 0, "gdt", 0, 0, 0, 0);
        a.padTo(510, 0x00, "pad to 510 bytes");
        a.dw("boot signature 0xAA55 (lets QEMU's BIOS boot the same bytes)", 0xAA55);

        byte[] b = a.assemble();
        return new GuestImage("ab", LOAD_GPA, LOAD_GPA, b, a.insns());
    }
}
