// Minimal JUnit Platform runner for use inside the TCG VM, where starting Maven costs minutes.
// Build on the host (fast), run only the tests in the VM:
//   java --enable-native-access=ALL-UNNAMED -cp CLASSPATH ci/kvm-vm/RunTests.java [--class FQCN]... [--package PKG]... [--scan DIR]...
// CLASSPATH must hold the test classes, the main classes and junit-jupiter-engine + junit-platform-launcher
// (e.g. from `mvn dependency:build-classpath -Dmdep.includeScope=test`). With no selector it scans every
// classpath directory. Prints one line per finished test and a closing 'N passed, N failed, N skipped'.
// Exit code 0 when nothing failed (and something ran), 1 otherwise.
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.*;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.*;
import java.util.concurrent.atomic.AtomicInteger;

public class RunTests {
    public static void main(String[] args) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--class" -> selectors.add(DiscoverySelectors.selectClass(args[++i]));
                case "--package" -> selectors.add(DiscoverySelectors.selectPackage(args[++i]));
                case "--scan" -> selectors.addAll(DiscoverySelectors.selectClasspathRoots(Set.of(Path.of(args[++i]))));
                default -> { System.err.println("RunTests: unknown argument " + args[i]); System.exit(2); }
            }
        }
        if (selectors.isEmpty()) {
            Set<Path> roots = new LinkedHashSet<>();
            for (String e : System.getProperty("java.class.path").split(File.pathSeparator))
                if (Files.isDirectory(Path.of(e))) roots.add(Path.of(e));
            selectors.addAll(DiscoverySelectors.selectClasspathRoots(roots));
        }
        AtomicInteger passed = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override public void executionSkipped(TestIdentifier id, String reason) {
                if (id.isTest() || id.isContainer()) {
                    skipped.incrementAndGet();
                    System.out.println("SKIPPED " + id.getLegacyReportingName() + " " + describe(id) + ": " + reason);
                }
            }
            @Override public void executionFinished(TestIdentifier id, TestExecutionResult r) {
                if (!id.isTest() && r.getStatus() == TestExecutionResult.Status.SUCCESSFUL) return;
                switch (r.getStatus()) {
                    case SUCCESSFUL -> { passed.incrementAndGet(); System.out.println("PASSED  " + describe(id)); }
                    case ABORTED -> { skipped.incrementAndGet(); System.out.println("SKIPPED " + describe(id) + ": "
                            + r.getThrowable().map(Throwable::getMessage).orElse("")); }
                    case FAILED -> {
                        failed.incrementAndGet();
                        System.out.println("FAILED  " + describe(id));
                        r.getThrowable().ifPresent(t -> t.printStackTrace(System.out));
                    }
                }
            }
        };
        Launcher launcher = LauncherFactory.create();
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        launcher.execute(request, listener);
        System.out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        System.exit(failed.get() == 0 && passed.get() > 0 ? 0 : 1);
    }

    private static String describe(TestIdentifier id) {
        String src = id.getSource().map(Object::toString).orElse("");
        int m = src.indexOf("methodName='");
        int c = src.indexOf("className='");
        if (c >= 0) {
            String cls = src.substring(c + 11, src.indexOf('\'', c + 11));
            cls = cls.substring(cls.lastIndexOf('.') + 1);
            return m >= 0 ? cls + "." + src.substring(m + 12, src.indexOf('\'', m + 12)) : cls;
        }
        return id.getDisplayName();
    }
}
