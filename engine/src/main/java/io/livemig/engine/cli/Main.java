package io.livemig.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Properties;

/**
 * {@code livemig}: the command-line entry. Each subcommand parses its own arguments and returns an exit
 * code; this class only dispatches, so {@code livemig run} and a test harness see the same behaviour.
 */
public final class Main {
    static final String USAGE = """
            livemig - live migration of KVM guests (QEMU 7.2 stream compatible)

            Usage: livemig COMMAND [ARGS]

            Commands:
              run       run one VM (guest RAM, vCPUs on KVM or Java threads, QMP control socket);
                        the migration source or destination. `livemig run --help` for options.
              demo      migrate a running A-B guest live between two local livemig processes over
                        loopback TCP with a progress bar, then verify the destination's RAM
              analyze   decode a migration stream file (QEMU 7.2 or livemig): livemig analyze FILE [--json]
              version   print the livemig version and the Java runtime
              help      this text (also -h, --help)

            Environment: JAVA_HOME (a JDK 25) is found by ./livemig itself; /dev/kvm is optional
            (without it livemig runs guests as Java threads and says so).
            """;

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command; returns the process exit code (0 ok, 1 failure, 2 usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (command) {
            case "help", "-h", "--help" -> {
                out.print(USAGE);
                return 0;
            }
            case "run" -> {
                return io.livemig.engine.process.RunCommand.run(rest, out, err);
            }
            case "analyze" -> {
                return analyze(rest, out, err);
            }
            case "demo" -> {
                return DemoCommand.run(rest, out, err);
            }
            case "version", "--version" -> {
                out.println("livemig " + version() + " (Java " + Runtime.version() + ", "
                        + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")");
                return 0;
            }
            default -> {
                err.println("livemig: unknown command '" + command + "'");
                err.print(USAGE);
                return 2;
            }
        }
    }

    static final String ANALYZE_USAGE = """
            Usage: livemig analyze FILE [--json]

            Decodes a migration stream written by QEMU 7.2 or livemig (e.g. by `migrate exec:cat > FILE`):
            header, configuration, every section with its id, version and size, RAM records counted by kind
            per block, device fields decoded through the vmdesc trailer. A broken stream is reported with
            the byte offset, the field and why parsing stopped (exit status 1); an unreadable file exits 2.
            """;

    private static int analyze(String[] args, PrintStream out, PrintStream err) {
        boolean json = false;
        String file = null;
        for (String a : args) {
            switch (a) {
                case "-h", "--help" -> {
                    out.print(ANALYZE_USAGE);
                    return 0;
                }
                case "--json" -> json = true;
                default -> {
                    if (a.startsWith("-") || file != null) {
                        err.println("livemig analyze: unexpected argument '" + a + "'");
                        err.print(ANALYZE_USAGE);
                        return 2;
                    }
                    file = a;
                }
            }
        }
        if (file == null) {
            err.print(ANALYZE_USAGE);
            return 2;
        }
        return io.livemig.engine.analyze.StreamAnalyzer.run(java.nio.file.Path.of(file), json, out, err);
    }

    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
