package io.livemig.engine.stream;

import io.livemig.engine.ram.RamSaveOptions;
import io.livemig.engine.vmstate.GlobalStateSection;

import java.util.Optional;
import java.util.UUID;

/**
 * What the source writes besides RAM. Defaults match {@code qemu-system-x86_64 -M none -nodefaults -S}.
 *
 * @param machineName     configuration machine name ("none" for {@code --machine none})
 * @param uuid            the source's uuid; sent in {@code configuration/uuid} only with {@code validateUuid}
 * @param validateUuid    capability {@code validate-uuid}
 * @param ram             RAM saver options (xbzrle, compress)
 * @param runState        globalstate run state ("running", "paused", "prelaunch", ...)
 * @param cpuTicksOffset  timer section values
 * @param cpuClockOffset  timer section values
 * @param sendVmdesc      write the JSON trailer after EOF
 */
public record SaveOptions(String machineName, Optional<UUID> uuid, boolean validateUuid, RamSaveOptions ram,
                          String runState, long cpuTicksOffset, long cpuClockOffset, boolean sendVmdesc) {
    public SaveOptions {
        if (machineName.length() > ConfigurationSection.MAX_NAME_BYTES) throw new IllegalArgumentException("machineName too long");
        if (!GlobalStateSection.RUN_STATES.contains(runState)) {
            throw new IllegalArgumentException("runState=" + runState + ", expected one of " + GlobalStateSection.RUN_STATES);
        }
        if (validateUuid && uuid.isEmpty()) throw new IllegalArgumentException("validateUuid needs a uuid");
    }

    public static SaveOptions defaults() {
        return new SaveOptions("none", Optional.empty(), false, RamSaveOptions.defaults(), "prelaunch", 0, 0, true);
    }

    public SaveOptions withRunState(String s) {
        return new SaveOptions(machineName, uuid, validateUuid, ram, s, cpuTicksOffset, cpuClockOffset, sendVmdesc);
    }

    public SaveOptions withRam(RamSaveOptions r) {
        return new SaveOptions(machineName, uuid, validateUuid, r, runState, cpuTicksOffset, cpuClockOffset, sendVmdesc);
    }

    public SaveOptions withUuid(UUID u, boolean validate) {
        return new SaveOptions(machineName, Optional.of(u), validate, ram, runState, cpuTicksOffset, cpuClockOffset, sendVmdesc);
    }

    public SaveOptions withMachine(String name) {
        return new SaveOptions(name, uuid, validateUuid, ram, runState, cpuTicksOffset, cpuClockOffset, sendVmdesc);
    }
}
