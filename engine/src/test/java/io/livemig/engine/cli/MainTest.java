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
    void analyzeDecodesAQemuCaptureAndRejectsAMissingFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path capture = dir.resolve("qemu.mig");
        try (var in = new java.util.zip.GZIPInputStream(
                MainTest.class.getResourceAsStream("/stream/qemu72-none-64M-spec-pattern.mig.gz"))) {
            java.nio.file.Files.write(capture, in.readAllBytes());
        }
        assertEquals(0, run("analyze", capture.toString()), err.toString(StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("globalstate") && text.contains("timer") && text.contains("ram"), text);
        assertEquals(2, run("analyze", dir.resolve("missing.mig").toString()));
        assertEquals(2, run("analyze"));
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertEquals(2, run("frobnicate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("livemig: unknown command 'frobnicate'"));
    }
}
