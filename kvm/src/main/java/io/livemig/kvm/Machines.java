package io.livemig.kvm;

import io.livemig.kvm.java.JavaMachine;
import io.livemig.memory.GuestMemory;
import io.livemig.sys.HostCapabilities;

import java.io.PrintStream;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Builds the {@link GuestMachine} for an accelerator: {@code "kvm"} (fails with the host's reason when /dev/kvm
 * is unusable), {@code "java"}, or {@code "auto"} (KVM when /dev/kvm opens and the KVM machine can be created,
 * otherwise the Java machine, saying why in one line on the notice stream, stderr by default).
 */
public final class Machines {
    private Machines() {
    }

    /** {@code create(memory, MachineConfig.of(accelerator, guest, serial))}, notices to stderr. */
    public static GuestMachine create(String accelerator, GuestMemory memory, String guest, SerialSink serial) {
        return create(memory, MachineConfig.of(accelerator, guest, serial));
    }

    public static GuestMachine create(GuestMemory memory, MachineConfig config) {
        return create(memory, config, System.err, HostCapabilities::kvmUnavailable);
    }

    /**
     * @param notices       where the one-line fallback notice goes ({@code auto} without KVM)
     * @param kvmUnavailable the host probe (tests pass a fixed answer)
     */
    public static GuestMachine create(GuestMemory memory, MachineConfig config, PrintStream notices,
                                      Supplier<Optional<String>> kvmUnavailable) {
        return switch (config.accelerator()) {
            case "java" -> JavaMachine.create(memory, config);
            case "kvm" -> {
                Optional<String> why = kvmUnavailable.get();
                if (why.isPresent()) {
                    throw new UnsupportedOperationException("accelerator 'kvm' unavailable: " + why.get()
                            + " (use 'java' or 'auto' to run the guest as Java threads)");
                }
                yield createKvm(memory, config);
            }
            default -> { // auto
                Optional<String> why = kvmUnavailable.get();
                if (why.isEmpty()) {
                    try {
                        yield createKvm(memory, config);
                    } catch (IllegalArgumentException e) {
                        throw e; // a configuration error: the java machine would reject it too
                    } catch (RuntimeException e) { // /dev/kvm opens but is unusable (e.g. KVM_CREATE_VM fails)
                        why = Optional.of("creating the KVM machine failed: " + e.getMessage());
                    }
                }
                notices.println("livemig: /dev/kvm unavailable (" + why.get() + "); using the java machine");
                notices.flush();
                yield JavaMachine.create(memory, config.withAccelerator("java"));
            }
        };
    }

    /**
     * KVM SEAM — the one place this factory reaches into {@code io.livemig.kvm.hw}:
     * {@code io.livemig.kvm.hw.KvmMachine.create(GuestMemory, MachineConfig)} (accelerator already resolved to kvm).
     */
    private static GuestMachine createKvm(GuestMemory memory, MachineConfig config) {
        return io.livemig.kvm.hw.KvmMachine.create(memory, config.withAccelerator("kvm"));
    }
}
