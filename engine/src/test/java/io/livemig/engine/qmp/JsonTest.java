package io.livemig.engine.qmp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.StringReader;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTest {

    @Test
    void writesInQemuSpacing() {
        Map<String, Object> m = Json.obj("return", Json.obj("status", "running", "singlestep", false, "running", true),
                "id", 7L);
        assertEquals("{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 7}",
                Json.write(m));
        assertEquals("[1, \"a\", null, [], {}]", Json.write(java.util.Arrays.asList(1L, "a", null, List.of(), Map.of())));
        assertEquals("\"q\\\"\\\\\\n\\u0001\\u00E9/\"", Json.write("q\"\\\n\u0001\u00e9/"));
    }

    @Test
    void parsesEveryKindOfValue() throws Exception {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\\u0041\\n\"], \"b\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(1000.0, a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        assertNull(a.get(6));
        assertEquals("xA\n", a.get(7));
        assertEquals(Map.of(), m.get("b"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{foo}               | JSON parse error, invalid keyword 'foo'",
            "{\"a\" 1}           | JSON parse error, missing : in object pair",
            "{\"a\": 1,}         | JSON parse error, key is not a string in object",
            "[1,]                | JSON parse error, stray ']'",
            "[1 2]               | JSON parse error, expected separator in list",
            "{\"a\": 01}         | JSON parse error, invalid number (leading zero)",
            "\"\\x\"             | JSON parse error, invalid escape sequence in string",
            "{\"a\": 1} x        | JSON parse error, expecting end of input, got 'x'",
            "{\"a\": 1, \"a\": 2} | JSON parse error, duplicate key 'a'"})
    void rejectsBadJsonWithQemuStyleMessages(String text, String expected) {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(text));
        assertEquals(expected, e.getMessage());
    }

    @Test
    void splitterCutsAtBalancedBracketsAndIgnoresBracketsInStrings() throws Exception {
        JsonStreamSplitter s = new JsonStreamSplitter(new StringReader(
                "{\"execute\": \"a}\"}{\"x\": [1, {\"y\": \"\\\"]\"}]}\n  [1]  \"str\" 42 "));
        assertEquals("{\"execute\": \"a}\"}", s.next());
        assertEquals("{\"x\": [1, {\"y\": \"\\\"]\"}]}", s.next());
        assertEquals("[1]", s.next());
        assertEquals("\"str\"", s.next());
        assertEquals("42", s.next());
        assertNull(s.next());
    }

    @Test
    void schemaMessagesAreQemus() {
        QmpType.Struct s = QmpType.Struct.of(QmpType.Field.req("val", QmpType.INT),
                QmpType.Field.opt("caps", new QmpType.Array(QmpType.Struct.of(
                        QmpType.Field.req("capability", new QmpType.Enum("Cap", List.of("events"))),
                        QmpType.Field.req("state", QmpType.BOOL)))));
        assertEquals("Parameter 'val' is missing",
                assertThrows(QmpError.class, () -> s.check("", "", Map.of())).desc());
        assertEquals("Invalid parameter type for 'val', expected: integer",
                assertThrows(QmpError.class, () -> s.check("", "", Map.of("val", "1"))).desc());
        assertEquals("Parameter 'foo' is unexpected",
                assertThrows(QmpError.class, () -> s.check("", "", Map.of("val", 1L, "foo", 1L))).desc());
        assertEquals("Parameter 'caps[0].state' is missing", assertThrows(QmpError.class,
                () -> s.check("", "", Map.of("val", 1L, "caps", List.of(Map.of("capability", "events"))))).desc());
        assertEquals("Invalid parameter type for 'caps[0].state', expected: boolean", assertThrows(QmpError.class,
                () -> s.check("", "", Map.of("val", 1L, "caps", List.of(Map.of("capability", "events", "state", 1L)))))
                .desc());
        assertEquals("Parameter 'capability' does not accept value 'nope'", assertThrows(QmpError.class,
                () -> s.check("", "", Map.of("val", 1L, "caps", List.of(Map.of("capability", "nope", "state", true)))))
                .desc());
    }
}
