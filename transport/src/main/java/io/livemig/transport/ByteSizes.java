package io.livemig.transport;

/** Byte sizes as QEMU's command lines write them: decimal or 0x hex, optional K/M/G/T (powers of 1024). */
public final class ByteSizes {
    private ByteSizes() {
    }

    /**
     * Parses {@code 64M}, {@code 0x100000}, {@code 1G}, {@code 268435456}.
     *
     * @throws NumberFormatException naming what is wrong (empty, negative, not a number, overflow)
     */
    public static long parse(String s) {
        if (s.isEmpty()) throw new NumberFormatException("empty size");
        long mult = switch (Character.toUpperCase(s.charAt(s.length() - 1))) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            default -> 1;
        };
        String digits = mult == 1 ? s : s.substring(0, s.length() - 1);
        long v = digits.startsWith("0x") || digits.startsWith("0X")
                ? Long.parseUnsignedLong(digits.substring(2), 16) : Long.parseLong(digits);
        if (v < 0) throw new NumberFormatException("negative size " + s);
        try {
            return Math.multiplyExact(v, mult);
        } catch (ArithmeticException e) {
            throw new NumberFormatException("size " + s + " does not fit in 64 bits");
        }
    }
}
