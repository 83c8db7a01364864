package io.livemig.engine.vmstate;

/**
 * The {@code timer} section as QEMU 7.2 writes it (spec 6.1): version 2, minimum 1, instance 0.
 *
 * <pre>
 *   be64 cpu_ticks_offset | 8 x 00 (unused) | be64 cpu_clock_offset (v >= 2)      = 24 bytes
 * </pre>
 * The {@code timer/icount} subsections exist only with {@code -icount}; not modelled, so a stream that
 * carries them fails with an error naming the subsection.
 */
public final class TimerSection {
    public static final String IDSTR = "timer";
    /** Section id QEMU gives it on x86 {@code -M none}. */
    public static final int QEMU_SECTION_ID = 0;

    public static final VmStateDescription DESCRIPTION = VmStateDescription.builder("timer")
            .version(2).minimumVersion(1)
            .int64("cpu_ticks_offset")
            .unused(8)
            .int64("cpu_clock_offset", 2)
            .build();

    private TimerSection() {
    }

    public static VmState state(long cpuTicksOffset, long cpuClockOffset) {
        return new VmState().putLong("cpu_ticks_offset", cpuTicksOffset).putLong("cpu_clock_offset", cpuClockOffset);
    }
}
