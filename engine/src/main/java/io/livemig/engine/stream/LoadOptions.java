package io.livemig.engine.stream;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The destination's side of what both ends must agree on.
 *
 * @param machineName      local machine name; the received one must be a prefix of it (QEMU's rule)
 * @param uuid             local uuid; a received {@code configuration/uuid} must equal it when both exist
 * @param validatedCaps    enabled validated capabilities (7.2: only {@code x-ignore-shared}, unsupported here)
 * @param compress         capability {@code compress} (else COMPRESS_PAGE is refused)
 * @param freshRam         the destination RAM is all zero and nothing has written it since it was mapped:
 *                         a ZERO record (fill 0) for a page this load has not written needs no work at all
 *                         (no fault, no read, no memset), which is most of a fresh guest's memory
 */
public record LoadOptions(String machineName, Optional<UUID> uuid, List<String> validatedCaps, boolean compress,
                          boolean freshRam) {
    public LoadOptions {
        validatedCaps = List.copyOf(validatedCaps);
    }

    public static LoadOptions defaults() {
        return new LoadOptions("none", Optional.empty(), List.of(), false, false);
    }

    public LoadOptions withCompress(boolean on) {
        return new LoadOptions(machineName, uuid, validatedCaps, on, freshRam);
    }

    public LoadOptions withUuid(UUID u) {
        return new LoadOptions(machineName, Optional.of(u), validatedCaps, compress, freshRam);
    }

    public LoadOptions withMachineName(String name) {
        return new LoadOptions(name, uuid, validatedCaps, compress, freshRam);
    }

    public LoadOptions withFreshRam(boolean fresh) {
        return new LoadOptions(machineName, uuid, validatedCaps, compress, fresh);
    }
}
