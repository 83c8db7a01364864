package io.livemig.engine.vmstate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The values of one vmstate instance, by field name: {@code Long} for integers (signed widths
 * sign-extended, unsigned ones zero-extended, uint64 as the raw 64 bits), {@code Boolean}, {@code byte[]}
 * for buffers, {@code List<Object>} for arrays, {@code VmState} for nested structs and for subsections
 * (keyed by the subsection's full name). Unused fields have no value.
 */
public final class VmState {
    private final Map<String, Object> values = new LinkedHashMap<>();

    public VmState put(String field, Object value) {
        values.put(field, value);
        return this;
    }

    public VmState putLong(String field, long value) {
        return put(field, value);
    }

    public boolean has(String field) {
        return values.containsKey(field);
    }

    public Object get(String field) {
        return values.get(field);
    }

    public long getLong(String field) {
        Object v = values.get(field);
        if (v instanceof Long l) return l;
        if (v instanceof Integer i) return i;
        throw new IllegalStateException("field " + field + " is " + v + ", expected an integer");
    }

    public boolean getBool(String field) {
        Object v = values.get(field);
        if (v instanceof Boolean b) return b;
        throw new IllegalStateException("field " + field + " is " + v + ", expected a bool");
    }

    public byte[] getBytes(String field) {
        Object v = values.get(field);
        if (v instanceof byte[] b) return b;
        throw new IllegalStateException("field " + field + " is " + v + ", expected a buffer");
    }

    @SuppressWarnings("unchecked")
    public List<Object> getList(String field) {
        Object v = values.get(field);
        if (v instanceof List<?> l) return (List<Object>) l;
        throw new IllegalStateException("field " + field + " is " + v + ", expected an array");
    }

    public VmState getStruct(String field) {
        Object v = values.get(field);
        if (v instanceof VmState s) return s;
        throw new IllegalStateException("field " + field + " is " + v + ", expected a struct");
    }

    public Map<String, Object> asMap() {
        return values;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        values.forEach((k, v) -> {
            if (sb.length() > 1) sb.append(", ");
            sb.append(k).append('=');
            if (v instanceof byte[] b) sb.append(b.length).append(" bytes");
            else sb.append(v);
        });
        return sb.append('}').toString();
    }
}
