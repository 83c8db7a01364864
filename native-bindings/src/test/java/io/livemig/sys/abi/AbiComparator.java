package io.livemig.sys.abi;

import io.livemig.sys.Ioctl;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Compares the probe's {@code check} output ({@code Class.NAME value} lines) with the values the compiled Java
 * classes hold. Keys are {@code KvmH.KVM_RUN}, {@code KvmH.kvm_regs.rip}, ...; ioctls compare as
 * {@link Ioctl#code()}.
 */
final class AbiComparator {
    private AbiComparator() {
    }

    /** Parses {@code name value} lines; a malformed or duplicate line is an error naming its line number. */
    static Map<String, Long> parse(List<String> lines) {
        Map<String, Long> values = new TreeMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String[] parts = line.split(" ");
            if (parts.length != 2) {
                throw new IllegalArgumentException("probe line " + (i + 1) + ": '" + line + "', expected 'name value'");
            }
            long value;
            try {
                value = Long.parseLong(parts[1]);
            } catch (NumberFormatException e) {
                value = Long.parseUnsignedLong(parts[1]);
            }
            if (values.put(parts[0], value) != null) {
                throw new IllegalArgumentException("probe line " + (i + 1) + ": duplicate name " + parts[0]);
            }
        }
        return values;
    }

    /** Every public static final int, long and Ioctl field of {@code cls} and its nested classes. */
    static Map<String, Long> javaValues(Class<?> cls) {
        Map<String, Long> values = new TreeMap<>();
        collect(cls, cls.getSimpleName(), values);
        return values;
    }

    private static void collect(Class<?> cls, String prefix, Map<String, Long> out) {
        for (Field f : cls.getDeclaredFields()) {
            int m = f.getModifiers();
            if (!Modifier.isPublic(m) || !Modifier.isStatic(m) || !Modifier.isFinal(m)) continue;
            try {
                Object v = f.get(null);
                long value;
                if (v instanceof Integer i) value = i;
                else if (v instanceof Long l) value = l;
                else if (v instanceof Ioctl io) value = io.code();
                else throw new IllegalStateException(prefix + "." + f.getName() + " has unexpected type " + f.getType());
                out.put(prefix + "." + f.getName(), value);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        for (Class<?> nested : cls.getDeclaredClasses()) {
            if (Modifier.isPublic(nested.getModifiers())) collect(nested, prefix + "." + nested.getSimpleName(), out);
        }
    }

    /**
     * All differences between C and Java, one line each. Classes in {@code partial} are checked only for the
     * names C printed (hand-written classes that run ahead of the headers); for all others a Java field C did
     * not print is a difference too.
     */
    static List<String> compare(Map<String, Long> c, Map<String, Long> java, Set<String> partial) {
        List<String> diffs = new ArrayList<>();
        for (Map.Entry<String, Long> e : c.entrySet()) {
            Long j = java.get(e.getKey());
            if (j == null) {
                diffs.add(e.getKey() + ": in the C probe (" + e.getValue() + ") but not in Java (re-run generate.sh)");
            } else if (!j.equals(e.getValue())) {
                diffs.add(e.getKey() + ": Java " + j + " (0x" + Long.toHexString(j) + "), C " + e.getValue()
                        + " (0x" + Long.toHexString(e.getValue()) + ")");
            }
        }
        for (Map.Entry<String, Long> e : java.entrySet()) {
            String cls = e.getKey().substring(0, e.getKey().indexOf('.'));
            if (!c.containsKey(e.getKey()) && !partial.contains(cls)) {
                diffs.add(e.getKey() + ": in Java (" + e.getValue() + ") but not printed by the C probe");
            }
        }
        return diffs;
    }
}
