package io.livemig.engine.stream;

/**
 * A {@code QEMU_VM_COMMAND} record (spec 4.1).
 *
 * <pre>
 *   +----+----------+----------+------------------+
 *   | 08 | be16 cmd | be16 len | payload (len)    |
 *   +----+----------+----------+------------------+
 * </pre>
 * PACKAGED's embedded stream (be32 N, then N bytes) follows outside the length.
 */
public record MigCommand(int cmd, byte[] payload) {
    public static final int OPEN_RETURN_PATH = 1;
    public static final int PING = 2;
    public static final int POSTCOPY_ADVISE = 3;
    public static final int POSTCOPY_LISTEN = 4;
    public static final int POSTCOPY_RUN = 5;
    public static final int POSTCOPY_RAM_DISCARD = 6;
    public static final int PACKAGED = 7;
    public static final int ENABLE_COLO = 8;
    public static final int POSTCOPY_RESUME = 9;
    public static final int RECV_BITMAP = 10;
    /** First invalid value (7.2 rejects cmd 0 and cmd >= 11). */
    public static final int MAX = 11;

    private static final String[] NAMES = {"INVALID", "OPEN_RETURN_PATH", "PING", "POSTCOPY_ADVISE",
        "POSTCOPY_LISTEN", "POSTCOPY_RUN", "POSTCOPY_RAM_DISCARD", "PACKAGED", "ENABLE_COLO", "POSTCOPY_RESUME",
        "RECV_BITMAP"};

    public static String name(int cmd) {
        return cmd >= 0 && cmd < NAMES.length ? NAMES[cmd] : "UNKNOWN(" + cmd + ")";
    }

    /** Fixed payload length of {@code cmd}, or -1 when variable (ADVISE is 0 or 16, checked apart). */
    public static int fixedLength(int cmd) {
        return switch (cmd) {
            case OPEN_RETURN_PATH, POSTCOPY_LISTEN, POSTCOPY_RUN, ENABLE_COLO, POSTCOPY_RESUME -> 0;
            case PING, PACKAGED -> 4;
            default -> -1;
        };
    }

    public static MigCommand ping(int value) {
        return new MigCommand(PING, new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    public static MigCommand of(int cmd) {
        return new MigCommand(cmd, new byte[0]);
    }

    public void write(StreamWriter w) {
        w.u8(SectionType.COMMAND.code());
        w.be16(cmd);
        w.be16(payload.length);
        w.bytes(payload);
    }

    /** Reads a command after its 0x08 type byte and checks cmd and length as 7.2 does. */
    public static MigCommand readAfterType(StreamReader r) {
        long at = r.position();
        int cmd = r.be16("command.cmd");
        if (cmd == 0 || cmd >= MAX) {
            throw new StreamFormatException("command.cmd", cmd, "1..10", at);
        }
        long lenAt = r.position();
        int len = r.be16("command.len");
        int fixed = fixedLength(cmd);
        if (fixed >= 0 && len != fixed) {
            throw new StreamFormatException("command.len", len, fixed + " for " + name(cmd), lenAt);
        }
        if (cmd == POSTCOPY_ADVISE && len != 0 && len != 16) {
            throw new StreamFormatException("command.len", len, "0 or 16 for POSTCOPY_ADVISE", lenAt);
        }
        return new MigCommand(cmd, r.bytes(len, "command.payload"));
    }

    /** The be32 value of a 4-byte payload (PING, PACKAGED). */
    public int be32Payload() {
        return ((payload[0] & 0xFF) << 24) | ((payload[1] & 0xFF) << 16) | ((payload[2] & 0xFF) << 8) | (payload[3] & 0xFF);
    }
}
