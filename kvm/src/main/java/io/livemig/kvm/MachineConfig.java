package io.livemig.kvm;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * What to build a {@link GuestMachine} from, validated before anything is allocated.
 *
 * @param accelerator      {@code "kvm"}, {@code "java"} or {@code "auto"} (KVM when /dev/kvm is usable)
 * @param guest            {@code "ab"} (the A-B guest, spec/ab-guest.md), {@code "idle"} (does nothing),
 *                         or {@code "scripted"} (writes pages on command, for the dirty-tracking contract test)
 * @param vcpuCount        vCPUs; the guest program runs on vCPU 0, the others idle (never started, as an AP)
 * @param abWindowEndBytes end (exclusive) of the A-B window; default {@link AbGuest#DEFAULT_WINDOW_END_BYTES}
 * @param serial           where port 0x3F8 output goes (not owned: the caller closes it)
 * @param pauseTimeout     how long {@link GuestMachine#pause()} waits for every vCPU to acknowledge before it
 *                         fails with an error naming the vCPU (the pause itself is required to take &lt; 10 ms)
 */
public record MachineConfig(String accelerator, String guest, int vcpuCount, long abWindowEndBytes,
                            SerialSink serial, Duration pauseTimeout) {

    public static final Set<String> ACCELERATORS = Set.of("kvm", "java", "auto");
    public static final Set<String> GUESTS = Set.of("ab", "idle", "scripted");
    public static final int MAX_VCPUS = 64;

    public MachineConfig {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(pauseTimeout, "pauseTimeout");
        if (!ACCELERATORS.contains(accelerator)) {
            throw new IllegalArgumentException("accelerator='" + accelerator + "', expected kvm, java or auto");
        }
        if (!GUESTS.contains(guest)) {
            throw new IllegalArgumentException("guest='" + guest + "', expected ab, idle or scripted");
        }
        if (vcpuCount < 1 || vcpuCount > MAX_VCPUS) {
            throw new IllegalArgumentException("vcpuCount=" + vcpuCount + ", expected 1.." + MAX_VCPUS);
        }
        AbGuest.validateWindowEnd(abWindowEndBytes, -1);
        if (pauseTimeout.isNegative() || pauseTimeout.isZero()) {
            throw new IllegalArgumentException("pauseTimeout=" + pauseTimeout + ", expected > 0");
        }
    }

    /** One vCPU, the spec's window, a 2 s pause timeout. */
    public static MachineConfig of(String accelerator, String guest, SerialSink serial) {
        return new MachineConfig(accelerator, guest, 1, AbGuest.DEFAULT_WINDOW_END_BYTES, serial, Duration.ofSeconds(2));
    }

    public MachineConfig withAccelerator(String a) {
        return new MachineConfig(a, guest, vcpuCount, abWindowEndBytes, serial, pauseTimeout);
    }

    public MachineConfig withVcpuCount(int n) {
        return new MachineConfig(accelerator, guest, n, abWindowEndBytes, serial, pauseTimeout);
    }

    public MachineConfig withAbWindowEndBytes(long end) {
        return new MachineConfig(accelerator, guest, vcpuCount, end, serial, pauseTimeout);
    }

    public MachineConfig withPauseTimeout(Duration t) {
        return new MachineConfig(accelerator, guest, vcpuCount, abWindowEndBytes, serial, t);
    }
}
