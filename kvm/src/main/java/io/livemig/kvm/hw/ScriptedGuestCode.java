package io.livemig.kvm.hw;

import static io.livemig.kvm.hw.X86Asm.cat;
import static io.livemig.kvm.hw.X86Asm.le32;

/**
 * The KVM side of the scripted guest ({@link io.livemig.kvm.ScriptedGuest}): 32-bit code that waits for a command
 * in a mailbox, increments the byte at each listed guest-physical address, and reports completion on an I/O
 * port. Code, mailbox and address list live in a private scratch slot outside the RAM blocks (in the PCI hole at
 * {@link #SCRATCH_GPA}), so the only RAM bytes the guest writes are the ones it was told to: no bookkeeping pages,
 * and no command can overwrite the guest's own code. The vCPU starts directly in flat 32-bit protected mode at
 * {@link #SCRATCH_GPA} (the VMM loads the segment caches with KVM_SET_SREGS; the code never reloads a segment).
 *
 * <pre>
 * scratch slot:  +0x0000 code
 *                +0x1000 mailbox: u32 seq, u32 count, u32 list gpa   (written by the host, seq last)
 *                +0x2000 list: count x u32 guest-physical addresses
 * </pre>
 * The guest polls {@code seq}; when it changes, it processes the list and writes the new seq to
 * {@link #DONE_PORT} (32-bit OUT). Loads are not reordered with loads on x86, and the host publishes seq with a
 * release store after the list, so the guest always sees a complete list.
 */
public final class ScriptedGuestCode {
    /** Start of the scratch slot (inside the 3-4 GiB hole, below the TSS pages). */
    public static final long SCRATCH_GPA = 0xF000_0000L;
    public static final long SCRATCH_BYTES = 1L << 20;
    public static final long MAILBOX_OFFSET = 0x1000;
    public static final long LIST_OFFSET = 0x2000;
    /** Largest command: the list fills the rest of the scratch slot. */
    public static final int MAX_ADDRESSES = (int) ((SCRATCH_BYTES - LIST_OFFSET) / 4);
    /** The guest writes the finished command's seq here (an otherwise unused ISA port). */
    public static final int DONE_PORT = 0x05A0;

    private ScriptedGuestCode() {
    }

    public static GuestImage image() {
        long seq = SCRATCH_GPA + MAILBOX_OFFSET;
        long count = seq + 4;
        long list = seq + 8;
        X86Asm a = new X86Asm(SCRATCH_GPA);
        a.emit("xor ebp, ebp                 ; 31 /r, ModRM 11 101 101: last seq handled = 0", 0x31, 0xED);
        a.label("poll");
        a.emit("pause                        ; F3 90: spin-wait hint", 0xF3, 0x90);
        a.emit("mov eax, [mailbox.seq]       ; A1 moffs32", cat(new int[] {0xA1}, le32(seq)));
        a.emit("cmp eax, ebp                 ; 39 /r, ModRM 11 101(ebp) 000(eax)", 0x39, 0xE8);
        a.jcc8("je poll                      ; 74 cb: no new command", 0x74, "poll");
        a.emit("mov ebp, eax                 ; 89 /r, ModRM 11 000(eax) 101(ebp)", 0x89, 0xC5);
        a.emit("mov ecx, [mailbox.count]     ; 8B /r, ModRM 00 001 101 = disp32", cat(new int[] {0x8B, 0x0D}, le32(count)));
        a.emit("mov esi, [mailbox.list]      ; 8B /r, ModRM 00 110 101 = disp32", cat(new int[] {0x8B, 0x35}, le32(list)));
        a.label("next");
        a.emit("test ecx, ecx                ; 85 /r, ModRM 11 001 001", 0x85, 0xC9);
        a.jcc8("jz done                      ; 74 cb", 0x74, "done");
        a.emit("mov edi, [esi]               ; 8B /r, ModRM 00 111 110: next address", 0x8B, 0x3E);
        a.emit("inc byte [edi]               ; FE /0, ModRM 00 000 111", 0xFE, 0x07);
        a.emit("add esi, 4                   ; 83 /0 ib, ModRM 11 000 110", 0x83, 0xC6, 0x04);
        a.emit("dec ecx                      ; 48+rd (32-bit mode)", 0x49);
        a.jcc8("jmp short next               ; EB cb", 0xEB, "next");
        a.label("done");
        a.emit("mov eax, ebp                 ; 89 /r, ModRM 11 101(ebp) 000(eax)", 0x89, 0xE8);
        a.emit("mov dx, DONE_PORT            ; 66 BA iw", 0x66, 0xBA, DONE_PORT & 0xFF, DONE_PORT >>> 8);
        a.emit("out dx, eax                  ; EF: report seq done", 0xEF);
        a.jcc8("jmp short poll               ; EB cb", 0xEB, "poll");
        byte[] b = a.assemble();
        return new GuestImage("scripted", SCRATCH_GPA, SCRATCH_GPA, b, a.insns());
    }
}
