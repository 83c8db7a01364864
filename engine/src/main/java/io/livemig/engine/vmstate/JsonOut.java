package io.livemig.engine.vmstate;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A streaming JSON writer that formats exactly like QEMU's {@code JSONWriter} (non-pretty):
 * {@code ", "} between members and {@code ": "} after keys, so a vmdesc we generate is byte-identical
 * to QEMU's for the same sections.
 */
public final class JsonOut {
    private final StringBuilder sb = new StringBuilder();
    private final Deque<Boolean> first = new ArrayDeque<>();

    private void member(String key) {
        if (!first.isEmpty()) {
            if (!first.peek()) sb.append(", ");
            first.pop();
            first.push(false);
        }
        if (key != null) {
            quote(key);
            sb.append(": ");
        }
    }

    public JsonOut startObject(String key) {
        member(key);
        sb.append('{');
        first.push(true);
        return this;
    }

    public JsonOut endObject() {
        first.pop();
        sb.append('}');
        return this;
    }

    public JsonOut startArray(String key) {
        member(key);
        sb.append('[');
        first.push(true);
        return this;
    }

    public JsonOut endArray() {
        first.pop();
        sb.append(']');
        return this;
    }

    public JsonOut str(String key, String value) {
        member(key);
        quote(value);
        return this;
    }

    public JsonOut num(String key, long value) {
        member(key);
        sb.append(value);
        return this;
    }

    public JsonOut bool(String key, boolean value) {
        member(key);
        sb.append(value);
        return this;
    }

    private void quote(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04X", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    @Override
    public String toString() {
        return sb.toString();
    }
}
