package io.livemig.kvm.hw;

import io.livemig.sys.HostCapabilities;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * For test classes that need /dev/kvm: {@link #assumeKvm()} skips with the host's reason, and as a JUnit
 * extension it counts what ran and what was skipped across the whole run, printing
 * {@code KVM tests: N ran, M skipped (reason)} after each class and writing the same line to
 * {@code <build dir>/kvm-tests.txt}, so CI logs show whether the KVM layer was exercised at all.
 */
public final class KvmTests implements TestWatcher, AfterAllCallback {
    private static final AtomicInteger RAN = new AtomicInteger();
    private static final AtomicInteger FAILED = new AtomicInteger();
    private static final AtomicInteger SKIPPED = new AtomicInteger();

    /**
     * True inside ci/kvm-vm's TCG-emulated VM (nested KVM on an emulated CPU): functional only, 10-1000x slower;
     * the KVM tests then use a smaller A-B window, longer waits, and do not assert latencies.
     */
    public static boolean underTcg() {
        return "1".equals(System.getenv("LIVEMIG_KVM_VM"));
    }

    /** Bounded waits for guest progress. */
    public static java.time.Duration waitTime() {
        return java.time.Duration.ofSeconds(underTcg() ? 600 : 30);
    }

    /** The A-B window end these tests use: the spec's 100 MiB, or 8 MiB under TCG (a 'B' every ~1800 x 64 pages). */
    public static long abWindowEnd() {
        return underTcg() ? 8L << 20 : io.livemig.kvm.AbGuest.DEFAULT_WINDOW_END_BYTES;
    }

    /** A machine config for these tests (longer pause timeout under TCG, where a first pause can take seconds). */
    public static io.livemig.kvm.MachineConfig config(String guest, io.livemig.kvm.SerialSink serial) {
        io.livemig.kvm.MachineConfig c = io.livemig.kvm.MachineConfig.of("kvm", guest, serial).withAbWindowEndBytes(abWindowEnd());
        return underTcg() ? c.withPauseTimeout(java.time.Duration.ofSeconds(60)) : c;
    }

    /** Skips the calling test (or class, from @BeforeAll) when this host has no usable /dev/kvm. */
    public static void assumeKvm() {
        Optional<String> why = HostCapabilities.kvmUnavailable();
        assumeTrue(why.isEmpty(), () -> "KVM test skipped: " + why.orElse(""));
    }

    @Override
    public void testSuccessful(ExtensionContext context) {
        RAN.incrementAndGet();
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        RAN.incrementAndGet();
        FAILED.incrementAndGet();
    }

    @Override
    public void testAborted(ExtensionContext context, Throwable cause) {
        SKIPPED.incrementAndGet();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        String line = summary();
        System.out.println(line + " [after " + context.getDisplayName() + "]");
        try {
            Path classes = Path.of(KvmTests.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Files.writeString(classes.getParent().resolve("kvm-tests.txt"), line + "\n");
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            System.out.println("(could not write kvm-tests.txt: " + e + ")");
        }
    }

    /** {@code KVM tests: N ran (F failed), M skipped (reason)}. */
    public static String summary() {
        Optional<String> why = HostCapabilities.kvmUnavailable();
        return "KVM tests: " + RAN.get() + " ran" + (FAILED.get() > 0 ? " (" + FAILED.get() + " failed)" : "") + ", "
                + SKIPPED.get() + " skipped" + why.map(w -> " (" + w + ")").orElse("");
    }
}
