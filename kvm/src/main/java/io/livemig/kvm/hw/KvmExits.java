package io.livemig.kvm.hw;

import io.livemig.sys.abi.KvmH;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;

/** Names of KVM exit reasons for error messages, read from the generated {@link KvmH} constants. */
public final class KvmExits {
    private static final Map<Integer, String> NAMES = new HashMap<>();

    static {
        for (Field f : KvmH.class.getFields()) {
            if (f.getName().startsWith("KVM_EXIT_") && f.getType() == int.class && Modifier.isStatic(f.getModifiers())
                    && !f.getName().startsWith("KVM_EXIT_IO_")) {
                try {
                    NAMES.putIfAbsent(f.getInt(null), f.getName());
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }

    private KvmExits() {
    }

    /** {@code KVM_EXIT_SHUTDOWN(8)}; {@code KVM_EXIT_?(n)} for a reason this header does not know. */
    public static String name(int exitReason) {
        return NAMES.getOrDefault(exitReason, "KVM_EXIT_?") + "(" + exitReason + ")";
    }
}
