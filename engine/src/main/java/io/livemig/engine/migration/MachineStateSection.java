package io.livemig.engine.migration;

import io.livemig.engine.stream.DeviceRegistry;
import io.livemig.engine.stream.DeviceSection;
import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateDescription;
import io.livemig.engine.vmstate.VmStateField;
import io.livemig.kvm.MachineState;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The vCPU and device state of a livemig {@code kvm} or {@code java} machine as one vmstate section, so
 * the stream stays self-describing (the vmdesc trailer names every field; {@code livemig analyze} shows
 * them):
 *
 * <pre>
 * "livemig-machine" instance 0, version 1
 *   uint32  accel_len ; buffer accelerator[accel_len]        "kvm" | "java"
 *   uint32  entry_count
 *   struct  entries[entry_count] { uint32 name_len; buffer name[name_len];
 *                                  uint32 data_len; buffer data[data_len] }   in restore order
 * </pre>
 * QEMU has no such section and rejects it by name, as it should: a livemig kvm/java stream carries state
 * only livemig can restore.
 */
public final class MachineStateSection {
    public static final String IDSTR = "livemig-machine";
    /** Section id in livemig streams (QEMU's -M none uses 0 timer, 2 ram, 4 globalstate). */
    public static final int SECTION_ID = 5;
    private static final int MAX_NAME = 255;
    private static final int MAX_DATA = 1 << 20;
    private static final int MAX_ENTRIES = 4096;

    private static final VmStateDescription ENTRY = VmStateDescription.builder(IDSTR + "/entry")
            .uint32("name_len").vbuffer("name", "name_len", MAX_NAME)
            .uint32("data_len").vbuffer("data", "data_len", MAX_DATA)
            .build();

    public static final VmStateDescription DESCRIPTION = VmStateDescription.builder(IDSTR)
            .version(1).minimumVersion(1)
            .uint32("accel_len").vbuffer("accelerator", "accel_len", 16)
            .uint32("entry_count")
            .varray("entries", new VmStateField.StructField("entry", ENTRY, 0), "entry_count", MAX_ENTRIES)
            .build();

    private MachineStateSection() {
    }

    /** The section to send; {@code state} is called once, with the vCPUs stopped. */
    public static DeviceSection deviceSection(Supplier<MachineState> state) {
        return new DeviceSection(IDSTR, 0, SECTION_ID, DESCRIPTION, () -> encode(state.get()));
    }

    /** Registers the loader: {@code onLoad} receives the decoded state when the section arrives. */
    public static void register(DeviceRegistry registry, Consumer<MachineState> onLoad) {
        registry.register(IDSTR, 0, DESCRIPTION, vm -> onLoad.accept(decode(vm)));
    }

    static VmState encode(MachineState s) {
        byte[] accel = s.accelerator().getBytes(StandardCharsets.US_ASCII);
        List<Object> entries = new ArrayList<>();
        for (MachineState.Entry e : s.entries()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            entries.add(new VmState().putLong("name_len", name.length).put("name", name)
                    .putLong("data_len", e.data().length).put("data", e.data()));
        }
        return new VmState().putLong("accel_len", accel.length).put("accelerator", accel)
                .putLong("entry_count", entries.size()).put("entries", entries);
    }

    static MachineState decode(VmState vm) {
        String accel = new String(vm.getBytes("accelerator"), StandardCharsets.US_ASCII);
        List<MachineState.Entry> entries = new ArrayList<>();
        for (Object o : vm.getList("entries")) {
            VmState e = (VmState) o;
            entries.add(new MachineState.Entry(new String(e.getBytes("name"), StandardCharsets.UTF_8), e.getBytes("data")));
        }
        return new MachineState(accel, entries);
    }
}
