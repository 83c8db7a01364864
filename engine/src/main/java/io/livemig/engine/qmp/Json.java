package io.livemig.engine.qmp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON QMP speaks, strictly (RFC 8259; no comments, no trailing commas, no single quotes).
 *
 * <p>Values map to Java as: object = {@code LinkedHashMap<String,Object>} (member order kept), array =
 * {@code List<Object>}, string = {@link String}, integer = {@link Long}, other number = {@link Double},
 * true/false = {@link Boolean}, null = {@code null}. {@link #write} prints in QEMU's spacing
 * ({@code {"a": 1, "b": [1, 2]}}), so replies compare byte for byte with QEMU's.
 */
public final class Json {
    /** Deepest nesting accepted (QEMU's limit is 1024). */
    static final int MAX_DEPTH = 1024;

    private Json() {
    }

    /** A JSON text that is not valid; the message is QEMU's ({@code JSON parse error, ...}). */
    public static final class ParseException extends Exception {
        public ParseException(String message) {
            super(message);
        }
    }

    /** Parses one complete JSON value; anything but whitespace after it is an error. */
    public static Object parse(String text) throws ParseException {
        Parser p = new Parser(text);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos < text.length()) throw p.error("expecting end of input, got '" + text.charAt(p.pos) + "'");
        return v;
    }

    /** Parses and requires an object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) throws ParseException {
        Object v = parse(text);
        if (!(v instanceof Map)) throw new ParseException("JSON parse error, expected an object");
        return (Map<String, Object>) v;
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) {
            this.s = s;
        }

        ParseException error(String what) {
            return new ParseException("JSON parse error, " + what);
        }

        void skipWs() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') pos++;
                else break;
            }
        }

        Object value(int depth) throws ParseException {
            if (depth > MAX_DEPTH) throw error("too many nested data structures");
            if (pos >= s.length()) throw error("expecting value");
            char c = s.charAt(pos);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> number();
                default -> {
                    if (Character.isLetter(c)) yield keyword();
                    throw error("stray '" + c + "'");
                }
            };
        }

        Object keyword() throws ParseException {
            int start = pos;
            while (pos < s.length() && Character.isLetterOrDigit(s.charAt(pos))) pos++;
            String w = s.substring(start, pos);
            return switch (w) {
                case "true" -> Boolean.TRUE;
                case "false" -> Boolean.FALSE;
                case "null" -> null;
                default -> throw error("invalid keyword '" + w + "'");
            };
        }

        Map<String, Object> object(int depth) throws ParseException {
            pos++; // {
            Map<String, Object> m = new LinkedHashMap<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipWs();
                if (pos >= s.length()) throw error("expecting value");
                if (s.charAt(pos) != '"') {
                    // QEMU's lexer reports a bad word before the parser sees a non-string key.
                    if (Character.isLetter(s.charAt(pos))) keyword();
                    throw error("key is not a string in object");
                }
                String key = string();
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != ':') throw error("missing : in object pair");
                pos++;
                skipWs();
                Object v = value(depth);
                if (m.containsKey(key)) throw error("duplicate key '" + key + "'");
                m.put(key, v);
                skipWs();
                if (pos >= s.length()) throw error("expected separator in dict");
                char c = s.charAt(pos++);
                if (c == '}') return m;
                if (c != ',') throw error("expected separator in dict");
            }
        }

        List<Object> array(int depth) throws ParseException {
            pos++; // [
            List<Object> l = new ArrayList<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return l;
            }
            while (true) {
                skipWs();
                l.add(value(depth));
                skipWs();
                if (pos >= s.length()) throw error("expected separator in list");
                char c = s.charAt(pos++);
                if (c == ']') return l;
                if (c != ',') throw error("expected separator in list");
            }
        }

        String string() throws ParseException {
            pos++; // "
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length()) throw error("missing closing quote in string");
                char c = s.charAt(pos++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw error("control character in string");
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (pos >= s.length()) throw error("invalid escape sequence in string");
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) throw error("invalid escape sequence in string");
                        try {
                            b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("invalid hex escape sequence in string");
                        }
                        pos += 4;
                    }
                    default -> throw error("invalid escape sequence in string");
                }
            }
        }

        Object number() throws ParseException {
            int start = pos;
            if (s.charAt(pos) == '-') pos++;
            int intStart = pos;
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
            if (pos == intStart) throw error("expecting value");
            if (pos - intStart > 1 && s.charAt(intStart) == '0') throw error("invalid number (leading zero)");
            boolean integral = true;
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                int f = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                if (pos == f) throw error("invalid number (no digits after '.')");
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
                int f = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                if (pos == f) throw error("invalid number (no digits in exponent)");
            }
            String t = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(t);
                } catch (NumberFormatException e) {
                    // Beyond int64: QEMU keeps it as a double too.
                }
            }
            return Double.parseDouble(t);
        }
    }

    /** Prints {@code v} in QEMU's spacing. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v) {
        switch (v) {
            case null -> b.append("null");
            case String s -> writeString(b, s);
            case Boolean bo -> b.append(bo);
            case Long l -> b.append(l);
            case Integer i -> b.append(i);
            case Short sh -> b.append(sh);
            case Byte by -> b.append(by);
            case Double d -> b.append(Double.isFinite(d) ? (d == Math.rint(d) && Math.abs(d) < 1e15
                    ? String.valueOf(d.longValue()) + ".0" : d.toString()) : "null");
            case Float f -> write(b, f.doubleValue());
            case Number n -> b.append(n);
            case Map<?, ?> m -> {
                b.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) b.append(", ");
                    first = false;
                    writeString(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue());
                }
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) b.append(", ");
                    write(b, l.get(i));
                }
                b.append(']');
            }
            case Enum<?> e -> writeString(b, e.toString());
            default -> throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
        }
    }

    private static void writeString(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    // QEMU escapes control characters and everything outside printable ASCII.
                    if (c < 0x20 || c >= 0x7f) b.append(String.format("\\u%04X", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }

    /** Builds an ordered object from alternating keys and values: {@code obj("status", "running", ...)}. */
    public static Map<String, Object> obj(Object... kv) {
        if (kv.length % 2 != 0) throw new IllegalArgumentException("odd number of key/value arguments");
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }
}
