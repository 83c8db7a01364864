package io.livemig.engine.stream;

import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateDescription;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Device sections a destination accepts, by (idstr, instance id), each with its description and a
 * consumer that receives the loaded state. {@code timer} and {@code globalstate} are built in (see
 * {@link MigrationStreams#loadAll}) unless registered here. Sections not registered fail the load with an
 * error naming the idstr, as in QEMU.
 */
public final class DeviceRegistry {
    /** One registered handler. */
    public record Handler(String idstr, int instanceId, VmStateDescription description, Consumer<VmState> onLoad) {}

    private final Map<String, Handler> handlers = new LinkedHashMap<>();

    public static DeviceRegistry empty() {
        return new DeviceRegistry();
    }

    public DeviceRegistry register(String idstr, int instanceId, VmStateDescription description, Consumer<VmState> onLoad) {
        handlers.put(key(idstr, instanceId), new Handler(idstr, instanceId, description, onLoad));
        return this;
    }

    public Handler find(String idstr, int instanceId) {
        return handlers.get(key(idstr, instanceId));
    }

    public Iterable<Handler> handlers() {
        return handlers.values();
    }

    private static String key(String idstr, int instanceId) {
        return idstr + "\u0000" + instanceId;
    }
}
