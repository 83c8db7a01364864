package io.livemig.engine.vmstate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;

/**
 * The {@code globalstate} section (spec 6.2): version 1, minimum 1, instance 0.
 *
 * <pre>
 *   be32 size (strlen(runstate) + 1) | 100-byte runstate buffer (name, NUL, rest)   = 104 bytes
 * </pre>
 * On load the buffer must hold a NUL within its 100 bytes and name a QEMU RunState; the destination
 * adopts that run state ("running" resumes the guest, "paused"/"prelaunch"/... leave it stopped).
 */
public final class GlobalStateSection {
    public static final String IDSTR = "globalstate";
    /** Section id QEMU gives it on x86 {@code -M none -nodefaults}. */
    public static final int QEMU_SECTION_ID = 4;
    public static final int RUNSTATE_BYTES = 100;

    /** QAPI RunState names of QEMU 7.2. */
    public static final Set<String> RUN_STATES = Set.of("debug", "inmigrate", "internal-error", "io-error", "paused",
            "postmigrate", "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown", "suspended",
            "watchdog", "guest-panicked", "colo");

    public static final VmStateDescription DESCRIPTION = VmStateDescription.builder("globalstate")
            .version(1).minimumVersion(1)
            .uint32("size")
            .buffer("runstate", RUNSTATE_BYTES)
            .postLoad((s, v) -> {
                String rs = runState(s);
                if (!RUN_STATES.contains(rs)) {
                    throw new IllegalArgumentException("runstate \"" + rs + "\" is not a QEMU RunState");
                }
            })
            .build();

    private GlobalStateSection() {
    }

    public static VmState state(String runState) {
        if (!RUN_STATES.contains(runState)) throw new IllegalArgumentException("runState=" + runState + ", expected one of " + RUN_STATES);
        byte[] name = runState.getBytes(StandardCharsets.US_ASCII);
        byte[] buf = Arrays.copyOf(name, RUNSTATE_BYTES);
        return new VmState().putLong("size", name.length + 1).put("runstate", buf);
    }

    /** The run state named in a loaded state; throws IllegalArgumentException when not NUL-terminated. */
    public static String runState(VmState s) {
        byte[] b = s.getBytes("runstate");
        int n = 0;
        while (n < b.length && b[n] != 0) n++;
        if (n == b.length) throw new IllegalArgumentException("runstate buffer has no NUL in " + b.length + " bytes");
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }
}
