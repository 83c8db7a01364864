package io.livemig.engine.ram;

/**
 * RAM section records (spec 2): descriptor of the be64 record header and its flag bits.
 *
 * <pre>
 * every record:  be64 = (offset or size, 4 KiB aligned) | flags (low 12 bits)
 *   MEM_SIZE 0x004: be64 total|0x04, then until the lengths add up to total:
 *                   u8 n, block idstr (n), be64 used_length
 *   page kinds, optionally | CONTINUE 0x020 (block name omitted):
 *   +-------------------------------+--------------------+------------------------------+
 *   | be64 offset | kind [| 0x20]  | [u8 n, block name] | payload                      |
 *   +-------------------------------+--------------------+------------------------------+
 *     ZERO          0x002  u8 fill
 *     PAGE          0x008  4096 raw bytes
 *     XBZRLE        0x040  u8 encoding (0x01), be16 len (<= 4096), len bytes of delta
 *     COMPRESS_PAGE 0x100  be32 len (<= 4110), one zlib stream inflating to 4096 bytes
 *   EOS 0x010: be64 0x10, ends the section body
 * </pre>
 */
public final class RamRecord {
    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_BITS = 12;
    public static final long FLAGS_MASK = PAGE_SIZE - 1;

    public static final int FLAG_FULL = 0x001;
    public static final int FLAG_ZERO = 0x002;
    public static final int FLAG_MEM_SIZE = 0x004;
    public static final int FLAG_PAGE = 0x008;
    public static final int FLAG_EOS = 0x010;
    public static final int FLAG_CONTINUE = 0x020;
    public static final int FLAG_XBZRLE = 0x040;
    public static final int FLAG_HOOK = 0x080;
    public static final int FLAG_COMPRESS_PAGE = 0x100;

    public static final int XBZRLE_ENCODING = 0x01;
    /** compressBound(4096) of zlib. */
    public static final int COMPRESS_MAX_LEN = 4110;

    /** Section identity as QEMU registers it. */
    public static final String IDSTR = "ram";
    public static final int VERSION = 4;

    private RamRecord() {
    }

    /** Record kinds as counted by the analyzer and the loader statistics. */
    public enum Kind {
        MEM_SIZE(FLAG_MEM_SIZE), ZERO(FLAG_ZERO), PAGE(FLAG_PAGE), XBZRLE(FLAG_XBZRLE),
        COMPRESS_PAGE(FLAG_COMPRESS_PAGE), EOS(FLAG_EOS);

        private final int flag;

        Kind(int flag) {
            this.flag = flag;
        }

        public int flag() {
            return flag;
        }
    }
}
