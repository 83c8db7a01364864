package io.livemig.sys;

/**
 * One ioctl request: its kernel name and its code, computed from the {@code _IOC(dir, type, nr, size)}
 * encoding of {@code asm-generic/ioctl.h} with the argument layout's byte size, never typed by hand.
 *
 * <pre>
 *  31 30 29            16 15      8 7       0
 * +-----+----------------+---------+---------+
 * | dir |      size      |  type   |   nr    |
 * +-----+----------------+---------+---------+
 *  dir: 0 none, 1 write (user to kernel), 2 read (kernel to user), 3 both
 * </pre>
 *
 * @param name the kernel's macro name, used in error messages
 * @param code the request number passed to {@code ioctl(2)}
 */
public record Ioctl(String name, long code) {
    private static final int NR_BITS = 8;
    private static final int TYPE_BITS = 8;
    private static final int SIZE_BITS = 14;
    private static final int NR_SHIFT = 0;
    private static final int TYPE_SHIFT = NR_SHIFT + NR_BITS;
    private static final int SIZE_SHIFT = TYPE_SHIFT + TYPE_BITS;
    private static final int DIR_SHIFT = SIZE_SHIFT + SIZE_BITS;
    public static final int DIR_NONE = 0;
    public static final int DIR_WRITE = 1;
    public static final int DIR_READ = 2;

    /** {@code _IOC(dir, type, nr, size)}; rejects values that do not fit their bit fields. */
    public static long ioc(int dir, int type, int nr, long size) {
        if (dir < 0 || dir > 3) throw new IllegalArgumentException("ioctl dir=" + dir + ", expected 0..3");
        if (type < 0 || type >= 1 << TYPE_BITS) throw new IllegalArgumentException("ioctl type=" + type + ", expected 0..255");
        if (nr < 0 || nr >= 1 << NR_BITS) throw new IllegalArgumentException("ioctl nr=" + nr + ", expected 0..255");
        if (size < 0 || size >= 1 << SIZE_BITS) throw new IllegalArgumentException("ioctl size=" + size + ", expected < 16384");
        return ((long) dir << DIR_SHIFT) | ((long) type << TYPE_SHIFT) | ((long) nr << NR_SHIFT) | (size << SIZE_SHIFT);
    }

    /** {@code _IO(type, nr)}. */
    public static Ioctl io(String name, int type, int nr) {
        return new Ioctl(name, ioc(DIR_NONE, type, nr, 0));
    }

    /** {@code _IOR(type, nr, T)}: the kernel writes {@code size} bytes to user space. */
    public static Ioctl ior(String name, int type, int nr, long size) {
        return new Ioctl(name, ioc(DIR_READ, type, nr, size));
    }

    /** {@code _IOW(type, nr, T)}: the kernel reads {@code size} bytes from user space. */
    public static Ioctl iow(String name, int type, int nr, long size) {
        return new Ioctl(name, ioc(DIR_WRITE, type, nr, size));
    }

    /** {@code _IOWR(type, nr, T)}. */
    public static Ioctl iowr(String name, int type, int nr, long size) {
        return new Ioctl(name, ioc(DIR_READ | DIR_WRITE, type, nr, size));
    }

    @Override
    public String toString() {
        return name + "(0x" + Long.toHexString(code) + ")";
    }
}
