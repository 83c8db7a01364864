package io.livemig.engine.process;

import io.livemig.transport.MigrationUri;
import io.livemig.transport.UriException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * {@code livemig run}'s options, parsed and validated as a whole before anything is allocated
 * (files named by {@code --load} must exist and fit in RAM, sizes are page multiples, URIs parse).
 *
 * @param machine        {@code kvm}, {@code java}, {@code none} (RAM only, stream-compatible with
 *                       {@code qemu-system-x86_64 -M none}) or {@code auto}
 * @param memoryBytes    guest RAM size, a multiple of 4 KiB
 * @param guest          {@code ab} or {@code idle} (ignored by {@code none})
 * @param loads          files copied into guest RAM at guest-physical addresses, in order
 * @param memPath        hugetlbfs directory backing RAM, if any
 * @param dirtyTrack     {@code log}, {@code clear}, {@code ring} or {@code auto}
 * @param qmpSocket      the QMP Unix socket path, if any
 * @param serial         {@code none}, {@code stdio} or {@code file:PATH}
 * @param incoming       {@code defer} (wait for migrate-incoming), a URI to listen on, or empty
 * @param startPaused    {@code -S}: do not start the vCPUs (run state "prelaunch")
 * @param uuid           the VM's uuid ({@code configuration/uuid} with validate-uuid)
 * @param prealloc       {@code --prealloc on|off|auto}: populate all of guest RAM in the background at start
 *                       ({@link #preallocEffective()} resolves {@code auto})
 * @param jitWarmup      {@code --jit-warmup on|off|auto}: run {@link JitWarmup} before the monitor answers
 *                       ({@link #jitWarmupEffective()} resolves {@code auto})
 */
public record RunOptions(String machine, long memoryBytes, String guest, List<Load> loads, Optional<Path> memPath,
                         String dirtyTrack, Optional<Path> qmpSocket, String serial, Optional<Incoming> incoming,
                         boolean startPaused, Optional<UUID> uuid, String prealloc, String jitWarmup) {

    public static final Set<String> MACHINES = Set.of("kvm", "java", "none", "auto");
    public static final Set<String> GUESTS = Set.of("ab", "idle");
    public static final Set<String> DIRTY_TRACKERS = Set.of("log", "clear", "ring", "auto");
    public static final Set<String> PREALLOC_MODES = Set.of("on", "off", "auto");
    /** Guests from this size on get the JIT warm-up under {@code --jit-warmup auto}. */
    public static final long WARMUP_AUTO_MIN_MEMORY_BYTES = 256L << 20;
    public static final long DEFAULT_MEMORY_BYTES = 128L << 20;
    public static final long MAX_MEMORY_BYTES = 1L << 40;
    static final long PAGE_BYTES = 4096;

    /** {@code --load FILE@GPA}. */
    public record Load(Path file, long gpa, long sizeBytes) {
    }

    /** {@code --incoming}: {@code defer} has no URI. */
    public record Incoming(boolean defer, Optional<MigrationUri> uri) {
    }

    public RunOptions {
        loads = List.copyOf(loads);
    }

    /** The options without {@code --prealloc} (auto), as before the option existed. */
    public RunOptions(String machine, long memoryBytes, String guest, List<Load> loads, Optional<Path> memPath,
                      String dirtyTrack, Optional<Path> qmpSocket, String serial, Optional<Incoming> incoming,
                      boolean startPaused, Optional<UUID> uuid) {
        this(machine, memoryBytes, guest, loads, memPath, dirtyTrack, qmpSocket, serial, incoming, startPaused, uuid,
                "auto", "auto");
    }

    /**
     * Whether {@link JitWarmup} runs at start: {@code on}/{@code off} as given; {@code auto} is on for guests
     * of {@link #WARMUP_AUTO_MIN_MEMORY_BYTES} or more. The warm-up costs 1-2 s of CPU at start-up; it pays
     * when a migration moves enough pages for interpreted code and compiler threads to show (at 256 MiB it
     * cut migrate-to-done from ~560 to ~300 ms here), and not for the small guests of tests and demos.
     */
    public boolean jitWarmupEffective() {
        return switch (jitWarmup) {
            case "on" -> true;
            case "off" -> false;
            default -> memoryBytes >= WARMUP_AUTO_MIN_MEMORY_BYTES;
        };
    }

    /**
     * Whether RAM is prefaulted at start: {@code on}/{@code off} as given; {@code auto} is on exactly for a
     * migration destination ({@code --incoming}). A destination writes every page the source sends, and
     * here a first-touch fault costs ~15 us per 4 KiB page (about 4 s per GiB on the one receive thread),
     * while populating ahead in parallel (MADV_POPULATE_WRITE) takes that off the receive path and overlaps
     * it with connection set-up and the transfer. A source or a plain VM keeps RAM lazy (QEMU's default),
     * so an idle guest costs no RSS it never uses.
     */
    public boolean preallocEffective() {
        return switch (prealloc) {
            case "on" -> true;
            case "off" -> false;
            default -> incoming.isPresent();
        };
    }

    /** Parses {@code args} (everything after {@code run}); {@code --help} is the caller's business. */
    public static RunOptions parse(String[] args) throws UsageException {
        String machine = "auto";
        long memory = DEFAULT_MEMORY_BYTES;
        String guest = "ab";
        List<String> loadSpecs = new ArrayList<>();
        Optional<Path> memPath = Optional.empty();
        String dirty = "auto";
        Optional<Path> qmp = Optional.empty();
        String serial = "none";
        Optional<Incoming> incoming = Optional.empty();
        boolean paused = false;
        Optional<UUID> uuid = Optional.empty();
        String prealloc = "auto";
        String jitWarmup = "auto";
        Set<String> seen = new java.util.HashSet<>();

        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-S")) {
                paused = true;
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (!Set.of("--machine", "--memory", "--guest", "--load", "--mem-path", "--dirty-track", "--qmp",
                    "--serial", "--incoming", "--uuid", "--prealloc", "--jit-warmup").contains(name)) {
                throw new UsageException("unknown option '" + a + "' (see livemig run --help)");
            }
            if (value == null) {
                if (i + 1 >= args.length) throw new UsageException("option " + name + " needs a value");
                value = args[++i];
            }
            if (!name.equals("--load") && !seen.add(name)) {
                throw new UsageException("option " + name + " given twice");
            }
            switch (name) {
                case "--machine" -> machine = oneOf(name, value, MACHINES);
                case "--memory" -> memory = parseMemory(value);
                case "--guest" -> guest = oneOf(name, value, GUESTS);
                case "--load" -> loadSpecs.add(value);
                case "--mem-path" -> {
                    Path p = Path.of(value);
                    if (!Files.isDirectory(p)) {
                        throw new UsageException("--mem-path '" + value + "': not a directory (expected a hugetlbfs mount)");
                    }
                    memPath = Optional.of(p);
                }
                case "--dirty-track" -> dirty = oneOf(name, value, DIRTY_TRACKERS);
                case "--prealloc" -> prealloc = oneOf(name, value, PREALLOC_MODES);
                case "--jit-warmup" -> jitWarmup = oneOf(name, value, PREALLOC_MODES);
                case "--qmp" -> {
                    if (!value.startsWith("unix:") || value.length() == "unix:".length()) {
                        throw new UsageException("--qmp '" + value + "': expected unix:PATH");
                    }
                    qmp = Optional.of(Path.of(value.substring("unix:".length())));
                }
                case "--serial" -> {
                    if (!(value.equals("none") || value.equals("stdio")
                            || (value.startsWith("file:") && value.length() > "file:".length()))) {
                        throw new UsageException("--serial '" + value + "': expected file:PATH, stdio or none");
                    }
                    serial = value;
                }
                case "--incoming" -> {
                    if (value.equals("defer")) {
                        incoming = Optional.of(new Incoming(true, Optional.empty()));
                    } else {
                        try {
                            incoming = Optional.of(new Incoming(false, Optional.of(MigrationUri.parse(value))));
                        } catch (UriException e) {
                            throw new UsageException("--incoming '" + value + "': " + e.getMessage());
                        }
                    }
                }
                case "--uuid" -> {
                    try {
                        if (!value.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
                            throw new IllegalArgumentException();
                        }
                        uuid = Optional.of(UUID.fromString(value));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException("--uuid '" + value
                                + "': expected a UUID like 12345678-9abc-def0-1122-334455667788");
                    }
                }
                default -> throw new AssertionError(name);
            }
        }
        List<Load> loads = new ArrayList<>();
        for (String spec : loadSpecs) loads.add(parseLoad(spec, memory));
        if (!machine.equals("none") && guest.equals("ab")) {
            try {
                io.livemig.kvm.AbGuest.validateWindowEnd(io.livemig.kvm.AbGuest.DEFAULT_WINDOW_END_BYTES, memory);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--memory " + memory + " bytes is too small for --guest ab: " + e.getMessage());
            }
        }
        if (memPath.isPresent() && memory % (2L << 20) != 0) {
            throw new UsageException("--memory " + memory + " bytes with --mem-path: expected a multiple of the huge"
                    + " page size (2M)");
        }
        return new RunOptions(machine, memory, guest, loads, memPath, dirty, qmp, serial, incoming, paused, uuid, prealloc, jitWarmup);
    }

    private static String oneOf(String option, String value, Set<String> allowed) throws UsageException {
        if (!allowed.contains(value)) {
            throw new UsageException(option + " '" + value + "': expected one of "
                    + String.join(", ", allowed.stream().sorted().toList()));
        }
        return value;
    }

    /** {@code 64M}, {@code 1G}, {@code 512K}, {@code 268435456} (bytes) or {@code 0x...}. */
    static long parseMemory(String value) throws UsageException {
        long bytes;
        try {
            bytes = parseSize(value);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException("--memory '" + value + "': expected a size like 64M, 1G or 268435456 (bytes)");
        }
        if (bytes <= 0 || bytes % PAGE_BYTES != 0) {
            throw new UsageException("--memory '" + value + "' = " + bytes + " bytes: expected a positive multiple of "
                    + PAGE_BYTES + " (the page size)");
        }
        if (bytes > MAX_MEMORY_BYTES) {
            throw new UsageException("--memory '" + value + "' = " + bytes + " bytes: expected at most 1T");
        }
        return bytes;
    }

    /** Decimal or 0x hex bytes with an optional K/M/G/T suffix (powers of 1024). */
    static long parseSize(String s) {
        return io.livemig.transport.ByteSizes.parse(s);
    }

    private static Load parseLoad(String spec, long memoryBytes) throws UsageException {
        int at = spec.lastIndexOf('@');
        if (at <= 0 || at == spec.length() - 1) {
            throw new UsageException("--load '" + spec + "': expected FILE@GPA, e.g. guest.bin@0x100000");
        }
        Path file = Path.of(spec.substring(0, at));
        long gpa;
        try {
            gpa = parseSize(spec.substring(at + 1));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException("--load '" + spec + "': guest-physical address '" + spec.substring(at + 1)
                    + "' is not a number (decimal or 0x hex)");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new UsageException("--load '" + spec + "': cannot read file '" + file + "'");
        }
        long size;
        try {
            size = Files.size(file);
        } catch (java.io.IOException e) {
            throw new UsageException("--load '" + spec + "': cannot read file '" + file + "': " + e.getMessage());
        }
        if (gpa > memoryBytes || size > memoryBytes - gpa) {
            throw new UsageException("--load '" + spec + "': " + size + " bytes at 0x" + Long.toHexString(gpa)
                    + " do not fit in guest RAM of " + memoryBytes + " bytes (0x0..0x" + Long.toHexString(memoryBytes)
                    + ")");
        }
        return new Load(file, gpa, size);
    }
}
