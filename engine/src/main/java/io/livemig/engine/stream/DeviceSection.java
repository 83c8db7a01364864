package io.livemig.engine.stream;

import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateDescription;

import java.util.function.Supplier;

/**
 * A non-iterative device section to save as a FULL section: idstr, instance, the section id to use in
 * the stream, its description, and a supplier of its state (called once, while the guest is stopped).
 */
public record DeviceSection(String idstr, int instanceId, int sectionId, VmStateDescription description,
                            Supplier<VmState> state) {
}
