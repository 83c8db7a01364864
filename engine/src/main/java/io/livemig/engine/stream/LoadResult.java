package io.livemig.engine.stream;

import io.livemig.engine.ram.RamStats;
import io.livemig.engine.vmstate.VmState;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What a completed load found.
 *
 * @param machineName the configuration's machine name
 * @param uuid        from {@code configuration/uuid}, if sent
 * @param runState    from globalstate (the run state the destination adopts: "running" resumes the guest);
 *                    empty when the stream had no globalstate (QEMU then starts the guest only with autostart)
 * @param devices     loaded vmstate sections by "idstr/instance" (timer and globalstate included)
 * @param vmdescJson  the JSON trailer, if present
 * @param warnings    tolerated oddities (e.g. missing vmdesc)
 */
public record LoadResult(String machineName, Optional<UUID> uuid, Optional<String> runState, RamStats ram,
                         Map<String, VmState> devices, Optional<String> vmdescJson, List<String> warnings) {
}
