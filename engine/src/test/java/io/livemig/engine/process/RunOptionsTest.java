package io.livemig.engine.process;

import io.livemig.transport.MigrationUri;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunOptionsTest {
    @TempDir
    Path dir;

    @Test
    void parsesAFullCommandLine() throws Exception {
        Path img = Files.write(dir.resolve("img.bin"), new byte[8192]);
        RunOptions o = RunOptions.parse(new String[] {"--machine", "none", "--memory=64M", "--load",
                img + "@0x100000", "--qmp", "unix:/tmp/x.sock", "--incoming", "tcp:0:0", "-S",
                "--uuid", "12345678-9abc-def0-1122-334455667788", "--serial", "stdio", "--dirty-track", "ring"});
        assertEquals("none", o.machine());
        assertEquals(64L << 20, o.memoryBytes());
        assertEquals(0x100000, o.loads().get(0).gpa());
        assertEquals(8192, o.loads().get(0).sizeBytes());
        assertEquals(Path.of("/tmp/x.sock"), o.qmpSocket().orElseThrow());
        assertEquals(new MigrationUri.Tcp("0", 0), o.incoming().orElseThrow().uri().orElseThrow());
        assertTrue(o.startPaused());
        assertEquals("12345678-9abc-def0-1122-334455667788", o.uuid().orElseThrow().toString());
    }

    @Test
    void sizes() throws Exception {
        assertEquals(64L << 20, RunOptions.parseMemory("64M"));
        assertEquals(1L << 30, RunOptions.parseMemory("1G"));
        assertEquals(268435456L, RunOptions.parseMemory("268435456"));
        assertEquals(512L << 10, RunOptions.parseMemory("512k"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--memory 64X           | --memory '64X': expected a size like 64M, 1G or 268435456 (bytes)",
            "--memory 1000          | expected a positive multiple of 4096",
            "--memory 0             | expected a positive multiple of 4096",
            "--memory 2T            | expected at most 1T",
            "--machine qemu         | --machine 'qemu': expected one of auto, java, kvm, none",
            "--guest linux          | --guest 'linux': expected one of ab, idle",
            "--qmp tcp:1:2          | --qmp 'tcp:1:2': expected unix:PATH",
            "--serial pty           | --serial 'pty': expected file:PATH, stdio or none",
            "--incoming bogus:1     | --incoming 'bogus:1': unknown migration protocol: bogus:1",
            "--uuid 123             | --uuid '123': expected a UUID",
            "--load nofile          | --load 'nofile': expected FILE@GPA",
            "--load /nonexistent@0  | cannot read file '/nonexistent'",
            "--frobnicate           | unknown option '--frobnicate'",
            "--memory               | option --memory needs a value",
            "--memory 1G --memory 2G | option --memory given twice",
            "--mem-path /nonexistent | --mem-path '/nonexistent': not a directory",
            "--machine java --memory 64M | is too small for --guest ab",
            "--prealloc yes         | --prealloc 'yes': expected one of auto, off, on",
            "--jit-warmup 1         | --jit-warmup '1': expected one of auto, off, on"})
    void rejectsBadOptionsSayingWhy(String line, String expected) {
        UsageException e = assertThrows(UsageException.class, () -> RunOptions.parse(line.split(" ")));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void preallocIsOnByDefaultForADestinationOnly() throws Exception {
        assertTrue(RunOptions.parse(new String[] {"--machine", "none", "--incoming", "defer"}).preallocEffective());
        assertTrue(RunOptions.parse(new String[] {"--machine", "none", "--incoming", "tcp:0:0"}).preallocEffective());
        assertEquals(false, RunOptions.parse(new String[] {"--machine", "none"}).preallocEffective());
        assertEquals(false, RunOptions.parse(new String[] {"--machine", "none", "--incoming", "defer", "--prealloc",
                "off"}).preallocEffective());
        assertTrue(RunOptions.parse(new String[] {"--machine", "none", "--prealloc=on"}).preallocEffective());
    }

    @Test
    void jitWarmupIsOnByDefaultForLargeGuestsOnly() throws Exception {
        assertEquals(false, RunOptions.parse(new String[] {"--machine", "none", "--memory", "128M"}).jitWarmupEffective());
        assertTrue(RunOptions.parse(new String[] {"--machine", "none", "--memory", "256M"}).jitWarmupEffective());
        assertEquals(false, RunOptions.parse(new String[] {"--machine", "none", "--memory", "1G", "--jit-warmup",
                "off"}).jitWarmupEffective());
        assertTrue(RunOptions.parse(new String[] {"--machine", "none", "--memory", "64M", "--jit-warmup=on"})
                .jitWarmupEffective());
    }

    @Test
    void loadMustFitInRam() throws Exception {
        Path img = Files.write(dir.resolve("img.bin"), new byte[8192]);
        UsageException e = assertThrows(UsageException.class, () -> RunOptions.parse(new String[] {
                "--memory", "64M", "--load", img + "@" + ((64L << 20) - 4096)}));
        assertTrue(e.getMessage().contains("do not fit in guest RAM"), e.getMessage());
    }

    @Test
    void helpAndUsageExitCodes() {
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        assertEquals(0, RunCommand.run(new String[] {"--help"}, new java.io.PrintStream(out), new java.io.PrintStream(err)));
        assertTrue(out.toString().contains("Usage: livemig run"));
        assertEquals(2, RunCommand.run(new String[] {"--memory", "x"}, new java.io.PrintStream(out),
                new java.io.PrintStream(err)));
        assertTrue(err.toString().startsWith("livemig run: --memory 'x'"), err.toString());
    }
}
