package io.livemig.kvm.hw;

/**
 * The idle guest: halts forever with interrupts off ({@code cli; hlt; jmp back to hlt}). Writes no RAM and
 * no port; with the in-kernel LAPIC KVM keeps the halted vCPU inside KVM_RUN, so pausing it exercises the
 * kick path (signal while blocked in kvm_vcpu_block).
 */
public final class IdleGuest {
    /** Where a boot sector runs (the BIOS convention the A-B guest also follows). */
    public static final long LOAD_GPA = 0x7C00;

    private IdleGuest() {
    }

    public static GuestImage image() {
        X86Asm a = new X86Asm(LOAD_GPA);
        a.emit("cli                      ; no interrupts ever (none are injected anyway)", 0xFA);
        a.label("halt");
        a.emit("hlt                      ; wait for an interrupt that never comes", 0xF4);
        a.jcc8("jmp short halt           ; an NMI or spurious wake-up halts again", 0xEB, "halt");
        byte[] b = a.assemble();
        return new GuestImage("idle", LOAD_GPA, LOAD_GPA, b, a.insns());
    }
}
