package io.livemig.engine.qmp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The QAPI types command arguments are checked against, with QEMU's input-visitor messages:
 * {@code Parameter 'uri' is missing}, {@code Parameter 'foo' is unexpected},
 * {@code Invalid parameter type for 'val', expected: integer},
 * {@code Parameter 'capability' does not accept value 'nope'}. Nested names read
 * {@code capabilities[0].state}, as QEMU writes them.
 */
public sealed interface QmpType {

    /** Checks {@code value} (present, non-null) at {@code path}; returns it, normalised (e.g. int to Long). */
    Object check(String path, String leaf, Object value) throws QmpError;

    QmpType STR = (Scalar) (path, leaf, v) -> {
        if (!(v instanceof String)) throw typeError(path, "string");
        return v;
    };
    QmpType INT = (Scalar) (path, leaf, v) -> {
        if (!(v instanceof Long)) throw typeError(path, "integer");
        return v;
    };
    /** uint64 'size' in QAPI: a non-negative integer. */
    QmpType SIZE = (Scalar) (path, leaf, v) -> {
        if (!(v instanceof Long l) || l < 0) throw typeError(path, "size");
        return v;
    };
    QmpType BOOL = (Scalar) (path, leaf, v) -> {
        if (!(v instanceof Boolean)) throw typeError(path, "boolean");
        return v;
    };
    QmpType NUMBER = (Scalar) (path, leaf, v) -> {
        if (v instanceof Long l) return l.doubleValue();
        if (!(v instanceof Double)) throw typeError(path, "number");
        return v;
    };
    QmpType ANY = (Scalar) (path, leaf, v) -> v;

    private static QmpError typeError(String path, String expected) {
        return QmpError.generic("Invalid parameter type for '" + path + "', expected: " + expected);
    }

    /** A leaf type checked by a function. */
    @FunctionalInterface
    non-sealed interface Scalar extends QmpType {
    }

    /** A QAPI enum: a string from a fixed set. */
    record Enum(String typeName, List<String> values) implements QmpType {
        @Override
        public Object check(String path, String leaf, Object v) throws QmpError {
            if (!(v instanceof String s)) throw typeError(path, typeName);
            if (!values.contains(s)) {
                throw QmpError.generic("Parameter '" + leaf + "' does not accept value '" + s + "'");
            }
            return s;
        }
    }

    /** A list of {@code element}. */
    record Array(QmpType element) implements QmpType {
        @Override
        public Object check(String path, String leaf, Object v) throws QmpError {
            if (!(v instanceof List<?> l)) throw typeError(path, "array");
            List<Object> out = new ArrayList<>(l.size());
            for (int i = 0; i < l.size(); i++) {
                String p = path + "[" + i + "]";
                Object e = l.get(i);
                if (e == null) throw typeError(p, element instanceof Struct ? "object" : "value");
                out.add(element.check(p, leaf, e));
            }
            return out;
        }
    }

    /** A field of a {@link Struct}; {@code optional} ones may be absent. */
    record Field(String name, QmpType type, boolean optional) {
        public static Field req(String name, QmpType type) {
            return new Field(name, type, false);
        }

        public static Field opt(String name, QmpType type) {
            return new Field(name, type, true);
        }
    }

    /** A QAPI struct (also a command's argument list). Unknown members are rejected. */
    record Struct(List<Field> fields) implements QmpType {
        public static Struct of(Field... fields) {
            return new Struct(List.of(fields));
        }

        public static final Struct EMPTY = new Struct(List.of());

        @Override
        public Map<String, Object> check(String path, String leaf, Object v) throws QmpError {
            if (!(v instanceof Map<?, ?> m)) throw typeError(path, "object");
            String prefix = path.isEmpty() ? "" : path + ".";
            Map<String, Object> out = new LinkedHashMap<>();
            for (Field f : fields) {
                Object val = m.get(f.name());
                if (val == null) {
                    if (!f.optional()) throw QmpError.generic("Parameter '" + prefix + f.name() + "' is missing");
                    continue;
                }
                out.put(f.name(), f.type().check(prefix + f.name(), f.name(), val));
            }
            for (Object key : m.keySet()) {
                if (fields.stream().noneMatch(f -> f.name().equals(key))) {
                    throw QmpError.generic("Parameter '" + prefix + key + "' is unexpected");
                }
            }
            return out;
        }
    }
}
