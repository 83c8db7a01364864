package io.livemig.kvm;

import java.util.List;

/**
 * A guest's complete non-RAM state: per-vCPU state plus device state (serial, clock), each as named,
 * opaque-to-callers byte blobs in restore order. The stream issue turns each entry into a vmstate section.
 *
 * @param accelerator {@code "kvm"} or {@code "java"}: state only loads into a machine of the same kind
 * @param entries     (name, bytes) in the order they must be restored
 */
public record MachineState(String accelerator, List<Entry> entries) {
    public MachineState {
        entries = List.copyOf(entries);
    }

    /** One named piece of state, e.g. {@code "cpu0/regs"}, {@code "clock"}, {@code "serial"}. */
    public record Entry(String name, byte[] data) {
    }

    /** The entry with that name; IllegalArgumentException naming the known entries otherwise. */
    public Entry entry(String name) {
        for (Entry e : entries) if (e.name().equals(name)) return e;
        throw new IllegalArgumentException("no state entry '" + name + "' (have "
                + entries.stream().map(Entry::name).toList() + ")");
    }
}
