package io.livemig.engine.vmstate;

import io.livemig.engine.stream.StreamWriter;

/**
 * Builds the JSON vmdesc trailer (spec 5.5) while the device sections are written, in stream order:
 * {@code {"page_size": 4096, "devices": [ {"name": idstr, "instance_id": n, "vmsd_name": ..., "version": v,
 * "fields": [...], ["subsections": [...]]}, ... ]}}. Usable by any machine for its own sections.
 */
public final class VmDescWriter {
    private final JsonOut json = new JsonOut();
    private boolean finished;

    public VmDescWriter(int pageSize) {
        json.startObject(null);
        json.num("page_size", pageSize);
        json.startArray("devices");
    }

    /** Writes the body of a vmstate section and describes it. */
    public void saveDevice(StreamWriter w, String idstr, int instanceId, VmStateDescription d, VmState state) {
        json.startObject(null);
        json.str("name", idstr);
        json.num("instance_id", instanceId);
        VmStateCodec.save(w, d, state, json);
        json.endObject();
    }

    /** Describes an old-style (opaque) section of {@code size} bytes. */
    public void describeOpaque(String idstr, int instanceId, long size) {
        json.startObject(null).str("name", idstr).num("instance_id", instanceId).num("size", size)
                .startArray("fields").startObject(null).str("name", "data").num("size", size).str("type", "buffer")
                .endObject().endArray().endObject();
    }

    /** The finished JSON text. */
    public String finish() {
        if (!finished) {
            json.endArray();
            json.endObject();
            finished = true;
        }
        return json.toString();
    }
}
