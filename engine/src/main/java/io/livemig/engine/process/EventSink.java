package io.livemig.engine.process;

import java.util.Map;

/** Where a VM's QMP events go (the QMP server, or nowhere). Must not block; any thread. */
@FunctionalInterface
public interface EventSink {
    EventSink NONE = (name, data) -> {
    };

    /** @param data the event's {@code "data"}, or null */
    void emit(String name, Map<String, Object> data);
}
