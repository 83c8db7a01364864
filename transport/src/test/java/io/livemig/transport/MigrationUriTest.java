package io.livemig.transport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MigrationUriTest {

    @Test
    void parsesEveryScheme() {
        assertEquals(new MigrationUri.Tcp("127.0.0.1", 4444), MigrationUri.parse("tcp:127.0.0.1:4444"));
        assertEquals(new MigrationUri.Tcp("0", 0), MigrationUri.parse("tcp:0:0"));
        assertEquals(new MigrationUri.Tcp("", 4444), MigrationUri.parse("tcp::4444"));
        assertEquals(new MigrationUri.Tcp("::1", 5), MigrationUri.parse("tcp:[::1]:5"));
        assertEquals(new MigrationUri.Tcp("host.example", 65535), MigrationUri.parse("tcp:host.example:65535"));
        assertEquals(new MigrationUri.Unix(Path.of("/tmp/m.sock")), MigrationUri.parse("unix:/tmp/m.sock"));
        assertEquals(new MigrationUri.Exec("cat > /tmp/x:y"), MigrationUri.parse("exec:cat > /tmp/x:y"));
        assertEquals(new MigrationUri.Fd(7), MigrationUri.parse("fd:7"));
        assertEquals(new MigrationUri.File(Path.of("/tmp/f"), 0), MigrationUri.parse("file:/tmp/f"));
        assertEquals(new MigrationUri.File(Path.of("/tmp/f"), 4096), MigrationUri.parse("file:/tmp/f,offset=4096"));
        assertEquals(new MigrationUri.File(Path.of("/tmp/f"), 1 << 20), MigrationUri.parse("file:/tmp/f,offset=1M"));
        assertEquals(new MigrationUri.File(Path.of("/tmp/f"), 0x1000), MigrationUri.parse("file:/tmp/f,offset=0x1000"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "tcp:127.0.0.1:4444", "tcp:[::1]:5", "unix:/tmp/m.sock", "exec:cat", "fd:3", "file:/tmp/f,offset=4096"})
    void textRoundTrips(String uri) {
        assertEquals(uri, MigrationUri.parse(uri).text());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "bogus:1              | unknown migration protocol: bogus:1",
            "nocolon              | unknown migration protocol: nocolon",
            "tcp:localhost        | error parsing address 'localhost' in URI 'tcp:localhost'",
            "tcp:host:abc         | error parsing port 'abc' in URI 'tcp:host:abc'",
            "tcp:host:70000       | port=70000 in URI 'tcp:host:70000' is out of range, expected 0..65535",
            "tcp:::1:5            | an IPv6 address must be written in brackets",
            "tcp:[::1             | error parsing IPv6 address '[::1' in URI 'tcp:[::1'",
            "unix:                | unix URI 'unix:' has no socket path",
            "exec:                | exec URI 'exec:' has no command",
            "fd:abc               | invalid file descriptor 'abc' in URI 'fd:abc'",
            "fd:-1                | invalid file descriptor '-1' in URI 'fd:-1'",
            "file:/tmp/f,offset=x | file URI 'file:/tmp/f,offset=x' has invalid offset 'x'",
            "file:/tmp/f,foo=1    | file URI 'file:/tmp/f,foo=1' has unknown option 'foo=1'",
            "file:,offset=1       | file URI 'file:,offset=1' has no path"})
    void rejectsBadUrisNamingThem(String uri, String expected) {
        UriException e = assertThrows(UriException.class, () -> MigrationUri.parse(uri));
        assertTrue(e.getMessage().contains(expected), () -> "message: " + e.getMessage());
        assertEquals(uri, e.uri());
    }

    @Test
    void rejectsTooLongUnixPath() {
        String uri = "unix:/tmp/" + "x".repeat(200);
        UriException e = assertThrows(UriException.class, () -> MigrationUri.parse(uri));
        assertTrue(e.getMessage().contains("too long"), e.getMessage());
    }
}
