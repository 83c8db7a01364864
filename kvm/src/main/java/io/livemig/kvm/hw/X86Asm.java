package io.livemig.kvm.hw;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deliberately tiny x86 "assembler": the caller writes each instruction's encoding by hand (with the
 * Intel SDM mnemonic as its comment); this class only lays the bytes out, resolves labels (rel8 jumps,
 * absolute 16/32-bit addresses relative to the load address) and keeps a listing, so tests can check the
 * image instruction by instruction and {@link #listing()} reads like an assembler's .lst file.
 *
 * <p>Why not a real assembler: the guests are ~30 instructions; hand-encoding with a listing keeps the
 * bytes reviewable and avoids a build-time dependency on GNU as/nasm (the tests cross-check the bytes
 * with objdump where it is installed).
 */
public final class X86Asm {

    /** One emitted instruction (or data item): where it is, its bytes, and what it means. */
    public record Insn(int offset, byte[] bytes, String text) {
        /** Bytes as {@code "0F 01 16 2C 7C"}. */
        public String hex() {
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) {
                if (!sb.isEmpty()) sb.append(' ');
                sb.append(String.format("%02X", b & 0xFF));
            }
            return sb.toString();
        }
    }

    private enum FixupKind { REL8, ABS16, ABS32 }

    private record Fixup(int at, FixupKind kind, String label, int nextInsnOffset) {
    }

    private final long origin;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final List<Insn> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();
    private boolean finished;

    /** @param origin guest-physical address the image is loaded at (labels resolve against it) */
    public X86Asm(long origin) {
        this.origin = origin;
    }

    public long origin() {
        return origin;
    }

    /** Current offset from the origin. */
    public int here() {
        return out.size();
    }

    /** Defines {@code name} at the current offset. */
    public X86Asm label(String name) {
        if (labels.putIfAbsent(name, out.size()) != null) throw new IllegalStateException("label '" + name + "' defined twice");
        return this;
    }

    /** One instruction whose bytes are complete. */
    public X86Asm emit(String text, int... bytes) {
        return emitWithFixup(text, bytes, -1, null, null);
    }

    /**
     * A short jump/jcc: {@code opcode rel8} to {@code label}, e.g. {@code jcc8("jb zero", 0x72, "zero")}.
     */
    public X86Asm jcc8(String text, int opcode, String label) {
        return emitWithFixup(text, new int[] {opcode, 0}, 1, FixupKind.REL8, label);
    }

    /**
     * An instruction with a 16-bit absolute address of {@code label} (origin + offset) at byte
     * {@code fixupIndex} of {@code bytes} (whose two bytes there are placeholders).
     */
    public X86Asm emitAbs16(String text, int fixupIndex, String label, int... bytes) {
        return emitWithFixup(text, bytes, fixupIndex, FixupKind.ABS16, label);
    }

    /** As {@link #emitAbs16} with a 32-bit absolute address. */
    public X86Asm emitAbs32(String text, int fixupIndex, String label, int... bytes) {
        return emitWithFixup(text, bytes, fixupIndex, FixupKind.ABS32, label);
    }

    /** Pads with {@code fill} up to offset {@code target} (an alignment or a fixed position). */
    public X86Asm padTo(int target, int fill, String text) {
        int n = target - out.size();
        if (n < 0) throw new IllegalStateException("image already " + out.size() + " bytes, cannot pad to " + target);
        if (n == 0) return this;
        int[] b = new int[n];
        java.util.Arrays.fill(b, fill);
        return emit(text, b);
    }

    /** Pads to the next multiple of {@code alignment}. */
    public X86Asm align(int alignment, int fill) {
        int target = (out.size() + alignment - 1) / alignment * alignment;
        return padTo(target, fill, "align " + alignment);
    }

    /** A little-endian 16-bit data word. */
    public X86Asm dw(String text, int value) {
        return emit(text, value & 0xFF, (value >>> 8) & 0xFF);
    }

    /** A little-endian 32-bit data word. */
    public X86Asm dd(String text, long value) {
        return emit(text, le32(value));
    }

    /** A little-endian 64-bit data word. */
    public X86Asm dq(String text, long value) {
        int[] b = new int[8];
        for (int i = 0; i < 8; i++) b[i] = (int) (value >>> (8 * i)) & 0xFF;
        return emit(text, b);
    }

    /** Little-endian bytes of a 32-bit immediate, for building instructions. */
    public static int[] le32(long value) {
        return new int[] {(int) value & 0xFF, (int) (value >>> 8) & 0xFF, (int) (value >>> 16) & 0xFF,
                (int) (value >>> 24) & 0xFF};
    }

    /** Concatenates byte lists (opcode bytes followed by an immediate, say). */
    public static int[] cat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] r = new int[n];
        int i = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, r, i, p.length);
            i += p.length;
        }
        return r;
    }

    /** Resolves every label reference; the assembler is read-only afterwards. */
    public byte[] assemble() {
        if (!finished) {
            byte[] img = out.toByteArray();
            for (Fixup f : fixups) {
                Integer target = labels.get(f.label());
                if (target == null) throw new IllegalStateException("undefined label '" + f.label() + "'");
                switch (f.kind()) {
                    case REL8 -> {
                        int rel = target - f.nextInsnOffset();
                        if (rel < -128 || rel > 127) {
                            throw new IllegalStateException("jump to '" + f.label() + "' is " + rel + " bytes, expected -128..127");
                        }
                        img[f.at()] = (byte) rel;
                    }
                    case ABS16 -> {
                        long a = origin + target;
                        if (a > 0xFFFF) throw new IllegalStateException("address of '" + f.label() + "' 0x" + Long.toHexString(a) + " does not fit 16 bits");
                        img[f.at()] = (byte) a;
                        img[f.at() + 1] = (byte) (a >>> 8);
                    }
                    case ABS32 -> {
                        long a = origin + target;
                        for (int i = 0; i < 4; i++) img[f.at() + i] = (byte) (a >>> (8 * i));
                    }
                }
            }
            // Rewrite the listing with resolved bytes.
            for (int i = 0; i < insns.size(); i++) {
                Insn in = insns.get(i);
                byte[] b = java.util.Arrays.copyOfRange(img, in.offset(), in.offset() + in.bytes().length);
                insns.set(i, new Insn(in.offset(), b, in.text()));
            }
            out.reset();
            out.writeBytes(img);
            finished = true;
        }
        return out.toByteArray();
    }

    /** The instructions in order, with resolved bytes (call {@link #assemble()} first). */
    public List<Insn> insns() {
        if (!finished) throw new IllegalStateException("assemble() first");
        return List.copyOf(insns);
    }

    /** Offset of a label from the origin. */
    public int offsetOf(String label) {
        Integer o = labels.get(label);
        if (o == null) throw new IllegalArgumentException("no label '" + label + "'");
        return o;
    }

    /** An assembler-style listing: address, bytes, text; one line per instruction. */
    public String listing() {
        StringBuilder sb = new StringBuilder();
        Map<Integer, List<String>> byOffset = new HashMap<>();
        labels.forEach((n, o) -> byOffset.computeIfAbsent(o, k -> new ArrayList<>()).add(n));
        for (Insn in : insns()) {
            for (String l : byOffset.getOrDefault(in.offset(), List.of())) sb.append(l).append(":\n");
            String hex = in.hex();
            if (hex.length() > 26) hex = hex.substring(0, 23) + "...";
            sb.append(String.format("  %08X  %-26s %s%n", origin + in.offset(), hex, in.text()));
        }
        return sb.toString();
    }

    private X86Asm emitWithFixup(String text, int[] bytes, int fixupIndex, FixupKind kind, String label) {
        if (finished) throw new IllegalStateException("already assembled");
        int start = out.size();
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] < 0 || bytes[i] > 0xFF) throw new IllegalArgumentException("byte " + i + " of '" + text + "' = " + bytes[i]);
            b[i] = (byte) bytes[i];
        }
        out.writeBytes(b);
        insns.add(new Insn(start, b, text));
        if (kind != null) fixups.add(new Fixup(start + fixupIndex, kind, label, start + bytes.length));
        return this;
    }
}
