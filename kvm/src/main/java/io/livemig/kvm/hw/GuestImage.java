package io.livemig.kvm.hw;

import java.util.List;

/**
 * A guest program ready to be copied into guest RAM: its bytes, where they go, and where the vCPU starts.
 * The vCPU starts in 16-bit real mode with {@code CS = 0, IP = entryGpa} (flat), {@code DS = ES = SS = 0},
 * interrupts off, exactly like a boot sector the BIOS jumped to (so the same bytes boot under QEMU).
 *
 * @param name     {@code "ab"} or {@code "idle"}
 * @param loadGpa  guest-physical address of {@code bytes[0]}
 * @param entryGpa guest-physical address of the first instruction
 * @param bytes    the image (a copy is kept)
 * @param listing  the instructions, for tests and for {@code --guest ab --listing}-style debugging
 */
public record GuestImage(String name, long loadGpa, long entryGpa, byte[] bytes, List<X86Asm.Insn> listing) {
    public GuestImage {
        bytes = bytes.clone();
        listing = List.copyOf(listing);
        if (entryGpa < loadGpa || entryGpa >= loadGpa + bytes.length) {
            throw new IllegalArgumentException("entryGpa=0x" + Long.toHexString(entryGpa) + ", expected inside the image [0x"
                    + Long.toHexString(loadGpa) + ", 0x" + Long.toHexString(loadGpa + bytes.length) + ")");
        }
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** Bytes past the end of the image that the guest may touch; the VMM needs RAM up to here. */
    public long endGpa() {
        return loadGpa + bytes.length;
    }
}
