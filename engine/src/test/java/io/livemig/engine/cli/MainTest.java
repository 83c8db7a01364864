package io.livemig.engine.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void helpListsEveryCommand() {
        assertEquals(0, run("--help"));
        String text = out.toString(StandardCharsets.UTF_8);
        for (String c : new String[] {"run", "demo", "analyze", "version"}) {
            assertTrue(text.contains("\n  " + c + " "), "help lacks " + c + ":\n" + text);
        }
    }

    @Test
    void versionNamesTheFilteredProjectVersionAndJava() {
        assertEquals(0, run("version"));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.matches("livemig \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(Java 25[^)]*\\)\\R"), text);
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertEquals(2, run("frobnicate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("livemig: unknown command 'frobnicate'"));
    }
}
