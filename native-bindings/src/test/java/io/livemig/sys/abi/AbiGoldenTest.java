package io.livemig.sys.abi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Golden test of the generated kernel ABI: compiles {@code native-bindings/gen/probe.c} with the installed
 * gcc and headers, runs it in check mode and requires every constant, struct size, member offset and ioctl
 * code to equal what the Java classes hold, in both directions. Skips (with the reason) where gcc or the
 * kernel headers are missing.
 */
class AbiGoldenTest {
    static final List<Class<?>> GENERATED = List.of(KvmH.class, UserfaultfdH.class, VfioH.class, MmanH.class,
            ErrnoH.class, SignalH.class, SocketH.class, PollH.class, StatfsH.class, SyscallNr.class);
    /** Hand-written; only what the installed headers already define is compared. */
    static final Set<String> PARTIAL = Set.of("NewerUapi");

    @Test
    void everyGeneratedValueEqualsTheCompilersValue(@TempDir Path tmp) throws Exception {
        Path gcc = findOnPath("gcc");
        assumeTrue(gcc != null, "gcc is not on PATH: cannot re-run the ABI probe");
        assumeTrue(Files.exists(Path.of("/usr/include/linux/kvm.h")),
                "/usr/include/linux/kvm.h is missing (install the kernel uAPI headers, e.g. linux-libc-dev)");
        Path probeSource = probeSource();

        Path probe = tmp.resolve("probe");
        List<String> cc = new ArrayList<>(List.of(gcc.toString(), "-std=gnu11", "-O0", "-Wall"));
        // e.g. -Dlivemig.abi.cflags="-isystem /path/to/newer/usr/include" checks NewerUapi against newer headers
        String extra = System.getProperty("livemig.abi.cflags", "").strip();
        if (!extra.isEmpty()) cc.addAll(List.of(extra.split("\\s+")));
        cc.addAll(List.of("-o", probe.toString(), probeSource.toString()));
        run(tmp, 120, cc.toArray(String[]::new));
        List<String> lines = run(tmp, 60, probe.toString(), "check");
        Map<String, Long> c = AbiComparator.parse(lines);

        Map<String, Long> java = new HashMap<>();
        for (Class<?> cls : GENERATED) java.putAll(AbiComparator.javaValues(cls));
        java.putAll(AbiComparator.javaValues(NewerUapi.class));

        Set<String> probeClasses = c.keySet().stream().map(k -> k.substring(0, k.indexOf('.')))
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> expected = GENERATED.stream().map(Class::getSimpleName)
                .collect(Collectors.toCollection(TreeSet::new));
        probeClasses.removeAll(PARTIAL);
        assertEquals(expected, probeClasses, "classes the probe describes vs. classes this test checks");

        List<String> diffs = AbiComparator.compare(c, java, PARTIAL);
        if (!diffs.isEmpty()) {
            fail(diffs.size() + " of " + c.size() + " ABI values differ between the C headers and io.livemig.sys.abi"
                    + " (fix probe.c and re-run native-bindings/gen/generate.sh):\n  " + String.join("\n  ", diffs));
        }
        long newer = c.keySet().stream().filter(k -> k.startsWith("NewerUapi.")).count();
        System.out.println("AbiGoldenTest: " + c.size() + " values equal (" + newer
                + " of them NewerUapi entries the installed headers already define)");
        assertTrue(c.size() > 1000, "suspiciously few probe values: " + c.size());
    }

    @Test
    void aDeliberatelyWrongLineIsReported() {
        Map<String, Long> java = new HashMap<>();
        for (Class<?> cls : GENERATED) java.putAll(AbiComparator.javaValues(cls));
        // Render the Java values as probe lines, then corrupt three of them the ways a stale class can go wrong.
        List<String> unmodified = new ArrayList<>();
        java.forEach((k, v) -> unmodified.add(k + " " + v));
        assertTrue(AbiComparator.compare(AbiComparator.parse(unmodified), java, PARTIAL).isEmpty(),
                "unmodified lines must compare equal");

        List<String> lines = new ArrayList<>(unmodified);
        lines.replaceAll(l -> l.startsWith("KvmH.kvm_regs.rip ") ? "KvmH.kvm_regs.rip 136" : l);
        lines.removeIf(l -> l.startsWith("MmanH.PROT_READ "));
        lines.add("ErrnoH.ENOTREAL 4242");
        List<String> diffs = AbiComparator.compare(AbiComparator.parse(lines), java, PARTIAL);
        assertEquals(3, diffs.size(), String.join("\n", diffs));
        assertTrue(diffs.contains("KvmH.kvm_regs.rip: Java 128 (0x80), C 136 (0x88)"), String.join("\n", diffs));
        assertTrue(diffs.stream().anyMatch(d -> d.startsWith("MmanH.PROT_READ: in Java")), String.join("\n", diffs));
        assertTrue(diffs.stream().anyMatch(d -> d.startsWith("ErrnoH.ENOTREAL: in the C probe")),
                String.join("\n", diffs));
    }

    @Test
    void aWrongIoctlSizeIsReported() {
        Map<String, Long> java = AbiComparator.javaValues(KvmH.class);
        // _IOW(KVMIO, 0x46, 32 bytes) is what the kernel expects; a 24-byte struct class would give 0x4018ae46.
        Map<String, Long> c = new HashMap<>(java);
        c.put("KvmH.KVM_SET_USER_MEMORY_REGION", 0x4018ae46L);
        List<String> diffs = AbiComparator.compare(c, java, PARTIAL);
        assertEquals(List.of("KvmH.KVM_SET_USER_MEMORY_REGION: Java 1075883590 (0x4020ae46), C 1075359302 (0x4018ae46)"),
                diffs);
    }

    @Test
    void newerUapiEntriesAreNotRequiredFromOldHeaders() {
        Map<String, Long> java = AbiComparator.javaValues(NewerUapi.class);
        assertTrue(AbiComparator.compare(Map.of(), java, PARTIAL).isEmpty());
        Map<String, Long> c = Map.of("NewerUapi.UFFD_FEATURE_MOVE", 1L << 17);
        assertEquals(List.of("NewerUapi.UFFD_FEATURE_MOVE: Java 65536 (0x10000), C 131072 (0x20000)"),
                AbiComparator.compare(c, java, PARTIAL));
    }

    static Path probeSource() {
        String root = System.getProperty("livemig.root");
        Path p = root != null ? Path.of(root, "native-bindings", "gen", "probe.c") : Path.of("gen", "probe.c");
        if (!Files.exists(p)) p = Path.of("gen", "probe.c").toAbsolutePath();
        assertTrue(Files.exists(p), "probe source not found at " + p);
        return p;
    }

    static Path findOnPath(String exe) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, exe);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** Runs a command with a bounded wait; fails with its output when it exits non-zero. */
    static List<String> run(Path dir, long timeoutSec, String... cmd) throws IOException, InterruptedException {
        Path out = dir.resolve("out-" + System.nanoTime());
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        if (!p.waitFor(timeoutSec, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish within " + timeoutSec + " s");
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            fail(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + String.join("\n", lines));
        }
        return lines;
    }
}
