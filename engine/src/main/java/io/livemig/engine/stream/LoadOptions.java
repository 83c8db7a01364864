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
 */
public record LoadOptions(String machineName, Optional<UUID> uuid, List<String> validatedCaps, boolean compress) {
    public LoadOptions {
        validatedCaps = List.copyOf(validatedCaps);
    }

    public static LoadOptions defaults() {
        return new LoadOptions("none", Optional.empty(), List.of(), false);
    }

    public LoadOptions withCompress(boolean on) {
        return new LoadOptions(machineName, uuid, validatedCaps, on);
    }

    public LoadOptions withUuid(UUID u) {
        return new LoadOptions(machineName, Optional.of(u), validatedCaps, compress);
    }
}
